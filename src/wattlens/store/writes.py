"""Idempotent bulk writes of interval records and deployment attributes.

A record replaces the stored one for the same (deployment_id, ts_end_s) only when it is more
complete: more samples, or as many samples covering more seconds. A partial interval never
overwrites a complete one, writing the same records twice changes nothing, and a re-derivation of
an interval from fewer readings (a restart re-reads the last steps without the counters' previous
readings) never rewrites what was stored (issue 14: a killed demo's history shrank on restart).
Records go in as one Arrow table per call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from wattlens.core.errors import InputError
from wattlens.core.records import (
    DEPLOYMENT_COLUMNS,
    INTERVAL_COLUMNS,
    DeploymentInfo,
    IntervalRecord,
)
from wattlens.store.schema import INTERVAL_ARROW_SCHEMA, NULLABLE_INTERVAL_COLUMNS, TIER_TABLES

DIRTY_KEY = "rollup_dirty_from_s"

_KEY = ("deployment_id", "ts_end_s")
_UPDATABLE = [c for c in INTERVAL_COLUMNS if c not in _KEY]


def records_to_table(records: Sequence[IntervalRecord]) -> pa.Table:
    """Columnar Arrow table of `records` (NaN in float fields is stored as NULL)."""
    cols = {c: list(map(attrgetter(c), records)) for c in INTERVAL_COLUMNS}
    return columns_to_table(cols)


def columns_to_table(columns: Mapping[str, Any]) -> pa.Table:
    """Arrow table from column name -> array or list; missing nullable columns become NULL."""
    unknown = sorted(set(columns) - set(INTERVAL_COLUMNS))
    if unknown:
        raise InputError(
            f"interval columns {unknown} are not IntervalRecord fields; "
            f"expected names from {list(INTERVAL_COLUMNS)}"
        )
    missing = [
        c for c in INTERVAL_COLUMNS if c not in columns and c not in NULLABLE_INTERVAL_COLUMNS
    ]
    if missing:
        raise InputError(f"interval columns {missing} are required; add them to the columns dict")
    lengths = {c: len(v) for c, v in columns.items()}
    if len(set(lengths.values())) > 1:
        raise InputError(f"interval columns differ in length {lengths}; pass equal-length arrays")
    n = next(iter(lengths.values()), 0)
    arrays = []
    for field in INTERVAL_ARROW_SCHEMA:
        values = columns.get(field.name)
        if values is None:
            arrays.append(pa.nulls(n, field.type))
            continue
        if isinstance(values, np.ndarray) and values.dtype.kind == "U":
            values = values.astype(object)
        try:
            # from_pandas: NaN means "missing" in numpy float columns
            arrays.append(pa.array(values, type=field.type, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as e:
            raise InputError(
                f"interval column {field.name!r} does not convert to {field.type}: {e}; "
                "pass numbers (or strings for deployment_id and energy_source)"
            ) from e
    return pa.Table.from_arrays(arrays, schema=INTERVAL_ARROW_SCHEMA)


def write_table(con: duckdb.DuckDBPyConnection, table: pa.Table, tier: str = "raw") -> int:
    """Upsert an interval table into a tier (caller holds the transaction); returns rows written.

    Within one call, duplicate keys keep the row with the highest sample_count (last one on ties).
    """
    if table.num_rows == 0:
        return 0
    target = TIER_TABLES[tier]
    # explicit position: "last one wins" must not depend on DuckDB's scan order
    con.register("_wl_incoming", table.append_column("_pos", pa.array(np.arange(table.num_rows))))
    sets = ", ".join(f"{c} = excluded.{c}" for c in _UPDATABLE)
    cols = ", ".join(INTERVAL_COLUMNS)
    row = con.execute(
        f"INSERT INTO {target} ({cols}) "
        f"SELECT {cols} FROM _wl_incoming "
        "QUALIFY row_number() OVER (PARTITION BY deployment_id, ts_end_s "
        "ORDER BY sample_count DESC, _pos DESC) = 1 "
        f"ON CONFLICT (deployment_id, ts_end_s) DO UPDATE SET {sets} "
        f"WHERE excluded.sample_count > {target}.sample_count "
        f"OR (excluded.sample_count = {target}.sample_count "
        f"AND excluded.interval_s > {target}.interval_s)"
    ).fetchone()
    if tier == "raw":
        mark_dirty(con, float(pc.min(table["ts_end_s"]).as_py()))
    # not in a `finally`: an aborted transaction refuses unregister; `release` runs after ROLLBACK
    con.unregister("_wl_incoming")
    return int(row[0]) if row else 0


def mark_dirty(con: duckdb.DuckDBPyConnection, ts_end_s: float) -> None:
    """Lower the rollup marker to `ts_end_s`: 5m/1h buckets from its hour on are stale."""
    con.execute(
        f"INSERT INTO tier_state VALUES ('{DIRTY_KEY}', ?) "
        "ON CONFLICT (key) DO UPDATE SET value_s = least(tier_state.value_s, excluded.value_s)",
        [ts_end_s],
    )


def upsert_deployments(
    con: duckdb.DuckDBPyConnection, infos: Sequence[DeploymentInfo], seen_s: float
) -> int:
    """Insert or refresh deployments seen at `seen_s`; keeps first_seen_s, moves last_seen_s.

    Attributes are replaced only by a sighting at least as new as the stored last_seen_s, so a
    backfill of old data never reverts newer attributes.
    """
    if not infos:
        return 0
    latest = {i.deployment_id: i for i in infos}  # last one wins within a call
    data = {c: [getattr(i, c) for i in latest.values()] for c in DEPLOYMENT_COLUMNS}
    data["first_seen_s"] = [float(seen_s)] * len(latest)
    data["last_seen_s"] = [float(seen_s)] * len(latest)
    table = pa.table(data)
    attrs = [c for c in DEPLOYMENT_COLUMNS if c != "deployment_id"]
    newer = "excluded.last_seen_s >= deployments.last_seen_s"
    sets = [f"{c} = CASE WHEN {newer} THEN excluded.{c} ELSE deployments.{c} END" for c in attrs]
    sets += [
        "first_seen_s = least(deployments.first_seen_s, excluded.first_seen_s)",
        "last_seen_s = greatest(deployments.last_seen_s, excluded.last_seen_s)",
    ]
    con.register("_wl_deployments", table)
    cols = ", ".join(table.column_names)
    row = con.execute(
        f"INSERT INTO deployments ({cols}) SELECT {cols} FROM _wl_deployments "
        f"ON CONFLICT (deployment_id) DO UPDATE SET {', '.join(sets)}"
    ).fetchone()
    con.unregister("_wl_deployments")
    return int(row[0]) if row else 0


def release(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the Arrow tables a failed write left registered (call after ROLLBACK)."""
    for name in ("_wl_incoming", "_wl_deployments"):
        with contextlib.suppress(duckdb.Error):  # not registered
            con.unregister(name)


__all__ = [
    "DIRTY_KEY",
    "columns_to_table",
    "mark_dirty",
    "records_to_table",
    "release",
    "upsert_deployments",
    "write_table",
]
