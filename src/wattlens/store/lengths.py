"""Request-length bucket increments (`request_length_buckets`, schema v3): write and read.

Rows are per-interval increments of vLLM's cumulative request-length histograms at the base step.
They are not rolled up into the 5m/1h tiers (a sum over rows of any span is the same query), and
retention does not prune them yet. A re-write of the same (deployment, interval, kind, le)
replaces the stored count, so importing a file twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from wattlens.store.db import Store
from wattlens.store.reader import StoreReader
from wattlens.store.writes import as_column

TABLE = "request_length_buckets"
_DTYPES: dict[str, type] = {"deployment_id": object, "ts_end_s": np.float64, "kind": object,
                             "le": np.float64, "count": np.float64}  # fmt: skip
Distribution = dict[str, dict[str, list[tuple[float, float]]]]
"""deployment_id -> kind ('prompt' | 'generation') -> [(le, cumulative request count)]."""


def write_length_buckets(store: Store, columns: Mapping[str, Sequence[Any] | np.ndarray]) -> int:
    """Insert or replace bucket increments (columns deployment_id, ts_end_s, kind, le, count;
    lists or numpy arrays)."""
    table = {c: as_column(c, columns[c], t) for c, t in _DTYPES.items()}  # numpy: no pyarrow
    rows = int(table["ts_end_s"].size)
    if not rows:
        return 0

    def write(con: Any) -> int:  # noqa: ANN401 - a DuckDB connection
        con.register("_new_length_buckets", table)
        try:
            con.execute(f"INSERT OR REPLACE INTO {TABLE} SELECT * FROM _new_length_buckets")
        finally:
            con.unregister("_new_length_buckets")
        return rows

    return store._write(write, "writing request-length buckets")  # noqa: SLF001 - same package


def length_distribution(
    reader: StoreReader, since_s: float | None, until_s: float | None
) -> Distribution | None:
    """Requests per (deployment, kind, le) over (since_s, until_s]; None when the reader is not a
    local store (a remote reader does not serve this table)."""
    if not isinstance(reader, Store):
        return None
    lo = -1e300 if since_s is None else since_s
    hi = 1e300 if until_s is None else until_s

    def read(con: Any) -> list[tuple[str, str, float, float]]:  # noqa: ANN401
        return con.execute(
            f"SELECT deployment_id, kind, le, sum(count) FROM {TABLE} "
            "WHERE ts_end_s > ? AND ts_end_s <= ? GROUP BY ALL ORDER BY ALL",
            [lo, hi],
        ).fetchall()

    out: Distribution = {}
    for dep, kind, le, n in reader._read(read, "reading request-length buckets"):  # noqa: SLF001
        out.setdefault(dep, {}).setdefault(kind, []).append((float(le), float(n)))
    return out


__all__ = ["TABLE", "Distribution", "length_distribution", "write_length_buckets"]
