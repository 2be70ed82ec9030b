"""Export interval rows, with deployment attributes joined in, to Parquet or CSV."""

from __future__ import annotations

from pathlib import Path

import duckdb

from wattlens.core.errors import InputError
from wattlens.core.records import DEPLOYMENT_COLUMNS, INTERVAL_COLUMNS
from wattlens.store.tiers import order_for, source_sql

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}
_COPY_OPTIONS = {"parquet": "FORMAT parquet", "csv": "FORMAT csv, HEADER true"}


def export_format(path: Path, fmt: str | None) -> str:
    """The format to write: `fmt` if given, else from the file suffix."""
    chosen = fmt if fmt is not None else FORMATS.get(path.suffix.lower())
    if chosen not in _COPY_OPTIONS:
        given = f"format {fmt!r}" if fmt is not None else f"suffix {path.suffix!r}"
        raise InputError(
            f"cannot export to {path}: {given} is not supported; "
            "use fmt='parquet' or 'csv', or a .parquet / .csv file name"
        )
    return chosen


def export(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: str | None = None,
    tier: str = "raw",
    start_s: float | None = None,
    end_s: float | None = None,
) -> int:
    """Write rows with ts_end_s in (start_s, end_s] via COPY; returns rows written.

    Columns: time_utc (ISO 8601, second resolution, "Z"), every IntervalRecord field (ts_end_s
    exact), the deployment attributes (gpu_count is the interval's), and `tier` the row came from.
    """
    chosen = export_format(path, fmt)
    sql, params = source_sql(con, order_for(tier), start_s, end_s)
    attrs = ", ".join(
        f"d.{c}" for c in DEPLOYMENT_COLUMNS if c not in ("deployment_id", "gpu_count")
    )
    cols = ", ".join(f"i.{c}" for c in INTERVAL_COLUMNS)
    time_utc = (
        "strftime(make_timestamp(CAST(round(i.ts_end_s * 1e6) AS BIGINT)), "
        "'%Y-%m-%dT%H:%M:%SZ') AS time_utc"
    )
    target = str(path).replace("'", "''")
    row = con.execute(
        f"COPY (SELECT {time_utc}, {cols}, {attrs}, i.tier FROM ({sql}) AS i "
        "LEFT JOIN deployments AS d USING (deployment_id) ORDER BY i.deployment_id, i.ts_end_s) "
        f"TO '{target}' ({_COPY_OPTIONS[chosen]})",
        params,
    ).fetchone()
    return int(row[0]) if row else 0


__all__ = ["FORMATS", "export", "export_format"]
