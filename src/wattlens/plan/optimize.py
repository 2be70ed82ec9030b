"""Routing optimiser: the split point and gamma with the lowest energy per output token, within
the SLO. `plan.fleet` uses it when a pool or FleetOpt topology is given without them."""

from __future__ import annotations

from wattlens.core.errors import InfeasibleError
from wattlens.plan.pools import Sizing, fleet_total, pools
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
    sizing: Sizing,
) -> tuple[int, float, str]:
    """(split, gamma, note): the candidate with the highest fleet tok/W that meets the SLO.

    Splits are the trace's knots from 512 to half the long window; gammas 1-2 (FleetOpt) or 1
    (Pool). Every candidate is sized for the SLO; those no fleet can serve are skipped; ties
    keep the first.
    """
    splits = (
        [split_tokens] if split_tokens else knots_between(cdf, MIN_SPLIT_TOKENS, long_window / 2)
    )
    gammas = [gamma] if gamma else (GAMMAS if topology == "fleetopt" else (1.0,))
    best: tuple[float, int, float] | None = None
    tried = 0
    reasons: list[InfeasibleError] = []
    for b in splits:
        for g in gammas:
            if b * g > long_window or (prof.max_concurrency(b) < 1):
                continue
            try:
                rows = pools(prof, cdf, rate, "fleetopt", b, g, long_window, sizing)
            except InfeasibleError as e:
                reasons.append(e)
                continue
            tried += 1
            tpw = fleet_total(rows)["tokens_per_watt"]
            if best is None or tpw > best[0] * (1 + 1e-12):
                best = (tpw, b, g)
    if best is None:
        fields = {e.field for e in reasons}
        if len(fields) == 1 and None not in fields:  # one cause for all (e.g. the rate): say it
            raise reasons[0]
        raise InfeasibleError(
            f"topology {topology!r}: no split point in {splits[:1]}..{splits[-1:]} fits; "
            "give a split explicitly or use the homo topology",
            field="topology",
        )
    _, b, g = best
    return (
        b,
        g,
        f"optimiser: split {b} tokens, gamma {g:g} gave the best tok/W of {tried} candidates",
    )


__all__ = ["GAMMAS", "MIN_SPLIT_TOKENS", "optimise_split"]
