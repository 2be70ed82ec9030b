"""Rollups (raw -> 5m and raw -> 1h buckets) and retention of the three tiers.

A bucket ends at ceil(ts_end_s / bucket_s) * bucket_s. Rollups recompute every bucket touching
the range from raw and upsert with the same rule as raw writes (replace only when sample_count is
not lower), so re-running changes nothing and a bucket whose raw rows were already deleted is
never replaced by one rebuilt from a late partial backfill. Writes lower a rollup marker
(`tier_state.rollup_dirty_from_s`); `rollup_pending` refreshes from there and clears it.
Retention cuts are aligned down to whole hours, so deletions remove whole buckets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import duckdb

from wattlens.core.errors import ConfigError
from wattlens.core.records import INTERVAL_COLUMNS
from wattlens.core.units import SECONDS_PER_DAY
from wattlens.store.aggregate import aggregate_exprs
from wattlens.store.schema import ALIGN_S, BUCKET_S, TIER_TABLES
from wattlens.store.tiers import deleted_key
from wattlens.store.writes import DIRTY_KEY


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long each tier is kept, in seconds; None keeps it forever."""

    raw_s: float | None = 7 * SECONDS_PER_DAY
    five_min_s: float | None = 90 * SECONDS_PER_DAY
    hourly_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("raw_s", "five_min_s", "hourly_s"):
            value = getattr(self, name)
            if value is not None and not (value > 0 and math.isfinite(value)):
                raise ConfigError(
                    f"retention {name}={value!r} must be a positive number of seconds "
                    "(or None to keep forever)"
                )

    def keep_s(self, tier: str) -> float | None:
        """Retention of a tier by name ("raw", "5m", "1h")."""
        return {"raw": self.raw_s, "5m": self.five_min_s, "1h": self.hourly_s}[tier]


def _rollup_tier(con: duckdb.DuckDBPyConnection, tier: str, lo: float, hi: float) -> int:
    bucket = BUCKET_S[tier]
    target = TIER_TABLES[tier]
    exprs = aggregate_exprs()
    select = ", ".join(
        "deployment_id"
        if c == "deployment_id"
        else f"ceil(ts_end_s / {bucket!r}) * {bucket!r}"
        if c == "ts_end_s"
        else exprs[c]
        for c in INTERVAL_COLUMNS
    )
    sets = ", ".join(
        f"{c} = excluded.{c}" for c in INTERVAL_COLUMNS if c not in ("deployment_id", "ts_end_s")
    )
    row = con.execute(
        f"INSERT INTO {target} ({', '.join(INTERVAL_COLUMNS)}) "
        f"SELECT {select} FROM intervals_raw WHERE ts_end_s > ? AND ts_end_s <= ? "
        "GROUP BY ALL "
        f"ON CONFLICT (deployment_id, ts_end_s) DO UPDATE SET {sets} "
        f"WHERE excluded.sample_count >= {target}.sample_count",
        [lo, hi],
    ).fetchone()
    return int(row[0]) if row else 0


def rollup(
    con: duckdb.DuckDBPyConnection, start_s: float | None = None, end_s: float | None = None
) -> int:
    """Recompute 5m and 1h buckets touching (start_s, end_s] (None: all raw); returns rows written.

    The caller holds the transaction. Clears the rollup marker when the range covers it.
    """
    bounds = con.execute("SELECT min(ts_end_s), max(ts_end_s) FROM intervals_raw").fetchone()
    if bounds is None or bounds[0] is None:
        return 0
    lo_data, hi_data = bounds
    lo = lo_data - 1.0 if start_s is None else float(start_s)
    hi = hi_data if end_s is None else float(end_s)
    # widen to whole hours so each 5m and 1h bucket is rebuilt from all its rows
    lo = math.floor(lo / ALIGN_S) * ALIGN_S
    hi = math.ceil(hi / ALIGN_S) * ALIGN_S
    if hi <= lo:
        return 0
    written = sum(_rollup_tier(con, tier, lo, hi) for tier in BUCKET_S)
    dirty = con.execute("SELECT value_s FROM tier_state WHERE key = ?", [DIRTY_KEY]).fetchone()
    if dirty is not None and lo < dirty[0] and (end_s is None or hi >= hi_data):
        con.execute("DELETE FROM tier_state WHERE key = ?", [DIRTY_KEY])
    return written


def rollup_pending(con: duckdb.DuckDBPyConnection) -> int:
    """Refresh buckets from the rollup marker on (cheap when called after each write)."""
    dirty = con.execute("SELECT value_s FROM tier_state WHERE key = ?", [DIRTY_KEY]).fetchone()
    if dirty is None:
        return 0
    return rollup(con, math.ceil(dirty[0] / ALIGN_S) * ALIGN_S - ALIGN_S, None)


def apply_retention(
    con: duckdb.DuckDBPyConnection, now_s: float, policy: RetentionPolicy
) -> dict[str, int]:
    """Roll up, then delete rows older than each tier's retention; returns rows deleted per tier.

    Raw rows are deleted only after their buckets were rebuilt in this same transaction.
    """
    rollup_pending(con)
    deleted: dict[str, int] = {}
    for tier in TIER_TABLES:
        keep = policy.keep_s(tier)
        if keep is None:
            deleted[tier] = 0
            continue
        cut = math.floor((now_s - keep) / ALIGN_S) * ALIGN_S
        if tier == "raw":
            rollup(con, None, cut)  # buckets for everything about to go (normally already there)
        row = con.execute(f"DELETE FROM {TIER_TABLES[tier]} WHERE ts_end_s <= ?", [cut]).fetchone()
        deleted[tier] = int(row[0]) if row else 0
        con.execute(
            "INSERT INTO tier_state VALUES (?, ?) ON CONFLICT (key) "
            "DO UPDATE SET value_s = greatest(tier_state.value_s, excluded.value_s)",
            [deleted_key(tier), cut],
        )
    return deleted


__all__ = ["RetentionPolicy", "apply_retention", "rollup", "rollup_pending"]
