"""Interval history for the analysis: one store read, split per deployment into numpy views.

Rates come from additive totals: power = energy / interval_s, tok/s = tokens / interval_s.
Tokens are NaN where the engine reported nothing (unknown, not zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from wattlens.core.errors import InputError
from wattlens.store import StoreReader, TierName, as_tier

F64 = NDArray[np.float64]
# Resolution by range, as a dashboard picks its step: raw intervals up to 3 days, 5-minute
# buckets up to 14 days, hourly buckets beyond (a 30-day fleet of 200 deployments is then
# 144,000 rows instead of 17 million). Interval means are what the curve and the idle detection
# use; coarser buckets smooth the concurrency peaks, which right-sizing accounts for.
RAW_MAX_RANGE_S = 3 * 86400.0
FIVE_MIN_MAX_RANGE_S = 14 * 86400.0
_COLUMNS = (
    "ts_end_s",
    "interval_s",
    "energy_joules",
    "prompt_tokens",
    "generation_tokens",
    "requests_running",
    "requests_finished",
    "gpu_count",
    "co2_grams",
)


@dataclass(frozen=True, slots=True)
class Series:
    """One deployment's intervals in time order (views into the fleet arrays)."""

    deployment_id: str
    ts_end_s: F64
    interval_s: F64
    energy_joules: F64  # NaN: no energy for the interval
    prompt_tokens: F64  # NaN: unknown
    generation_tokens: F64
    requests_running: F64
    requests_finished: F64
    gpu_count: F64
    co2_grams: F64

    @property
    def tokens(self) -> F64:
        """Prompt + generation tokens per interval (NaN when either is unknown)."""
        return self.prompt_tokens + self.generation_tokens

    @property
    def power_watts(self) -> F64:
        """Mean power per interval."""
        return self.energy_joules / self.interval_s

    @property
    def tokens_per_s(self) -> F64:
        """Total tok/s per interval."""
        return self.tokens / self.interval_s

    def __len__(self) -> int:
        return int(self.ts_end_s.size)


def tier_for_range(range_s: float) -> TierName:
    """Store tier read for a range: "auto" (raw first) up to 3 days, "5m" to 14 days, "1h"."""
    if range_s <= RAW_MAX_RANGE_S:
        return "auto"
    return "5m" if range_s <= FIVE_MIN_MAX_RANGE_S else "1h"


def _f(cols: dict[str, np.ndarray], name: str, n: int) -> F64:
    col = cols.get(name)
    if col is None:
        return np.full(n, np.nan)
    return np.asarray(col, dtype=np.float64)


def split_columns(cols: dict[str, np.ndarray]) -> dict[str, Series]:
    """Split columns sorted by (deployment_id, ts_end_s) into per-deployment `Series`."""
    ids = cols.get("deployment_id")
    if ids is None:
        raise InputError("interval columns lack deployment_id; pass the store's intervals()")
    n = len(ids)
    if n == 0:
        return {}
    arrays = {name: _f(cols, name, n) for name in _COLUMNS}
    ids = np.asarray(ids, dtype=object)
    cut = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    starts = np.concatenate([[0], cut])
    ends = np.concatenate([cut, [n]])
    out: dict[str, Series] = {}
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        out[str(ids[a])] = Series(str(ids[a]), **{k: v[a:b] for k, v in arrays.items()})
    return out


def load_series(
    store: StoreReader, start_s: float, end_s: float, tier: str | None = None
) -> tuple[dict[str, Series], TierName]:
    """Read (start_s, end_s] once and split it; returns (series by deployment, tier read).

    A coarse tier that holds nothing for the range (never rolled up) falls back to "auto".
    InputError names the choices when `tier` is not a store tier.
    """
    chosen = as_tier(tier) if tier else tier_for_range(end_s - start_s)
    cols = store.intervals(None, start_s, end_s, tier=chosen)
    if chosen != "auto" and len(cols.get("ts_end_s", ())) == 0:
        chosen = "auto"
        cols = store.intervals(None, start_s, end_s, tier=chosen)
    return split_columns(cols), chosen


__all__ = [
    "FIVE_MIN_MAX_RANGE_S",
    "RAW_MAX_RANGE_S",
    "Series",
    "load_series",
    "split_columns",
    "tier_for_range",
]
