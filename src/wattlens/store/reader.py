"""`StoreReader`: the read side of the store, as the analysis, web and app floors use it.

`Store` satisfies it structurally; functions that only read take a `StoreReader`, so tests and
other backends (an API client, a snapshot) can stand in for the DuckDB file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from wattlens.core.errors import InputError
from wattlens.store.aggregate import Aggregate
from wattlens.store.queries import StoredDeployment

TierName = Literal["auto", "raw", "5m", "1h"]
_TIERS: dict[str, TierName] = {"auto": "auto", "raw": "raw", "5m": "5m", "1h": "1h"}


def as_tier(tier: str) -> TierName:
    """`tier` as a `TierName`; InputError naming the choices when it is not one."""
    found = _TIERS.get(tier)
    if found is None:
        raise InputError(f"tier {tier!r} is unknown; expected 'auto', 'raw', '5m' or '1h'")
    return found


class StoreReader(Protocol):
    """The read methods of `wattlens.store.Store` (see there for what each returns)."""

    def get_meta(self, key: str) -> str | None:
        """The string stored under `key`, or None."""
        ...

    def deployments(self) -> list[StoredDeployment]:
        """All deployments (attributes in `.info`, plus first_seen_s and last_seen_s)."""
        ...

    def last_ts(self) -> float | None:
        """ts_end_s of the newest interval, or None when empty."""
        ...

    def first_ts(self) -> float | None:
        """ts_end_s of the oldest row in any tier, or None when empty."""
        ...

    def latest(self, window_s: float = 300.0, now_s: float | None = None) -> dict[str, Aggregate]:
        """Per-deployment aggregates over the last `window_s` (to now_s or the newest row)."""
        ...

    def intervals(
        self,
        deployment_id: str | None,
        start_s: float | None = None,
        end_s: float | None = None,
        *,
        tier: TierName = "auto",
    ) -> dict[str, np.ndarray]:
        """Rows with ts_end_s in (start_s, end_s] as numpy columns (plus `tier`)."""
        ...

    def totals(
        self,
        start_s: float | None = None,
        end_s: float | None = None,
        *,
        active_min_tokens_per_s: float | None = None,
    ) -> list[dict[str, Any]]:
        """Per-deployment sums over (start_s, end_s]."""
        ...

    def series(
        self,
        metric: str,
        deployment_id: str | Sequence[str] | None,
        start_s: float | None,
        end_s: float | None,
        step_s: float,
        *,
        tier: TierName = "auto",
        min_tokens_per_s: float | None = None,
    ) -> dict[str, np.ndarray]:
        """Bucketed rate series of one metric."""
        ...

    def series_many(
        self,
        metrics: Sequence[str],
        deployment_id: str | Sequence[str] | None,
        start_s: float | None,
        end_s: float | None,
        step_s: float,
        *,
        tier: TierName = "auto",
        min_tokens_per_s: float | None = None,
    ) -> dict[str, np.ndarray]:
        """Several series over one read: ts_end_s, covered_s, sample_count and one column each."""
        ...

    def export(
        self,
        path: str | Path,
        *,
        fmt: str | None = None,
        tier: TierName = "raw",
        start_s: float | None = None,
        end_s: float | None = None,
    ) -> int:
        """Write intervals with deployment attributes to Parquet or CSV; rows written."""
        ...


__all__ = ["StoreReader", "TierName", "as_tier"]
