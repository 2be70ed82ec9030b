"""`plan fleet`: size context-routed pools (Homo, Pool, FleetOpt) for a workload, their tok/W,
and a comparison across GPU generations and topologies with gains as ratios.

The M/G/c sizing of each pool (Chen et al. 2026, arXiv 2603.17280, sec. 5) is in `plan.pools`;
the split/gamma search in `plan.optimize`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from wattlens.catalog.prices import gpu_price
from wattlens.catalog.specs import GpuSpec, ModelSpec
from wattlens.core.errors import InfeasibleError, InputError
from wattlens.core.validate import finite
from wattlens.plan.build import resolve
from wattlens.plan.calibrated import uncertainty_band
from wattlens.plan.optimize import optimise_split
from wattlens.plan.options import (
    TOPOLOGIES,
    Convention,
    ProfileName,
    Topology,
    Variant,
    parse_topology,
)
from wattlens.plan.pools import SAMPLES, SEED, Sizing, fleet_total, pools
from wattlens.plan.profiles import DecodeProfile, PowerProfile
from wattlens.plan.stepprofile import StepProfile
from wattlens.plan.tokw import CONVENTION_NOTES, build_profile
from wattlens.plan.traces import load_trace

LONG_WINDOW_TOKENS = 65536


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
    tp_reason: str = ""  # why this TP: given, the paper's, or the best of those that fit

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _sizing(slo_ttft_ms: float, max_util: float, convention: str, variant: str) -> Sizing:
    if not 0 < max_util <= 1:
        raise InputError(f"max_util {max_util}: expected a fraction in (0, 1]", field="max_util")
    if slo_ttft_ms <= 0:
        raise InputError(
            f"slo_ttft_ms {slo_ttft_ms}: expected a positive number of ms", field="slo_ttft_ms"
        )
    if convention not in CONVENTION_NOTES:
        raise InputError(
            f"convention {convention!r}: expected 'physical' or 'paper'", field="convention"
        )
    rng = np.random.default_rng(SEED)
    return Sizing(
        slo_s=slo_ttft_ms / 1e3,
        max_util=max_util,
        convention=convention,
        published=variant == "published",
        uniforms=(rng.random(SAMPLES), rng.random(SAMPLES)),
    )


TP_CHOICES = (1, 2, 4, 8)  # one node's GPUs


def plan_fleet(
    model: str | ModelSpec,
    gpu: str | GpuSpec,
    *,
    tp: int | None = None,
    profile: ProfileName = "calibrated",
    dtype: str | None = None,
    **kwargs: Any,
) -> FleetResult:
    """Size one topology (see `_plan_at` for the options). Without `tp`, every TP of 1, 2, 4, 8
    at which the weights fit is sized and the one serving the workload with the least energy per
    output token is kept (fewer GPUs on a tie); `tp_reason` says why, with the others' figures.
    The paper's profile is defined at TP 8."""
    if tp is not None or profile == "paper":
        r = _plan_at(model, gpu, tp=tp, profile=profile, dtype=dtype, **kwargs)
        why = f"TP {r.tp} as given" if tp is not None else f"TP {r.tp}: the paper's profile"
        return replace(r, tp_reason=why)
    smallest = build_profile(model, gpu, dtype=dtype, profile=profile)[0].tp  # first that fits
    tried: dict[int, FleetResult] = {}
    failed: dict[int, str] = {}
    for t in (c for c in TP_CHOICES if c >= smallest):
        try:
            tried[t] = _plan_at(model, gpu, tp=t, profile=profile, dtype=dtype, **kwargs)
        except (InputError, InfeasibleError) as e:
            if not tried and t == TP_CHOICES[-1]:
                raise
            failed[t] = str(e).split(";")[0]
    if not tried:  # pragma: no cover - the largest TP raised above
        raise InfeasibleError(f"no TP of {TP_CHOICES} can serve this workload")

    def energy(t: int) -> float:
        jpt = tried[t].total.get("joules_per_token")
        return math.inf if jpt is None else float(jpt)

    best = min(tried, key=lambda t: (energy(t), tried[t].total["gpus"], t))
    others = ", ".join(
        f"TP {t} {energy(t):.3g} J/token on {tried[t].total['gpus']:,} GPUs"
        for t in sorted(tried) if t != best
    )  # fmt: skip
    why = (
        f"TP {best}: the least energy per output token for this workload "
        f"({energy(best):.3g} J/token on {tried[best].total['gpus']:,} GPUs)"
        + (f"; {others}" if others else "")
        + (f"; TP below {smallest}: the weights do not fit" if smallest > 1 else "")
        + "".join(f"; TP {t}: {msg}" for t, msg in sorted(failed.items()))
    )
    r = tried[best]
    notes = [n for n in r.notes if not n.startswith("tp not given")]
    return replace(r, tp_reason=why, notes=notes)


def _plan_at(
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
    profile: ProfileName = "calibrated",
    convention: Convention = "physical",
    variant: Variant = "consistent",
    tp: int | None = None,
    dtype: str | None = None,
    long_window_tokens: int = LONG_WINDOW_TOKENS,
    power_profile: PowerProfile | None = None,
    calibration: StepProfile | None = None,
) -> FleetResult:
    """Size one topology; for pool/fleetopt a missing split (and gamma) is optimised."""
    finite(rate_rps, "rate_rps", lo=0.0, above=True, example="1000 (requests/s)")
    finite(slo_ttft_ms, "slo_ttft_ms", lo=0.0, above=True, example="500")
    finite(max_util, "max_util", lo=0.0, hi=1.0, above=True, example="0.85")
    if gamma is not None:
        finite(gamma, "gamma", lo=0.0, above=True, example="1.5")
    if split_tokens is not None:
        finite(split_tokens, "split_tokens", lo=1.0, example="4096 (tokens)")
    if topology not in TOPOLOGIES:
        raise InputError(
            f"topology {topology!r}: expected homo, pool or fleetopt", field="topology"
        )
    m, g = resolve(model, gpu)
    prof, dtype, notes = build_profile(
        m, g, tp=tp, dtype=dtype, profile=profile, variant=variant, power_profile=power_profile,
        calibration=calibration,
    )  # fmt: skip
    cdf = load_trace(trace)
    sizing = _sizing(slo_ttft_ms, max_util, convention, variant)
    if topology != "homo" and (split_tokens is None or (topology == "fleetopt" and gamma is None)):
        split_tokens, gamma, why = optimise_split(
            prof, cdf, rate_rps, topology, split_tokens, gamma, long_window_tokens, sizing
        )
        notes.append(why)
    if topology == "pool":
        gamma = 1.0
    if topology != "homo" and (split_tokens is None or split_tokens < 1):
        raise InputError(
            f"split_tokens {split_tokens!r}: expected a positive token count", field="split_tokens"
        )
    if gamma is not None and gamma < 1.0:
        raise InputError(
            f"gamma {gamma}: expected >= 1 (requests up to gamma x split go short)", field="gamma"
        )
    rows = pools(prof, cdf, rate_rps, topology, split_tokens, gamma, long_window_tokens, sizing)
    notes.insert(0, CONVENTION_NOTES[convention].replace("instance tok/s", "fleet output tok/s"))
    notes.append(_assumptions(topology, variant))
    return FleetResult(
        model=m.id, gpu=g.id, tp=prof.tp, trace=cdf.name, rate_rps=rate_rps, topology=topology,
        split_tokens=None if topology == "homo" else split_tokens,
        gamma=gamma if topology == "fleetopt" else None, slo_ttft_ms=slo_ttft_ms,
        max_util=max_util, profile=prof.name, convention=convention, variant=variant,
        pools=[dict(r) for r in rows], total=_with_cost(prof, g, rows),
        notes=[n for n in notes if n],
    )  # fmt: skip


def _with_cost(prof: DecodeProfile, gpu: GpuSpec, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Fleet totals plus energy, cost (catalog price table) and a J/token uncertainty band."""
    total = fleet_total(rows)
    gpus = float(total["gpus"])
    physical_kw = sum(r["instances"] * r["power_watts_per_gpu"] * prof.tp for r in rows) / 1e3
    tps = float(total["output_tokens_per_sec"])
    total["energy_kwh_per_hour"] = physical_kw
    total["joules_per_token"] = physical_kw * 1e3 / tps if tps > 0 else None
    total["gpu_hours_per_hour"] = gpus
    price = gpu_price(gpu.id)
    if price is not None:
        cost = gpus * price.usd_per_gpu_hour
        total["usd_per_hour"] = cost
        total["tokens_per_usd"] = tps * 3600.0 / cost if cost > 0 else None
        total["price_source"] = price.sources[0]
    else:
        total["usd_per_hour"] = total["tokens_per_usd"] = None
        total["price_source"] = f"no price for {gpu.id} in the catalog (catalog/prices.toml)"

    def joules(p: DecodeProfile) -> NDArray[np.float64]:
        watts = sum(
            r["instances"]
            * p.tp
            * float(p.power_watts(max(r["n_active"], 1.0), r["mean_kv_tokens"]))
            for r in rows
        )
        return np.asarray(watts / tps if tps > 0 else np.nan)

    band = uncertainty_band(prof, joules) if tps > 0 else None
    total["joules_per_token_p5"] = float(band[0]) if band is not None else None
    total["joules_per_token_p95"] = float(band[1]) if band is not None else None
    return total


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


@dataclass(frozen=True, slots=True)
class Comparison:
    """Rows (gpu, topology, instances, power_kw, tokens_per_watt, p99_ttft_ms, gains)."""

    baseline: str  # "<gpu> <topology>"
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {"baseline": self.baseline, "rows": self.rows, "notes": self.notes}


def compare_fleets(
    model: str,
    gpus: Sequence[str],
    *,
    rate_rps: float,
    trace: str | Path = "azure",
    topologies: Sequence[str] = TOPOLOGIES,
    split_tokens: int | None = None,
    gamma: float | None = None,
    slo_ttft_ms: float = 500.0,
    max_util: float = 0.85,
    profile: ProfileName = "calibrated",
    convention: Convention = "physical",
    variant: Variant = "consistent",
    tp: int | None = None,
    dtype: str | None = None,
    calibration: StepProfile | None = None,
) -> Comparison:
    """Size every (GPU, topology); gains are tok/W ratios to the first GPU's first topology.

    `gain_vs_baseline` is the total gain, `topology_gain` the ratio to the same GPU's first
    topology (the paper's Delta_topo) and `generation_gain` to the first GPU with the same
    topology (Delta_gen).
    """
    if not gpus:
        raise InputError("gpus []: expected at least one GPU to compare", field="gpus")
    if not topologies:
        raise InputError(
            "topologies []: expected at least one of homo, pool, fleetopt", field="topologies"
        )
    tops = [parse_topology(t) for t in topologies]
    results = {}
    notes: list[str] = []
    for g in gpus:
        for t in tops:
            r = plan_fleet(
                model, g, rate_rps=rate_rps, trace=trace, topology=t, split_tokens=split_tokens,
                gamma=gamma, slo_ttft_ms=slo_ttft_ms, max_util=max_util, profile=profile,
                convention=convention, variant=variant, tp=tp, dtype=dtype,
                calibration=calibration,
            )  # fmt: skip
            results[(g, t)] = r
            notes.extend(n for n in r.notes if n not in notes)
    g0, t0 = gpus[0], tops[0]
    base = results[(g0, t0)].total["tokens_per_watt"]
    rows = []
    for (g, t), r in results.items():
        tpw = r.total["tokens_per_watt"]
        rows.append(
            {
                "gpu": r.gpu,
                "topology": t,
                "tp": r.tp,
                "tp_reason": r.tp_reason,
                "split_tokens": r.split_tokens,
                "gamma": r.gamma,
                "instances": r.total["instances"],
                "gpus": r.total["gpus"],
                "power_kw": r.total["power_kw"],
                "tokens_per_watt": tpw,
                "p99_ttft_ms": r.total["p99_ttft_ms"],
                "joules_per_token": r.total["joules_per_token"],
                "usd_per_hour": r.total["usd_per_hour"],
                "tokens_per_usd": r.total["tokens_per_usd"],
                "gain_vs_baseline": tpw / base if base > 0 else None,
                "topology_gain": tpw / results[(g, t0)].total["tokens_per_watt"],
                "generation_gain": tpw / results[(g0, t)].total["tokens_per_watt"],
                "profile": r.profile,
            }
        )
    return Comparison(baseline=f"{results[(g0, t0)].gpu} {t0}", rows=rows, notes=notes)


__all__ = [
    "LONG_WINDOW_TOKENS",
    "Comparison",
    "FleetResult",
    "Topology",
    "compare_fleets",
    "plan_fleet",
]
