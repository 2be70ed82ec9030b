"""`plan fleet` optimisation time for one workload (goal <= 100 ms): Llama-3.1-70B on H100
(paper profile), Azure trace, 1,000 req/s, FleetOpt with split and gamma searched. Next to it,
a plain-Python loop doing the same search (same candidates, profile and sizing rule; Python's
`random` sampler and a Python Erlang-C sum)."""

from __future__ import annotations

import math
import random
import statistics
import time

from wattlens.plan import paper_profile, plan_fleet
from wattlens.plan.optimize import GAMMAS, MIN_SPLIT_TOKENS
from wattlens.plan.profiles import DecodeProfile
from wattlens.plan.traces import Cdf, knots_between, load_trace, split

RATE, SLO_S, MAX_UTIL, LONG = 1000.0, 0.5, 0.85, 65536


def _erlang_c(c: int, a: float) -> float:
    if a >= c:
        return 1.0
    log_terms = [k * math.log(a) - math.lgamma(k + 1) for k in range(c)]
    log_last = c * math.log(a) - math.lgamma(c + 1) - math.log(1 - a / c)
    peak = max(max(log_terms), log_last)
    total = sum(math.exp(t - peak) for t in log_terms) + math.exp(log_last - peak)
    return math.exp(log_last - peak) / total


def _pool(p: DecodeProfile, cdf: Cdf, window: int, rate: float) -> tuple[float, float]:
    """(power W in paper convention, output tok/s) of one pool, all in plain Python."""
    if rate <= 0:
        return 0.0, 0.0
    rng = random.Random(42)
    n_slots = min(
        int(p.kv_budget // (math.ceil(window / p.block_tokens) * p.block_tokens)),
        p.max_slots_at_calib * p.calib_context_tokens // window,
    )
    knots, fr = cdf.knots.tolist(), cdf.fractions.tolist()
    s_all, pre_all, outs = [], [], []
    for _ in range(3000):
        u, prev = rng.random(), cdf.lo
        for thresh, frac in zip(knots, fr, strict=True):
            if u <= frac:
                lo, hi = max(1, int(prev) + 1), min(window, int(thresh))
                length = rng.randint(lo, hi) if lo <= hi else window
                break
            prev = thresh
        l_in = max(1, int(0.8 * length))
        l_out = max(1, length - l_in)
        kv = l_in + l_out / 2
        tau = p.weight_stream_s + n_slots * p.scan_s_per_token * kv
        s_all.append((math.ceil(l_in / p.chunk_tokens) + l_out) * tau)
        pre_all.append(
            math.ceil(l_in / p.chunk_tokens) * (p.weight_stream_s + p.scan_s_per_token * l_in / 2)
        )
        outs.append(l_out)
    e1 = sum(s_all) / len(s_all)
    cv2 = max(0.01, sum(s * s for s in s_all) / len(s_all) / (e1 * e1) - 1)
    mu, pre = n_slots / e1, sum(pre_all) / len(pre_all)
    n = max(1, math.ceil(rate / (MAX_UTIL * mu)))
    while True:
        c, mu_slot = n * n_slots, mu / n_slots
        wait = 0.0
        if rate < c * mu_slot:
            ec = _erlang_c(c, rate / mu_slot)
            wait = (
                0.0 if ec <= 0.01 else math.log(ec / 0.01) / (2 * (c * mu_slot - rate) / (1 + cv2))
            )
        else:
            wait = math.inf
        if wait + pre <= SLO_S:
            break
        n += 1
    n_act = max(1.0, rate / (n * mu) * n_slots)
    pw = p.power
    watts = pw.p_idle_watts + (pw.p_nominal_watts - pw.p_idle_watts) / (
        1 + math.exp(-pw.k * (math.log2(n_act) - pw.x0))
    )
    return n * watts, rate * sum(outs) / len(outs)


def _python_search(p: DecodeProfile, cdf: Cdf) -> tuple[int, float, float]:
    best = (0.0, 0, 0.0)
    for b in knots_between(cdf, MIN_SPLIT_TOKENS, LONG / 2):
        for g in GAMMAS:
            if b * g > LONG:
                continue
            short, long_, alpha = split(cdf, int(b * g))
            pw_s, tps_s = _pool(p, short, b, alpha * RATE)
            pw_l, tps_l = _pool(p, long_, LONG, (1 - alpha) * RATE)
            tpw = (tps_s + tps_l) / (pw_s + pw_l)
            if tpw > best[0] * (1 + 1e-12):
                best = (tpw, b, g)
    return best[1], best[2], best[0]


def main() -> None:
    """Print the optimisation time (median of 5) and the plain-Python loop's, with the ratio."""
    kw = dict(rate_rps=RATE, trace="azure", topology="fleetopt", profile="paper",
              convention="paper")  # fmt: skip
    plan_fleet("llama-3.1-70b", "H100-SXM", **kw)  # warm-up (imports, caches)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        r = plan_fleet("llama-3.1-70b", "H100-SXM", **kw)
        times.append(time.perf_counter() - t0)
    fast = statistics.median(times)
    p, cdf = paper_profile("llama-3.1-70b", "H100-SXM"), load_trace("azure")
    t0 = time.perf_counter()
    b, g, tpw = _python_search(p, cdf)
    slow = time.perf_counter() - t0
    print("workload: llama-3.1-70b on H100-SXM (paper profile), azure, 1,000 req/s, FleetOpt")
    tot = r.total
    print(
        f"optimiser: split {r.split_tokens}, gamma {r.gamma:g}, fleet {tot['tokens_per_watt']:.2f} "
        f"tok/W (paper convention), {tot['instances']} instances"
    )
    print(f"optimisation time: {fast * 1e3:.1f} ms (median of 5; goal <= 100 ms)")
    print(f"plain-Python loop: {slow * 1e3:.0f} ms (split {b}, gamma {g:g}, {tpw:.2f} tok/W)")
    print(f"ratio plain Python / wattlens: {slow / fast:.1f}x")


if __name__ == "__main__":
    main()
