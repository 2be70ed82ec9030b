"""Table layout of the DuckDB store, its version, and creation or checking on open.

Timestamps are DOUBLE UTC epoch seconds (exact for the aligned steps the collector uses). Each
interval tier is keyed by (deployment_id, ts_end_s); a row covers (ts_end_s - interval_s, ts_end_s].
Range filters rely on DuckDB's zone maps (rows arrive roughly in time order), so no extra index.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import duckdb
import numpy as np

from wattlens.core.errors import StoreError
from wattlens.core.records import DEPLOYMENT_COLUMNS, INTERVAL_COLUMNS

SCHEMA_VERSION = 4
# v2: intervals gained cached_prompt_tokens (prefix-cache hits), appended to each tier table.
# v3: request_length_buckets (per-interval increments of vLLM's request-length histograms,
#     cumulative in `le`; base step only, not rolled up: see store/lengths.py).
# v4: new stores' intervals_raw has no primary-key index (store/writes.py keeps keys unique; the
#     index was ~60 % of a raw write's CPU); stores upgraded from v3 keep theirs, unused.
DEFAULT_DB_PATH = Path("wattlens.duckdb")

Tier = Literal["raw", "5m", "1h"]
TIER_TABLES: dict[str, str] = {"raw": "intervals_raw", "5m": "intervals_5m", "1h": "intervals_1h"}
BUCKET_S: dict[str, float] = {"5m": 300.0, "1h": 3600.0}
# Retention cut-offs and the rollup marker are aligned to this, so every 5m and 1h bucket is
# either wholly present in raw or wholly absent (no bucket is ever rebuilt from part of its rows).
ALIGN_S = 3600.0

INTERVAL_TYPES: dict[str, str] = {
    "deployment_id": "VARCHAR NOT NULL",
    "ts_end_s": "DOUBLE NOT NULL",
    "interval_s": "DOUBLE NOT NULL",
    "energy_joules": "DOUBLE",
    "energy_source": "VARCHAR NOT NULL CHECK (energy_source IN ('counter', 'gauge', 'none'))",
    "prompt_tokens": "DOUBLE",
    "generation_tokens": "DOUBLE",
    "requests_finished": "DOUBLE",
    "itl_seconds_sum": "DOUBLE",
    "requests_running": "DOUBLE",
    "requests_waiting": "DOUBLE",
    "kv_cache_usage_ratio": "DOUBLE",
    "gpu_util_percent": "DOUBLE",
    "gpu_count": "INTEGER NOT NULL",
    "carbon_intensity_kg_per_kwh": "DOUBLE NOT NULL",
    "pue": "DOUBLE NOT NULL",
    "co2_grams": "DOUBLE",
    "sample_count": "BIGINT NOT NULL",
    "cached_prompt_tokens": "DOUBLE",  # added in schema v2 (appended by the upgrade)
}
DEPLOYMENT_TYPES: dict[str, str] = {
    "deployment_id": "VARCHAR PRIMARY KEY",
    "namespace": "VARCHAR NOT NULL",
    "workload": "VARCHAR NOT NULL",
    "model_name": "VARCHAR",
    "gpu_type": "VARCHAR",
    "gpu_hardware": "VARCHAR",
    "gpu_count": "INTEGER NOT NULL",
    "node": "VARCHAR",
    "container": "VARCHAR",
    "grid_region": "VARCHAR",
    "mig": "BOOLEAN NOT NULL",
    "first_seen_s": "DOUBLE NOT NULL",
    "last_seen_s": "DOUBLE NOT NULL",
}
assert tuple(INTERVAL_TYPES) == INTERVAL_COLUMNS, "store schema out of step with IntervalRecord"
assert tuple(DEPLOYMENT_TYPES)[:-2] == DEPLOYMENT_COLUMNS, "store schema out of step"

# numpy dtype each SQL type is written from (DuckDB scans a dict of numpy arrays natively: no
# pyarrow, whose array constructors import pandas, ~30 MB of a service's RSS)
NUMPY_DTYPES: dict[str, type] = {
    "VARCHAR": object, "DOUBLE": np.float64, "INTEGER": np.int32, "BIGINT": np.int64,
    "BOOLEAN": np.bool_,
}  # fmt: skip
INTERVAL_DTYPES = {c: NUMPY_DTYPES[t.split()[0]] for c, t in INTERVAL_TYPES.items()}
DEPLOYMENT_DTYPES = {c: NUMPY_DTYPES[t.split()[0]] for c, t in DEPLOYMENT_TYPES.items()}
NULLABLE_INTERVAL_COLUMNS = frozenset(c for c, t in INTERVAL_TYPES.items() if "NOT NULL" not in t)


def _ddl() -> list[str]:
    cols = ", ".join(f"{c} {t}" for c, t in INTERVAL_TYPES.items())
    stmts = [
        "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)",
        # numeric store state: rollup marker and retention cut-offs (see retention.py)
        "CREATE TABLE IF NOT EXISTS tier_state (key VARCHAR PRIMARY KEY, value_s DOUBLE NOT NULL)",
        "CREATE TABLE IF NOT EXISTS deployments ("
        + ", ".join(f"{c} {t}" for c, t in DEPLOYMENT_TYPES.items())
        + ")",
    ]
    stmts.append(
        "CREATE TABLE IF NOT EXISTS request_length_buckets (deployment_id VARCHAR NOT NULL, "
        "ts_end_s DOUBLE NOT NULL, kind VARCHAR NOT NULL CHECK (kind IN ('prompt', "
        "'generation')), le DOUBLE NOT NULL, count DOUBLE NOT NULL, "
        "PRIMARY KEY (deployment_id, ts_end_s, kind, le))"
    )
    for tier, table in TIER_TABLES.items():
        # raw: no index (written every cycle and in bulk, where maintaining it cost more than
        # the write: 288,000 rows 0.50 vs 0.16 CPU-s); keys kept unique by writes.write_table
        key = "" if tier == "raw" else ", PRIMARY KEY (deployment_id, ts_end_s)"
        stmts.append(f"CREATE TABLE IF NOT EXISTS {table} ({cols}{key})")
    return stmts


def _stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "meta" not in tables:
        if tables:
            return -1  # a DuckDB file, but someone else's
        return None
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else -1


def ensure_schema(con: duckdb.DuckDBPyConnection, path: Path, *, read_only: bool) -> None:
    """Create the schema in a new file, or check the version of an existing one."""
    version = _stored_version(con)
    if version == -1:
        raise StoreError(
            f"{path} is a DuckDB database but not a wattlens store (no schema_version in meta); "
            "pass a new path or the file `wattlens serve` created"
        )
    if version is not None and version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} has store schema v{version}, newer than this wattlens (v{SCHEMA_VERSION}); "
            "upgrade wattlens to read it"
        )
    if read_only:
        if version is None:
            raise StoreError(
                f"{path} has no wattlens tables and was opened read-only; "
                "run `wattlens serve` (or open it writable) once to create them"
            )
        if version < SCHEMA_VERSION:
            raise StoreError(
                f"{path} has store schema v{version}, older than this wattlens "
                f"(v{SCHEMA_VERSION}); open it once for writing (e.g. `wattlens collect` or "
                "`wattlens serve`) to upgrade it in place"
            )
        return
    con.execute("BEGIN TRANSACTION")
    try:
        for stmt in _ddl():
            con.execute(stmt)
        if version is not None and version < 2:
            for table in TIER_TABLES.values():
                con.execute(f"ALTER TABLE {table} ADD COLUMN cached_prompt_tokens DOUBLE")
        con.execute(
            "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE "
            "SET value = excluded.value",
            [str(SCHEMA_VERSION)],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


__all__ = [
    "ALIGN_S",
    "BUCKET_S",
    "DEFAULT_DB_PATH",
    "DEPLOYMENT_TYPES",
    "DEPLOYMENT_DTYPES",
    "INTERVAL_DTYPES",
    "NUMPY_DTYPES",
    "INTERVAL_TYPES",
    "NULLABLE_INTERVAL_COLUMNS",
    "SCHEMA_VERSION",
    "TIER_TABLES",
    "Tier",
    "ensure_schema",
]
