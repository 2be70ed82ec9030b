"""M/G/c sizing of one pool of instances, and of the pools a routing topology splits a trace into.

`plan.fleet` (one topology) and `plan.optimize` (the split/gamma search) both size pools here.
Method (Chen et al. 2026, arXiv 2603.17280, sec. 5; fleet_sim optimizer/analytical.py):
3,000 requests sampled from the pool's CDF (seed 42), l_in = int(0.8 len), service time
S = prefill + l_out x tau(n_slots, KV); mu = n_slots / E[S], cv^2 = Var S / E[S]^2 (>= 0.01);
every KV slot is a server of an M/G/c queue (c = N x n_slots). Kimura's P99 wait
t99 = ln(C/0.01) / (2 (c mu_slot - lambda) / (1 + cv^2)) (0 when C <= 0.01), P99 TTFT = t99 +
mean prefill; N = max(smallest N meeting the SLO, ceil(lambda / (max_util x mu))). Power per
instance at n_active = rho x n_slots; fleet tok/W = sum lambda_i L_out,i / sum N_i P_i.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaln

from wattlens.core.errors import InfeasibleError
from wattlens.plan.profiles import DecodeProfile
from wattlens.plan.traces import (
    Cdf,
    mean_output_published,
    sample_lengths,
    sample_lengths_published,
    split,
    split_lengths,
)

SAMPLES = 3000
SEED = 42
_MAX_INSTANCES = 1_000_000


@dataclass(frozen=True, slots=True)
class Sizing:
    """What every pool of one plan shares: SLO, utilisation cap, tok/W convention, the sampler
    (`uniforms`, or fleet_sim's own when `published`) and a cache of sized pool rows."""

    slo_s: float
    max_util: float
    convention: str
    published: bool
    uniforms: tuple[NDArray[np.float64], NDArray[np.float64]]
    cache: dict[tuple[Any, ...], dict[str, Any]] = field(default_factory=dict)


def erlang_c(servers: int, load: float) -> float:
    """Erlang-C probability of waiting, P(W > 0), for `servers` and offered load a = lambda/mu.

    Evaluated in log space; terms more than 12 standard deviations below the load (relative
    size < e^-72) are skipped, which keeps large pools cheap.
    """
    if servers <= 0 or load <= 0:
        return 0.0
    if load >= servers:
        return 1.0
    start = max(0, int(load - 12.0 * math.sqrt(load) - 10.0))
    k = np.arange(start, servers, dtype=np.float64)
    log_terms = k * math.log(load) - gammaln(k + 1.0)
    log_last = servers * math.log(load) - math.lgamma(servers + 1.0) - math.log1p(-load / servers)
    peak = max(float(log_terms.max()), log_last)
    total = float(np.exp(log_terms - peak).sum()) + math.exp(log_last - peak)
    return math.exp(log_last - peak) / total


def kimura_p99_wait_s(servers: int, rate: float, mu: float, cv2: float) -> float:
    """Kimura (1994) M/G/c P99 queueing delay in seconds (inf when unstable)."""
    if servers <= 0 or rate <= 0 or mu <= 0 or rate >= servers * mu:
        return 0.0 if rate <= 0 else math.inf
    c_wait = erlang_c(servers, rate / mu)
    if c_wait <= 0.01:
        return 0.0
    return math.log(c_wait / 0.01) / (2.0 * (servers * mu - rate) / (1.0 + cv2))


@dataclass(frozen=True, slots=True)
class Service:
    """Service of one instance serving requests from one CDF in one window."""

    n_slots: int
    mu_rps: float  # per instance
    cv2: float
    mean_prefill_s: float
    mean_output_tokens: float
    mean_kv_tokens: float


def service(prof: DecodeProfile, cdf: Cdf, window: int, sizing: Sizing) -> Service:
    """Slots, service rate and its cv^2, mean prefill, output and KV tokens of one instance."""
    n_slots = int(prof.max_concurrency(window))
    if n_slots < 1:
        raise InfeasibleError(
            f"context window {window}: not one sequence fits in the KV budget of {prof.name}; "
            "use a shorter split or window, fp8, or a larger tp"
        )
    published = sizing.published
    if published:
        lengths = sample_lengths_published(cdf, window, SAMPLES)
    else:
        lengths = sample_lengths(cdf, window, *sizing.uniforms)
    l_in, l_out = split_lengths(lengths)
    kv = (l_in + l_out) if published else (l_in + l_out / 2.0)
    s = prof.prefill_time_s(l_in, n_slots, kv) + l_out * prof.step_time_s(n_slots, kv)
    e1 = float(s.mean())
    cv2 = max(0.01, float((s * s).mean()) / (e1 * e1) - 1.0)
    if published:  # fleet_sim: ceil(l_in / chunk) x tau(1) at the calibration length
        pre = np.ceil(l_in / prof.chunk_tokens) * prof.step_time_s(1, prof.calib_context_tokens)
        out_tokens = float(mean_output_published(cdf))
    else:  # the request prefilled alone, its prompt as KV
        pre = prof.prefill_time_s(l_in, 1, l_in / 2.0)
        out_tokens = float(l_out.mean())
    return Service(n_slots, n_slots / e1, cv2, float(pre.mean()), out_tokens, float(kv.mean()))


def size_instances(
    rate: float, svc: Service, slo_s: float, max_util: float, published: bool = False
) -> tuple[int, float]:
    """(instances, P99 TTFT s): the fewest meeting the SLO and the utilisation cap."""
    if rate <= 0:
        return 0, 0.0
    if svc.mean_prefill_s >= slo_s:
        raise InfeasibleError(
            f"slo_ttft_ms {slo_s * 1e3:g}: the mean prefill alone takes "
            f"{svc.mean_prefill_s * 1e3:.0f} ms, so no fleet size meets it; raise the SLO",
            field="slo_ttft_ms",
        )
    mu_slot = svc.mu_rps / svc.n_slots

    def p99(n: int) -> float:
        return kimura_p99_wait_s(n * svc.n_slots, rate, mu_slot, svc.cv2) + svc.mean_prefill_s

    n = max(1, math.ceil(rate / (max_util * svc.mu_rps)))
    if n > _MAX_INSTANCES:  # before any per-instance work: 1e12 req/s must not allocate TiBs
        raise InfeasibleError(
            f"rate_rps {rate:,.0f} req/s (the share one pool serves) needs at least {n:,} "
            f"instances, more than the {_MAX_INSTANCES:,} this sizing handles; plan a smaller "
            "share of the traffic",
            field="rate_rps",
        )
    if published:  # fleet_sim's SLO search starts at ceil(lambda/mu) + 1
        n = max(n, math.ceil(rate / svc.mu_rps) + 1)
    t = p99(n)
    if t <= slo_s:
        return n, t
    lo, hi = n, n * 2  # P99 falls with N: double, then bisect
    while (t := p99(hi)) > slo_s:
        lo, hi = hi, hi * 2
        if hi > _MAX_INSTANCES:
            raise InfeasibleError(
                f"slo_ttft_ms {slo_s * 1e3:g}: no fleet below {_MAX_INSTANCES} instances meets it",
                field="slo_ttft_ms",
            )
    while hi - lo > 1:
        mid = (lo + hi) // 2
        t_mid = p99(mid)
        lo, hi, t = (lo, mid, t_mid) if t_mid <= slo_s else (mid, hi, t)
    return hi, t


def pool_row(
    prof: DecodeProfile, label: str, cdf: Cdf, window: int, rate: float, sizing: Sizing
) -> dict[str, Any]:
    """One pool sized for the SLO: instances, GPUs, power, tok/W and P99 TTFT (cached)."""
    published = sizing.published
    key = (label, cdf.name, cdf.lo, window, round(rate, 12))
    cache = sizing.cache
    if key in cache:
        return cache[key]
    svc = service(prof, cdf, window, sizing)
    n, p99 = size_instances(rate, svc, sizing.slo_s, sizing.max_util, published)
    rho = rate / (n * svc.mu_rps) if n else 0.0
    n_active = rho * svc.n_slots
    n_power = max(1, int(n_active)) if published else max(n_active, 1.0)
    p_gpu = float(prof.power_watts(n_power, svc.mean_kv_tokens)) if n else 0.0
    gpus_per_power = prof.tp if sizing.convention == "physical" else 1
    power_w = n * p_gpu * gpus_per_power
    tps = rate * svc.mean_output_tokens
    row = {
        "pool": label,
        "window_tokens": window,
        "rate_rps": rate,
        "instances": n,
        "gpus": n * prof.tp,
        "n_slots": svc.n_slots,
        "utilisation": rho,
        "n_active": n_active,
        "power_watts_per_gpu": p_gpu,
        "power_kw": power_w / 1e3,
        "output_tokens_per_sec": tps,
        "tokens_per_watt": tps / power_w if power_w > 0 else 0.0,
        "p99_ttft_ms": p99 * 1e3,
        "mean_output_tokens": svc.mean_output_tokens,
        "mean_kv_tokens": svc.mean_kv_tokens,
        "service_rate_rps_per_instance": svc.mu_rps,
        "service_cv2": svc.cv2,
    }
    cache[key] = row
    return row


def pools(
    prof: DecodeProfile, cdf: Cdf, rate: float, topology: str, b: int | None, gamma: float | None,
    long_window: int, sizing: Sizing,
) -> list[dict[str, Any]]:  # fmt: skip
    """The pool rows of a topology: one (homo), or short <= cut and long > cut pools, where
    cut = b (pool) or b x gamma (fleetopt)."""
    if topology == "homo":
        return [pool_row(prof, "homo", cdf, long_window, rate, sizing)]
    assert b is not None
    cut = int(b * (gamma or 1.0)) if topology == "fleetopt" else b
    if cut > long_window:
        times = f" x gamma {gamma:g} = {cut}" if topology == "fleetopt" and gamma else ""
        raise InfeasibleError(
            f"split_tokens {b}{times} exceeds the long window {long_window}", field="split_tokens"
        )
    short, long_, alpha = split(cdf, cut, published=sizing.published)
    alpha = min(1.0, alpha)
    rows = [pool_row(prof, f"short<={cut}", short, b, alpha * rate, sizing)]
    if (1.0 - alpha) * rate > 0:
        rows.append(pool_row(prof, f"long>{cut}", long_, long_window, (1 - alpha) * rate, sizing))
    return rows


def fleet_total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over pool rows: instances, GPUs, kW, output tok/s, tok/W, worst P99 TTFT."""
    power_kw = sum(r["power_kw"] for r in rows)
    tps = sum(r["output_tokens_per_sec"] for r in rows)
    return {
        "instances": sum(r["instances"] for r in rows),
        "gpus": sum(r["gpus"] for r in rows),
        "power_kw": power_kw,
        "output_tokens_per_sec": tps,
        "tokens_per_watt": tps / (power_kw * 1e3) if power_kw > 0 else 0.0,
        "p99_ttft_ms": max(r["p99_ttft_ms"] for r in rows),
    }


__all__ = [
    "SAMPLES",
    "SEED",
    "Service",
    "Sizing",
    "erlang_c",
    "fleet_total",
    "kimura_p99_wait_s",
    "pool_row",
    "pools",
    "service",
    "size_instances",
]
