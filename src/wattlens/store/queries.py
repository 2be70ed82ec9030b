"""Read queries over the store, returning plain Python and numpy structures.

Time ranges select rows by ts_end_s in (start_s, end_s]; a coarse bucket counts wholly in the
range its end falls in. Reads stitch the tiers (see tiers.py) unless a tier is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from wattlens.core.records import DEPLOYMENT_COLUMNS, DeploymentInfo
from wattlens.store.aggregate import TOKENS_KNOWN, Aggregate, aggregate_exprs
from wattlens.store.schema import TIER_TABLES
from wattlens.store.tiers import order_for, source_sql


@dataclass(frozen=True, slots=True)
class StoredDeployment:
    """A deployment as stored: its attributes and when it was first and last seen."""

    info: DeploymentInfo
    first_seen_s: float
    last_seen_s: float


def to_numpy(rel: duckdb.DuckDBPyConnection) -> dict[str, np.ndarray]:
    """Columns of a result as numpy arrays (NULL -> NaN in numbers, None in strings)."""
    return {name: _unmask(col) for name, col in rel.fetchnumpy().items()}


def _unmask(col: np.ndarray) -> np.ndarray:
    if not isinstance(col, np.ma.MaskedArray):
        return np.asarray(col)
    if col.dtype.kind in "fiub":
        return np.ma.filled(col.astype(np.float64), np.nan)
    out = col.data.astype(object)
    out[np.ma.getmaskarray(col)] = None
    return out


def deployments(con: duckdb.DuckDBPyConnection) -> list[StoredDeployment]:
    """All deployments ordered by id."""
    cols = ", ".join(DEPLOYMENT_COLUMNS)
    rows = con.execute(
        f"SELECT {cols}, first_seen_s, last_seen_s FROM deployments ORDER BY deployment_id"
    ).fetchall()
    n = len(DEPLOYMENT_COLUMNS)
    return [StoredDeployment(DeploymentInfo(*r[:n]), r[n], r[n + 1]) for r in rows]


def last_ts(con: duckdb.DuckDBPyConnection) -> float | None:
    """ts_end_s of the newest raw row (of the newest bucket when raw is empty); None if empty."""
    for table in TIER_TABLES.values():
        row = con.execute(f"SELECT max(ts_end_s) FROM {table}").fetchone()
        if row and row[0] is not None:
            return float(row[0])
    return None


def first_ts(con: duckdb.DuckDBPyConnection) -> float | None:
    """ts_end_s of the oldest row in any tier; None if the store is empty."""
    parts = " UNION ALL ".join(f"SELECT min(ts_end_s) AS t FROM {t}" for t in TIER_TABLES.values())
    row = con.execute(f"SELECT min(t) FROM ({parts})").fetchone()
    return None if row is None or row[0] is None else float(row[0])


def intervals(
    con: duckdb.DuckDBPyConnection,
    deployment_id: str | None,
    start_s: float | None,
    end_s: float | None,
    tier: str = "auto",
) -> dict[str, np.ndarray]:
    """Rows as columns (IntervalRecord fields plus `tier`), sorted by deployment and time."""
    sql, params = source_sql(con, order_for(tier), start_s, end_s, deployment_id)
    return to_numpy(con.execute(f"{sql} ORDER BY deployment_id, ts_end_s", params))


def latest(
    con: duckdb.DuckDBPyConnection, window_s: float = 300.0, now_s: float | None = None
) -> dict[str, Aggregate]:
    """Per-deployment aggregate over ts_end_s in (now_s - window_s, now_s] (now: newest row)."""
    end = last_ts(con) if now_s is None else float(now_s)
    if end is None:
        return {}
    start = end - float(window_s)
    sql, params = source_sql(con, order_for("auto"), start, end)
    exprs = aggregate_exprs()
    names = [
        f.name
        for f in Aggregate.__dataclass_fields__.values()
        if f.name not in ("deployment_id", "start_s", "end_s")
    ]
    extra = {
        "interval_count": "count(*)",
        "first_ts_end_s": "min(ts_end_s)",
        "last_ts_end_s": "max(ts_end_s)",
        "token_energy_joules": f"sum(energy_joules) FILTER (WHERE {TOKENS_KNOWN})",
        "token_co2_grams": f"sum(co2_grams) FILTER (WHERE {TOKENS_KNOWN})",
    }
    select = ", ".join(f"{extra.get(n) or exprs[n]} AS {n}" for n in names)
    rows = con.execute(
        f"SELECT deployment_id, {select} FROM ({sql}) GROUP BY deployment_id", params
    ).fetchall()
    return {r[0]: Aggregate(r[0], start, end, *r[1:]) for r in rows}


_TOTAL_SUMS = (
    "energy_joules",
    "prompt_tokens",
    "generation_tokens",
    "requests_finished",
    "co2_grams",
    "sample_count",
    "cached_prompt_tokens",
)


def totals(
    con: duckdb.DuckDBPyConnection,
    start_s: float | None,
    end_s: float | None,
    active_min_tokens_per_s: float,
) -> list[dict[str, Any]]:
    """Per-deployment sums over the range, plus the same over active rows only.

    A row is active when (prompt + generation tokens) / interval_s exceeds the threshold; the
    active_* sums are the inputs to a J/token that ignores idle time. Keys: deployment_id,
    energy_joules, prompt_tokens, generation_tokens, requests_finished, co2_grams, sample_count,
    covered_s, interval_count, first_ts_end_s, last_ts_end_s, energy_source, token_energy_joules,
    token_co2_grams (over rows with token counts), active_energy_joules,
    active_co2_grams, active_prompt_tokens, active_generation_tokens, active_covered_s.
    """
    sql, params = source_sql(con, order_for("auto"), start_s, end_s)
    tok = "(coalesce(prompt_tokens, 0) + coalesce(generation_tokens, 0))"
    known = TOKENS_KNOWN
    active = f"{known} AND {tok} / nullif(interval_s, 0) > ?"
    select = [f"sum({c}) AS {c}" for c in _TOTAL_SUMS] + [
        "sum(interval_s) AS covered_s",
        "count(*) AS interval_count",
        "min(ts_end_s) AS first_ts_end_s",
        "max(ts_end_s) AS last_ts_end_s",
        f"{aggregate_exprs()['energy_source']} AS energy_source",
        f"sum(energy_joules) FILTER (WHERE {known}) AS token_energy_joules",
        f"sum(co2_grams) FILTER (WHERE {known}) AS token_co2_grams",
        f"sum(energy_joules) FILTER (WHERE {active}) AS active_energy_joules",
        f"sum(co2_grams) FILTER (WHERE {active}) AS active_co2_grams",
        f"sum(prompt_tokens) FILTER (WHERE {active}) AS active_prompt_tokens",
        f"sum(generation_tokens) FILTER (WHERE {active}) AS active_generation_tokens",
        f"coalesce(sum(interval_s) FILTER (WHERE {active}), 0) AS active_covered_s",
    ]
    thr = float(active_min_tokens_per_s)
    cur = con.execute(
        f"SELECT deployment_id, {', '.join(select)} FROM ({sql}) "
        "GROUP BY deployment_id ORDER BY deployment_id",
        [thr] * 5 + params,
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


__all__ = [
    "StoredDeployment",
    "deployments",
    "first_ts",
    "intervals",
    "last_ts",
    "latest",
    "to_numpy",
    "totals",
]
