"""DuckDB history: deployments and interval records in raw, 5m and 1h tiers.

Modules: `db` (the `Store` object: open, transactions, error translation), `schema` (tables and
version), `writes` (idempotent upserts), `retention` (rollups and deletion), `tiers` (stitching
tiers on read), `queries`, `series` (rate time series in SQL), `export` (Parquet/CSV), `reader`
(`StoreReader`, the read methods as a Protocol for code that only reads).
"""

from wattlens.store.aggregate import Aggregate
from wattlens.store.db import SERVICE_THREADS, Store
from wattlens.store.queries import StoredDeployment
from wattlens.store.reader import StoreReader, TierName, as_tier
from wattlens.store.retention import RetentionPolicy
from wattlens.store.schema import DEFAULT_DB_PATH, SCHEMA_VERSION
from wattlens.store.series import METRICS

__all__ = [
    "DEFAULT_DB_PATH",
    "METRICS",
    "SCHEMA_VERSION",
    "SERVICE_THREADS",
    "Aggregate",
    "RetentionPolicy",
    "Store",
    "StoreReader",
    "StoredDeployment",
    "TierName",
    "as_tier",
]
