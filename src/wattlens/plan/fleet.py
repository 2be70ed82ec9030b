"""`plan fleet`: M/G/c sizing of context-routed pools (Homo, Pool, FleetOpt) and their tok/W.

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
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy.special import gammaln

from wattlens.catalog.specs import GpuSpec, ModelSpec
from wattlens.core.errors import InputError
from wattlens.plan.build import Variant, resolve
from wattlens.plan.profiles import DecodeProfile, PowerProfile
from wattlens.plan.tokw import CONVENTION_NOTES, Convention, ProfileName, build_profile
from wattlens.plan.traces import (
    Cdf,
    load_trace,
    mean_output_published,
    sample_lengths,
    sample_lengths_published,
    split,
    split_lengths,
)

Topology = Literal["homo", "pool", "fleetopt"]
SAMPLES = 3000
SEED = 42
LONG_WINDOW_TOKENS = 65536
_MAX_INSTANCES = 1_000_000


@dataclass(frozen=True, slots=True)
class FleetResult:
    """Per-pool and total sizing of one topology; `pools` and `total` are plain dicts."""

    model: str
    gpu: str
    tp: int
    trace: str
    rate_rps: float
    topology: str
    split_tokens: int | None
    gamma: float | None
    slo_ttft_ms: float
    max_util: float
    profile: str
    convention: str
    variant: str
    pools: list[dict[str, Any]] = field(default_factory=list)
    total: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


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
class _Service:
    n_slots: int
    mu_rps: float  # per instance
    cv2: float
    mean_prefill_s: float
    mean_output_tokens: float
    mean_kv_tokens: float


def _service(
    prof: DecodeProfile, cdf: Cdf, window: int, published: bool, uniforms: tuple
) -> _Service:
    n_slots = int(prof.max_concurrency(window))
    if n_slots < 1:
        raise InputError(
            f"context window {window}: not one sequence fits in the KV budget of {prof.name}; "
            "use a shorter --split/window, fp8, or a larger --tp"
        )
    if published:
        lengths = sample_lengths_published(cdf, window, SAMPLES)
    else:
        lengths = sample_lengths(cdf, window, *uniforms)
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
    return _Service(n_slots, n_slots / e1, cv2, float(pre.mean()), out_tokens, float(kv.mean()))


def size_instances(
    rate: float, svc: _Service, slo_s: float, max_util: float, published: bool = False
) -> tuple[int, float]:
    """(instances, P99 TTFT s): the fewest meeting the SLO and the utilisation cap."""
    if rate <= 0:
        return 0, 0.0
    if svc.mean_prefill_s >= slo_s:
        raise InputError(
            f"--slo-ttft-ms {slo_s * 1e3:.0f}: the mean prefill alone takes "
            f"{svc.mean_prefill_s * 1e3:.0f} ms, so no fleet size meets it; raise the SLO"
        )
    mu_slot = svc.mu_rps / svc.n_slots

    def p99(n: int) -> float:
        return kimura_p99_wait_s(n * svc.n_slots, rate, mu_slot, svc.cv2) + svc.mean_prefill_s

    n = max(1, math.ceil(rate / (max_util * svc.mu_rps)))
    if published:  # fleet_sim's SLO search starts at ceil(lambda/mu) + 1
        n = max(n, math.ceil(rate / svc.mu_rps) + 1)
    t = p99(n)
    if t <= slo_s:
        return n, t
    lo, hi = n, n * 2  # P99 falls with N: double, then bisect
    while (t := p99(hi)) > slo_s:
        lo, hi = hi, hi * 2
        if hi > _MAX_INSTANCES:
            raise InputError(f"--slo-ttft-ms: no fleet below {_MAX_INSTANCES} instances meets it")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        t_mid = p99(mid)
        lo, hi, t = (lo, mid, t_mid) if t_mid <= slo_s else (mid, hi, t)
    return hi, t


def _pool_row(
    prof: DecodeProfile, label: str, cdf: Cdf, window: int, rate: float, ctx: dict
) -> dict[str, Any]:
    published = ctx["published"]
    key = (label, cdf.name, cdf.lo, window, round(rate, 12))
    cache = ctx["cache"]
    if key in cache:
        return cache[key]
    svc = _service(prof, cdf, window, published, ctx["uniforms"])
    n, p99 = size_instances(rate, svc, ctx["slo_s"], ctx["max_util"], published)
    rho = rate / (n * svc.mu_rps) if n else 0.0
    n_active = rho * svc.n_slots
    n_power = max(1, int(n_active)) if published else max(n_active, 1.0)
    p_gpu = float(prof.power_watts(n_power, svc.mean_kv_tokens)) if n else 0.0
    gpus_per_power = prof.tp if ctx["convention"] == "physical" else 1
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
        "service_rate_rps_per_instance": svc.mu_rps,
        "service_cv2": svc.cv2,
    }
    cache[key] = row
    return row


def _pools(
    prof: DecodeProfile, cdf: Cdf, rate: float, topology: str, b: int | None, gamma: float | None,
    long_window: int, ctx: dict,
) -> list[dict[str, Any]]:  # fmt: skip
    published = ctx["published"]
    if topology == "homo":
        return [_pool_row(prof, "homo", cdf, long_window, rate, ctx)]
    assert b is not None
    cut = int(b * (gamma or 1.0)) if topology == "fleetopt" else b
    if cut > long_window:
        raise InputError(f"--split x --gamma = {cut} exceeds the long window {long_window}")
    short, long_, alpha = split(cdf, cut, published=published)
    alpha = min(1.0, alpha)
    rows = [_pool_row(prof, f"short<={cut}", short, b, alpha * rate, ctx)]
    if (1.0 - alpha) * rate > 0:
        rows.append(_pool_row(prof, f"long>{cut}", long_, long_window, (1 - alpha) * rate, ctx))
    return rows


def _total(rows: list[dict[str, Any]]) -> dict[str, Any]:
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


def _context(slo_ttft_ms: float, max_util: float, convention: str, variant: str) -> dict[str, Any]:
    if not 0 < max_util <= 1:
        raise InputError(f"--max-util {max_util}: expected a fraction in (0, 1]")
    if slo_ttft_ms <= 0:
        raise InputError(f"--slo-ttft-ms {slo_ttft_ms}: expected a positive number of ms")
    if convention not in CONVENTION_NOTES:
        raise InputError(f"--convention {convention!r}: expected 'physical' or 'paper'")
    rng = np.random.default_rng(SEED)
    return {
        "published": variant == "published",
        "slo_s": slo_ttft_ms / 1e3,
        "max_util": max_util,
        "convention": convention,
        "uniforms": (rng.random(SAMPLES), rng.random(SAMPLES)),
        "cache": {},
    }


def plan_fleet(
    model: str | ModelSpec,
    gpu: str | GpuSpec,
    *,
    rate_rps: float,
    trace: str | Path = "azure",
    topology: Topology = "fleetopt",
    split_tokens: int | None = None,
    gamma: float | None = None,
    slo_ttft_ms: float = 500.0,
    max_util: float = 0.85,
    profile: ProfileName = "computed",
    convention: Convention = "physical",
    variant: Variant = "consistent",
    tp: int | None = None,
    dtype: str | None = None,
    long_window_tokens: int = LONG_WINDOW_TOKENS,
    power_profile: PowerProfile | None = None,
) -> FleetResult:
    """Size one topology; for pool/fleetopt a missing split (and gamma) is optimised."""
    from wattlens.plan.optimize import optimise_split

    if rate_rps <= 0:
        raise InputError(f"--rate {rate_rps}: expected a positive request rate in req/s")
    if topology not in ("homo", "pool", "fleetopt"):
        raise InputError(f"--topology {topology!r}: expected homo, pool or fleetopt")
    m, g = resolve(model, gpu)
    prof, dtype, notes = build_profile(
        m, g, tp=tp, dtype=dtype, profile=profile, variant=variant, power_profile=power_profile
    )
    cdf = load_trace(trace)
    ctx = _context(slo_ttft_ms, max_util, convention, variant)
    if topology != "homo" and (split_tokens is None or (topology == "fleetopt" and gamma is None)):
        split_tokens, gamma, why = optimise_split(
            prof, cdf, rate_rps, topology, split_tokens, gamma, long_window_tokens, ctx
        )
        notes.append(why)
    if topology == "pool":
        gamma = 1.0
    if topology != "homo" and (split_tokens is None or split_tokens < 1):
        raise InputError(f"--split {split_tokens!r}: expected a positive token count")
    if gamma is not None and gamma < 1.0:
        raise InputError(f"--gamma {gamma}: expected >= 1 (requests up to gamma x split go short)")
    rows = _pools(prof, cdf, rate_rps, topology, split_tokens, gamma, long_window_tokens, ctx)
    notes.insert(0, CONVENTION_NOTES[convention].replace("instance tok/s", "fleet output tok/s"))
    notes.append(_assumptions(topology, variant))
    return FleetResult(
        model=m.id, gpu=g.id, tp=prof.tp, trace=cdf.name, rate_rps=rate_rps, topology=topology,
        split_tokens=None if topology == "homo" else split_tokens,
        gamma=gamma if topology == "fleetopt" else None, slo_ttft_ms=slo_ttft_ms,
        max_util=max_util, profile=prof.name, convention=convention, variant=variant,
        pools=[dict(r) for r in rows], total=_total(rows), notes=[n for n in notes if n],
    )  # fmt: skip


def _assumptions(topology: str, variant: str) -> str:
    text = (
        "Poisson arrivals, steady state; l_in = 80 %, l_out = 20 % of each request; only output "
        "tokens count and prefill energy is excluded (1/W paper, sec. 5)."
    )
    if topology == "fleetopt":
        text += (
            " FleetOpt compresses requests up to gamma x split into the short window at no cost."
        )
    if variant == "published":
        text += " Variant 'published' reproduces fleet_sim's sampler and L_out formula exactly."
    return text


__all__ = [
    "LONG_WINDOW_TOKENS",
    "FleetResult",
    "Topology",
    "erlang_c",
    "kimura_p99_wait_s",
    "plan_fleet",
    "size_instances",
]
