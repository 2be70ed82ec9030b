"""The one vocabulary of derived metrics: name, unit, formula on totals, cut-off rule.

Every output (CLI, API v1 and v2, dashboard, `/metrics` exporter, analysis, time series) turns
additive totals over a window into rates through `compute` (scalars) or `compute_arrays`
(numpy columns, one value per bucket). The formulas are homogeneous in time, so a caller that
holds rates (totals per second, e.g. fleet sums of per-deployment rates) passes `seconds=1`.

Cut-off rule: a per-token ratio (J/token, J/output-token, mg CO2/token) is reported only when
the window's total tokens/s exceeds `min_tokens_per_s` (config `thresholds.
min_tokens_per_sec_for_ratio`, default from the catalog). Below it the ratio is dominated by
idle power and not meaningful; it is None (NaN in arrays), never 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wattlens.core.units import GRAMS_PER_KG, JOULES_PER_KWH, MG_PER_GRAM, SECONDS_PER_HOUR

F64 = NDArray[np.float64]

# The totals a window is described by (NaN in arrays / None in `Totals`: not measured).
TOTAL_FIELDS: tuple[str, ...] = (
    "seconds",
    "energy_joules",
    "token_energy_joules",
    "prompt_tokens",
    "generation_tokens",
    "co2_grams",
    "token_co2_grams",
    "requests_finished",
    "itl_seconds_sum",
    "cached_prompt_tokens",
)


@dataclass(frozen=True, slots=True)
class Totals:
    """Additive sums over a window that covers `seconds` of measured time.

    `token_energy_joules` / `token_co2_grams` are the energy and CO2 of the part of the window
    whose token counts are known (the numerators of per-token ratios); they default to the
    whole-window values, which is right for one deployment with engine metrics.
    """

    seconds: float
    energy_joules: float | None = None
    prompt_tokens: float | None = None
    generation_tokens: float | None = None
    co2_grams: float | None = None
    requests_finished: float | None = None
    itl_seconds_sum: float | None = None
    token_energy_joules: float | None = None
    token_co2_grams: float | None = None
    cached_prompt_tokens: float | None = None  # the part of prompt_tokens the prefix cache served


def _div(num: F64, den: F64) -> F64:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _tokens(t: Mapping[str, F64]) -> F64:
    """prompt + generation; NaN only when both are unknown (one missing counts as 0)."""
    p, g = t["prompt_tokens"], t["generation_tokens"]
    both_nan = np.isnan(p) & np.isnan(g)
    return np.where(both_nan, np.nan, np.nan_to_num(p) + np.nan_to_num(g))


def _or(primary: F64, fallback: F64) -> F64:
    return np.where(np.isnan(primary), fallback, primary)


_TOKENS = ("prompt_tokens", "generation_tokens")


@dataclass(frozen=True, slots=True)
class Metric:
    """One derived metric: JSON name, unit, formula on totals, and whether the cut-off applies."""

    name: str
    unit: str
    formula: str
    per_token: bool
    inputs: tuple[str, ...]  # the totals the formula reads (besides `seconds`)
    fn: Callable[[Mapping[str, F64]], F64]
    legacy_name: str | None = None  # the old v1 API's field name, where it differs


METRICS: tuple[Metric, ...] = (
    Metric("power_watts", "W", "energy_joules / seconds", False,
           ("energy_joules",), lambda t: _div(t["energy_joules"], t["seconds"])),
    Metric("prompt_tokens_per_s", "tokens/s", "prompt_tokens / seconds", False,
           ("prompt_tokens",), lambda t: _div(t["prompt_tokens"], t["seconds"]),
           "prompt_tokens_per_sec"),
    Metric("generation_tokens_per_s", "tokens/s", "generation_tokens / seconds", False,
           ("generation_tokens",), lambda t: _div(t["generation_tokens"], t["seconds"]),
           "generation_tokens_per_sec"),
    Metric("tokens_per_s", "tokens/s", "(prompt_tokens + generation_tokens) / seconds", False,
           _TOKENS, lambda t: _div(_tokens(t), t["seconds"]), "tokens_per_sec"),
    Metric("requests_per_s", "requests/s", "requests_finished / seconds", False,
           ("requests_finished",), lambda t: _div(t["requests_finished"], t["seconds"])),
    Metric("energy_wh_per_request", "Wh/request",
           "energy_joules / requests_finished / 3600 (idle time included)", False,
           ("energy_joules", "requests_finished"),
           lambda t: _div(t["energy_joules"], t["requests_finished"]) / SECONDS_PER_HOUR),
    Metric("decode_tokens_per_s", "tokens/s",
           "generation_tokens / itl_seconds_sum (per request, while decoding)", False,
           ("generation_tokens", "itl_seconds_sum"),
           lambda t: _div(t["generation_tokens"], t["itl_seconds_sum"])),
    Metric("joules_per_token", "J/token",
           "token_energy_joules / (prompt_tokens + generation_tokens)", True,
           ("energy_joules", "token_energy_joules", *_TOKENS),
           lambda t: _div(_or(t["token_energy_joules"], t["energy_joules"]), _tokens(t))),
    Metric("joules_per_output_token", "J/token", "token_energy_joules / generation_tokens", True,
           ("energy_joules", "token_energy_joules", *_TOKENS),
           lambda t: _div(_or(t["token_energy_joules"], t["energy_joules"]),
                          t["generation_tokens"])),
    Metric("cached_prompt_tokens_per_s", "tokens/s",
           "cached_prompt_tokens / seconds (prefix-cache hits)", False,
           ("cached_prompt_tokens",), lambda t: _div(t["cached_prompt_tokens"], t["seconds"])),
    Metric("joules_per_computed_token", "J/token",
           "token_energy_joules / (prompt_tokens - cached_prompt_tokens + generation_tokens)",
           True, ("energy_joules", "token_energy_joules", "cached_prompt_tokens", *_TOKENS),
           lambda t: _div(_or(t["token_energy_joules"], t["energy_joules"]),
                          _tokens(t) - t["cached_prompt_tokens"])),
    Metric("co2_grams_per_hour", "g/h", "co2_grams / seconds x 3600 (PUE and grid included)",
           False, ("co2_grams",), lambda t: _div(t["co2_grams"], t["seconds"]) * SECONDS_PER_HOUR),
    Metric("co2_mg_per_token", "mg/token",
           "token_co2_grams x 1000 / (prompt_tokens + generation_tokens)", True,
           ("co2_grams", "token_co2_grams", *_TOKENS),
           lambda t: _div(_or(t["token_co2_grams"], t["co2_grams"]), _tokens(t)) * MG_PER_GRAM),
)  # fmt: skip

BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}
# What every window view reports: power, token rates, the per-token ratios and CO2 per hour
# (per-request figures are period figures: `report` shows them).
WINDOW_METRICS: tuple[str, ...] = tuple(
    m.name
    for m in METRICS
    if m.name not in ("requests_per_s", "energy_wh_per_request", "decode_tokens_per_s")
)
NAMES: tuple[str, ...] = tuple(BY_NAME)
LEGACY_NAMES: dict[str, str] = {m.name: m.legacy_name for m in METRICS if m.legacy_name}


def _metric(name: str) -> Metric:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; expected one of {list(NAMES)}") from None


def compute_arrays(
    totals: Mapping[str, ArrayLike],
    *,
    min_tokens_per_s: float,
    names: Sequence[str] = NAMES,
) -> dict[str, F64]:
    """Metrics per element of the total columns (missing columns count as unknown: NaN)."""
    cols = {k: np.asarray(totals[k], dtype=np.float64) for k in TOTAL_FIELDS if k in totals}
    shape = np.broadcast_shapes(*(v.shape for v in cols.values())) if cols else ()
    t = {k: cols.get(k, np.full(shape, np.nan)) for k in TOTAL_FIELDS}
    with np.errstate(invalid="ignore"):
        busy = _div(_tokens(t), t["seconds"]) > min_tokens_per_s
    out: dict[str, F64] = {}
    for name in names:
        m = _metric(name)
        value = np.asarray(m.fn(t), dtype=np.float64)
        out[name] = np.where(busy, value, np.nan) if m.per_token else value
    return out


def compute(
    totals: Totals, *, min_tokens_per_s: float, names: Sequence[str] = NAMES
) -> dict[str, float | None]:
    """Metrics over one window (None: not measured, or a ratio under the cut-off)."""
    return compute_many([totals], min_tokens_per_s=min_tokens_per_s, names=names)[0]


def compute_many(
    totals: Sequence[Totals], *, min_tokens_per_s: float, names: Sequence[str] = NAMES
) -> list[dict[str, float | None]]:
    """`compute` for many windows in one vectorised pass (one row per window, same order)."""
    if not totals:
        return []
    cols = {k: [_none_to_nan(getattr(t, k)) for t in totals] for k in TOTAL_FIELDS}
    arrays = compute_arrays(cols, min_tokens_per_s=min_tokens_per_s, names=names)
    lists = {k: v.tolist() for k, v in arrays.items()}
    return [
        {k: (None if v[i] != v[i] else v[i]) for k, v in lists.items()}  # NaN -> None
        for i in range(len(totals))
    ]


def _none_to_nan(value: float | None) -> float:
    return np.nan if value is None else float(value)


def ratio_above(numerator: float, tokens_per_s: float, min_tokens_per_s: float) -> float | None:
    """A per-token ratio from rates (e.g. W / tok/s = J/token) under the same cut-off rule."""
    if not (np.isfinite(numerator) and np.isfinite(tokens_per_s)):
        return None
    return numerator / tokens_per_s if tokens_per_s > min_tokens_per_s else None


def energy_kwh(energy_joules: float | None) -> float | None:
    """J -> kWh, None-safe."""
    return None if energy_joules is None else energy_joules / JOULES_PER_KWH


def co2_kg(co2_grams: float | None) -> float | None:
    """g -> kg, None-safe."""
    return None if co2_grams is None else co2_grams / GRAMS_PER_KG


__all__ = [
    "BY_NAME",
    "LEGACY_NAMES",
    "METRICS",
    "NAMES",
    "TOTAL_FIELDS",
    "WINDOW_METRICS",
    "Metric",
    "Totals",
    "co2_kg",
    "compute",
    "compute_arrays",
    "compute_many",
    "energy_kwh",
    "ratio_above",
]
