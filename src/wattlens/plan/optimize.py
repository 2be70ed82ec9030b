"""Routing optimiser (split point and gamma for the lowest energy per output token, within the
SLO) and a comparison table across GPU generations and topologies, with gains as ratios."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattlens.core.errors import InputError
from wattlens.plan.build import Variant
from wattlens.plan.profiles import DecodeProfile
from wattlens.plan.traces import Cdf, knots_between

GAMMAS = (
    1.0,
    1.25,
    1.5,
    1.75,
    2.0,
)  # capped at the paper's gamma* = 2: compression is free in the model
MIN_SPLIT_TOKENS = 512


def optimise_split(
    prof: DecodeProfile,
    cdf: Cdf,
    rate: float,
    topology: str,
    split_tokens: int | None,
    gamma: float | None,
    long_window: int,
    ctx: dict[str, Any],
) -> tuple[int, float, str]:
    """(split, gamma, note): the candidate with the highest fleet tok/W that meets the SLO.

    Splits are the trace's knots from 512 to half the long window; gammas 1-4 (FleetOpt) or 1
    (Pool). Every candidate is sized for the SLO, so all are feasible; ties keep the first.
    """
    from wattlens.plan.fleet import _pools, _total

    splits = (
        [split_tokens] if split_tokens else knots_between(cdf, MIN_SPLIT_TOKENS, long_window / 2)
    )
    gammas = [gamma] if gamma else (GAMMAS if topology == "fleetopt" else (1.0,))
    best: tuple[float, int, float] | None = None
    tried = 0
    for b in splits:
        for g in gammas:
            if b * g > long_window or (prof.max_concurrency(b) < 1):
                continue
            try:
                rows = _pools(prof, cdf, rate, "fleetopt", b, g, long_window, ctx)
            except InputError:
                continue
            tried += 1
            tpw = _total(rows)["tokens_per_watt"]
            if best is None or tpw > best[0] * (1 + 1e-12):
                best = (tpw, b, g)
    if best is None:
        raise InputError(
            f"--topology {topology}: no split point in {splits[:1]}..{splits[-1:]} fits; "
            "give --split explicitly or use --topology homo"
        )
    _, b, g = best
    return (
        b,
        g,
        f"optimiser: split {b} tokens, gamma {g:g} gave the best tok/W of {tried} candidates",
    )


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
    topologies: Sequence[str] = ("homo", "pool", "fleetopt"),
    split_tokens: int | None = None,
    gamma: float | None = None,
    slo_ttft_ms: float = 500.0,
    max_util: float = 0.85,
    profile: str = "computed",
    convention: str = "physical",
    variant: Variant = "consistent",
    tp: int | None = None,
    dtype: str | None = None,
) -> Comparison:
    """Size every (GPU, topology); gains are tok/W ratios to the first GPU's first topology.

    `gain_vs_baseline` is the total gain, `topology_gain` the ratio to the same GPU's first
    topology (the paper's Delta_topo) and `generation_gain` to the first GPU with the same
    topology (Delta_gen).
    """
    from wattlens.plan.fleet import plan_fleet

    if not gpus or not topologies:
        raise InputError("compare: give at least one --gpu and one --topology")
    results = {}
    notes: list[str] = []
    for g in gpus:
        for t in topologies:
            r = plan_fleet(
                model, g, rate_rps=rate_rps, trace=trace, topology=t,  # type: ignore[arg-type]
                split_tokens=split_tokens, gamma=gamma, slo_ttft_ms=slo_ttft_ms,
                max_util=max_util, profile=profile, convention=convention,  # type: ignore[arg-type]
                variant=variant, tp=tp, dtype=dtype,
            )  # fmt: skip
            results[(g, t)] = r
            notes.extend(n for n in r.notes if n not in notes)
    g0, t0 = gpus[0], topologies[0]
    base = results[(g0, t0)].total["tokens_per_watt"]
    rows = []
    for (g, t), r in results.items():
        tpw = r.total["tokens_per_watt"]
        rows.append(
            {
                "gpu": r.gpu,
                "topology": t,
                "split_tokens": r.split_tokens,
                "gamma": r.gamma,
                "instances": r.total["instances"],
                "gpus": r.total["gpus"],
                "power_kw": r.total["power_kw"],
                "tokens_per_watt": tpw,
                "p99_ttft_ms": r.total["p99_ttft_ms"],
                "gain_vs_baseline": tpw / base if base > 0 else None,
                "topology_gain": tpw / results[(g, t0)].total["tokens_per_watt"],
                "generation_gain": tpw / results[(g0, t)].total["tokens_per_watt"],
                "profile": r.profile,
            }
        )
    return Comparison(baseline=f"{results[(g0, t0)].gpu} {t0}", rows=rows, notes=notes)


__all__ = ["GAMMAS", "Comparison", "compare_fleets", "optimise_split"]
