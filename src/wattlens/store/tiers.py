"""Stitching the three interval tiers into one row source without double counting.

Each tier is authoritative over a range of ts_end_s, (lo, hi]:
  raw  (raw deleted-through cut-off, +inf)
  5m   (5m cut-off, V]     V = start of the hour holding the rollup marker (+inf when none)
  1h   (1h cut-off, V]
All bounds are hour-aligned, so every bucket falls wholly on one side of each. The time axis is
cut at these bounds; each piece is read from the first tier in a preference order that covers it
(or, where none does, from the first tier that still holds rows there, e.g. a stale bucket).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import duckdb

from wattlens.core.records import INTERVAL_COLUMNS
from wattlens.store.schema import ALIGN_S, TIER_TABLES
from wattlens.store.writes import DIRTY_KEY

INF = math.inf


def deleted_key(tier: str) -> str:
    """tier_state key of a tier's retention cut-off (rows with ts_end_s <= it were deleted)."""
    return f"{tier}_deleted_through_s"


def read_state(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """All of tier_state as a dict."""
    return dict(con.execute("SELECT key, value_s FROM tier_state").fetchall())


def coarse_valid_through(dirty_from_s: float | None) -> float:
    """Last ts_end_s up to which 5m/1h buckets are current, given the rollup marker."""
    if dirty_from_s is None:
        return INF
    return math.ceil(dirty_from_s / ALIGN_S) * ALIGN_S - ALIGN_S


def availability(state: dict[str, float]) -> dict[str, tuple[float, float]]:
    """(lo, hi] of ts_end_s over which each tier is complete and current."""
    valid = coarse_valid_through(state.get(DIRTY_KEY))
    return {
        "raw": (state.get(deleted_key("raw"), -INF), INF),
        "5m": (state.get(deleted_key("5m"), -INF), valid),
        "1h": (state.get(deleted_key("1h"), -INF), valid),
    }


def plan(
    order: Sequence[str], state: dict[str, float], start_s: float, end_s: float
) -> list[tuple[str, float, float]]:
    """Pieces (tier, lo, hi] covering (start_s, end_s], read per the preference `order`."""
    avail = availability(state)
    cuts = sorted({b for lo_hi in avail.values() for b in lo_hi if start_s < b < end_s})
    edges = [start_s, *cuts, end_s]
    pieces: list[tuple[str, float, float]] = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        covering = [t for t in order if avail[t][0] <= lo and hi <= avail[t][1]]
        present = [t for t in order if avail[t][0] <= lo]
        chosen = (covering or present or [order[0]])[0]
        if pieces and pieces[-1][0] == chosen and pieces[-1][2] == lo:
            pieces[-1] = (chosen, pieces[-1][1], hi)
        else:
            pieces.append((chosen, lo, hi))
    return pieces


def source_sql(
    con: duckdb.DuckDBPyConnection,
    order: Sequence[str],
    start_s: float | None,
    end_s: float | None,
    deployment_id: str | Sequence[str] | None = None,
    columns: Sequence[str] = INTERVAL_COLUMNS,
) -> tuple[str, list[Any]]:
    """SQL (UNION ALL of tier reads, with a `tier` column) and its parameters."""
    lo_q = -INF if start_s is None else float(start_s)
    hi_q = INF if end_s is None else float(end_s)
    if len(order) == 1:
        pieces = [(order[0], lo_q, hi_q)]
    else:
        pieces = plan(order, read_state(con), lo_q, hi_q)
    cols = ", ".join(columns)
    parts: list[str] = []
    params: list[Any] = []
    for tier, lo, hi in pieces:
        where = ["TRUE"]
        if lo > -INF:
            where.append("ts_end_s > ?")
            params.append(lo)
        if hi < INF:
            where.append("ts_end_s <= ?")
            params.append(hi)
        if isinstance(deployment_id, str):
            where.append("deployment_id = ?")
            params.append(deployment_id)
        elif deployment_id is not None:  # several deployments, summed like the fleet
            ids = list(deployment_id) or [""]
            where.append(f"deployment_id IN ({', '.join('?' * len(ids))})")
            params.extend(ids)
        parts.append(
            f"SELECT {cols}, '{tier}' AS tier FROM {TIER_TABLES[tier]} WHERE {' AND '.join(where)}"
        )
    return " UNION ALL ".join(parts), params


def order_for(tier: str, step_s: float | None = None) -> list[str]:
    """Preference order: an explicit tier alone; "auto" finest first, or by `step_s` if given."""
    if tier != "auto":
        if tier not in TIER_TABLES:
            raise ValueError(tier)
        return [tier]
    if step_s is None:
        return ["raw", "5m", "1h"]
    # the coarsest tier whose buckets nest in a step, then finer, then coarser (older data)
    fits = [t for t, b in (("1h", 3600.0), ("5m", 300.0)) if step_s >= b and step_s % b == 0]
    finer = ["raw", "5m", "1h"]
    first = fits[0] if fits else "raw"
    rest_fine = [t for t in reversed(finer[: finer.index(first)])]
    rest_coarse = finer[finer.index(first) + 1 :]
    return [first, *rest_fine, *rest_coarse]


__all__ = [
    "availability",
    "coarse_valid_through",
    "deleted_key",
    "order_for",
    "plan",
    "read_state",
    "source_sql",
]
