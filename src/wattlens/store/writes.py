"""Idempotent bulk writes of interval records and deployment attributes.

A record replaces the stored one for the same (deployment_id, ts_end_s) only when it is more
complete: more samples, or as many samples covering more seconds. A partial interval never
overwrites a complete one, writing the same records twice changes nothing, and a re-derivation of
an interval from fewer readings (a restart re-reads the last steps without the counters' previous
readings) never rewrites what was stored (issue 14: a killed demo's history shrank on restart).
Records go in as one set of numpy columns per call, which DuckDB scans where they lie.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from operator import attrgetter
from typing import Any

import duckdb
import numpy as np

from wattlens.core.errors import InputError
from wattlens.core.records import (
    DEPLOYMENT_COLUMNS,
    INTERVAL_COLUMNS,
    DeploymentInfo,
    IntervalRecord,
)
from wattlens.store.schema import (
    DEPLOYMENT_DTYPES,
    INTERVAL_DTYPES,
    NULLABLE_INTERVAL_COLUMNS,
    TIER_TABLES,
)

DIRTY_KEY = "rollup_dirty_from_s"

Frame = dict[str, np.ndarray]
"""Column name -> equal-length numpy array, as DuckDB scans it (registered, no copy through
pyarrow: NaN in a float column and None in an object column read as NULL)."""


def records_to_table(records: Sequence[IntervalRecord]) -> Frame:
    """Columns of `records` (NaN in float fields is stored as NULL)."""
    cols = {c: list(map(attrgetter(c), records)) for c in INTERVAL_COLUMNS}
    return columns_to_table(cols)


def as_column(name: str, values: Any, dtype: type) -> np.ndarray:  # noqa: ANN401 - any sequence
    """`values` as a numpy array of `dtype` (object: str or None); InputError naming the column
    when they do not convert exactly (a float into an integer column, a number into a string)."""
    try:
        if dtype is object:
            kind = values.dtype.kind if isinstance(values, np.ndarray) else "O"
            arr = values.astype(object) if kind == "U" else np.asarray(values, dtype=object)
            if arr.ndim != 1 or not _all_str_or_none(arr):
                raise TypeError("expected strings")
            return arr
        raw = np.asarray(values)
        if raw.dtype.kind == "O" and raw.ndim == 1 and np.dtype(dtype).kind == "f":
            # None (NULL) among numbers: stored as NaN, which reads back as NULL
            if not all(v is None or isinstance(v, (int, float, np.number)) for v in raw.tolist()):
                raise TypeError("expected numbers or None")
            raw = raw.astype(np.float64)  # None -> NaN
        if raw.dtype.kind not in "biuf" or raw.ndim != 1:
            raise TypeError(f"expected numbers, got {raw.dtype}")
        arr = raw.astype(dtype)
        if arr.dtype.kind in "iub" and raw.dtype.kind == "f" and not np.array_equal(arr, raw):
            raise ValueError("not whole numbers")
        return arr
    except (TypeError, ValueError, OverflowError) as e:
        raise InputError(
            f"column {name!r} does not convert to {np.dtype(dtype).name}: {e}; "
            "pass numbers (or strings for ids, names and energy_source)"
        ) from e


def _all_str_or_none(arr: np.ndarray) -> bool:
    # the types present first (one C-level pass: a backfill writes ~10^5 ids a chunk), the
    # per-value check only when some are not exactly str (a str subclass such as numpy.str_)
    values = arr.tolist()
    if set(map(type, values)) <= _STR_OR_NONE:
        return True
    return all(v is None or isinstance(v, str) for v in values)


_STR_OR_NONE = frozenset({str, type(None)})


def columns_to_table(columns: Mapping[str, Any]) -> Frame:
    """Interval columns from column name -> array or list; missing nullable columns are NULL."""
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
    out: Frame = {}
    for name, dtype in INTERVAL_DTYPES.items():
        values = columns.get(name)
        if values is None:  # nullable (checked above): every nullable column is DOUBLE
            out[name] = np.full(n, np.nan)
        else:
            out[name] = as_column(name, values, dtype)
    return out


def write_table(
    con: duckdb.DuckDBPyConnection, table: Frame, tier: str = "raw", *, unique_keys: bool = False
) -> int:
    """Upsert interval columns into a tier (caller holds the transaction); returns rows written.

    Within one call, duplicate keys keep the row with the highest sample_count (last one on ties).
    `unique_keys`: the caller vouches that no two rows share a key (a derivation's output), which
    skips that selection (~40 % of a backfill insert's CPU).
    """
    n = int(table["ts_end_s"].size)
    if n == 0:
        return 0
    target = TIER_TABLES[tier]
    cols = ", ".join(INTERVAL_COLUMNS)
    lo_s = float(np.min(table["ts_end_s"]))
    incoming = "_wl_incoming"
    if unique_keys:
        con.register(incoming, table)
    else:
        # explicit position: "last one wins" must not depend on DuckDB's scan order
        con.register(incoming, {**table, "_pos": np.arange(n)})
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _wl_unique AS SELECT {cols} FROM {incoming} "
            "QUALIFY row_number() OVER (PARTITION BY deployment_id, ts_end_s "
            "ORDER BY sample_count DESC, _pos DESC) = 1"
        )
        incoming = "_wl_unique"
    # Only stored rows from the batch's start are compared (zone maps skip the rest).
    same_key = "s.deployment_id = i.deployment_id AND s.ts_end_s = i.ts_end_s AND s.ts_end_s >= ?"
    # A plain INSERT where no incoming key is stored yet (a backfill moving forward in time);
    # the check costs a few ms.
    clash = con.execute(
        f"SELECT EXISTS (SELECT 1 FROM {target} s JOIN {incoming} i ON {same_key})", [lo_s]
    ).fetchone()
    if clash is None or clash[0]:
        # Stored rows the incoming ones are more complete than make way; then every incoming
        # row whose key is no longer stored goes in. (No ON CONFLICT: the raw tier has no
        # index to find conflicts with; see store/schema.py v4.)
        con.execute(
            f"DELETE FROM {target} AS s USING {incoming} i WHERE {same_key} "
            "AND (i.sample_count > s.sample_count "
            "OR (i.sample_count = s.sample_count AND i.interval_s > s.interval_s))",
            [lo_s],
        )
        row = con.execute(
            f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {incoming} i "
            f"WHERE NOT EXISTS (SELECT 1 FROM {target} s WHERE {same_key})",
            [lo_s],
        ).fetchone()
    else:
        row = con.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {incoming}").fetchone()
    if tier == "raw":
        mark_dirty(con, lo_s)
    # not in a `finally`: an aborted transaction refuses unregister; `release` runs after ROLLBACK
    con.unregister("_wl_incoming")
    if not unique_keys:
        con.execute("DROP TABLE _wl_unique")
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
    data = {
        c: as_column(c, [getattr(i, c) for i in latest.values()], DEPLOYMENT_DTYPES[c])
        for c in DEPLOYMENT_COLUMNS
    }
    data["first_seen_s"] = np.full(len(latest), float(seen_s))
    data["last_seen_s"] = np.full(len(latest), float(seen_s))
    attrs = [c for c in DEPLOYMENT_COLUMNS if c != "deployment_id"]
    newer = "excluded.last_seen_s >= deployments.last_seen_s"
    sets = [f"{c} = CASE WHEN {newer} THEN excluded.{c} ELSE deployments.{c} END" for c in attrs]
    sets += [
        "first_seen_s = least(deployments.first_seen_s, excluded.first_seen_s)",
        "last_seen_s = greatest(deployments.last_seen_s, excluded.last_seen_s)",
    ]
    con.register("_wl_deployments", data)
    cols = ", ".join(data)
    row = con.execute(
        f"INSERT INTO deployments ({cols}) SELECT {cols} FROM _wl_deployments "
        f"ON CONFLICT (deployment_id) DO UPDATE SET {', '.join(sets)}"
    ).fetchone()
    con.unregister("_wl_deployments")
    return int(row[0]) if row else 0


def release(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the columns a failed write left registered (call after ROLLBACK)."""
    for name in ("_wl_incoming", "_wl_deployments"):
        with contextlib.suppress(duckdb.Error):  # not registered
            con.unregister(name)


__all__ = [
    "DIRTY_KEY",
    "Frame",
    "as_column",
    "columns_to_table",
    "mark_dirty",
    "records_to_table",
    "release",
    "upsert_deployments",
    "write_table",
]
