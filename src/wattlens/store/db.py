"""`Store`: the DuckDB file holding deployments and interval history.

DuckDB lets one process open a file for writing, and no other process may open it at all while
it does. `wattlens serve` owns the file; other commands read through its API, or open the file
(read-only) when no server runs. Within a process, one `Store` may be shared by threads: writes
are serialised by a lock, reads use their own cursor. Commits go through DuckDB's write-ahead
log, so a killed process loses at most the transaction in flight.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb
import numpy as np

from wattlens.catalog.constants import constant
from wattlens.core.errors import InputError, StoreError
from wattlens.core.records import DeploymentInfo, IntervalRecord
from wattlens.store import export as _export
from wattlens.store import queries, retention, series, writer, writes
from wattlens.store.aggregate import Aggregate
from wattlens.store.queries import StoredDeployment
from wattlens.store.reader import StoreReader, TierName, as_tier
from wattlens.store.retention import RetentionPolicy
from wattlens.store.schema import DEFAULT_DB_PATH, ensure_schema

_T = TypeVar("_T")
_Con = duckdb.DuckDBPyConnection

# DuckDB's defaults (80 % of RAM, a thread per core) let a service's RSS grow with its reads, and
# it keeps memory freed in bulk (a query's hash tables) until 512 MiB pile up: ~60 MB held after
# an upsert of 72,000 rows. Freed past 1 MB: 3 such upserts + rollup 224 -> 166 MB, same CPU.
DEFAULT_MEMORY_LIMIT = "256MB"
DEFAULT_THREADS = min(4, os.cpu_count() or 1)
# serve/collect write small batches, where DuckDB's worker threads add CPU, not speed: 144,000
# rows upserted 0.32-0.43 CPU-s on 1 thread, 0.50-0.53 on 2 (2 cores); rollup 0.10 vs 0.15.
SERVICE_THREADS = 1
_ALLOCATOR = {"allocator_bulk_deallocation_flush_threshold": "1MB"}


def _cutoff(min_tokens_per_s: float | None) -> float:
    """The ratio cut-off in tokens/s: the caller's (from the config), else the catalog's."""
    if min_tokens_per_s is not None:
        return float(min_tokens_per_s)
    return float(constant("min_tokens_per_s_for_ratio").value)


class Store:
    """The DuckDB store; open with `Store.open(path)` and close (or use as a context manager).

    Its read methods make up `wattlens.store.StoreReader`; code that only reads takes that.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
        """Wrap an open connection; use `Store.open` instead."""
        self._root = con  # only hands out cursors, so creating one never waits on a query
        self._con = con.cursor()  # the write connection, used under the lock
        self.path = path
        self.read_only = read_only
        self._lock = threading.RLock()
        self._tx_depth = 0

    @classmethod
    def open(
        cls,
        path: str | Path = DEFAULT_DB_PATH,
        *,
        read_only: bool = False,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
        threads: int = DEFAULT_THREADS,
    ) -> Store:
        """Open (creating if needed) a store file; raises StoreError naming the path and fix.
        `memory_limit` ("256MB") caps DuckDB's buffer pool and `threads` its worker threads."""
        p = Path(path)
        if p.is_dir():
            raise StoreError(
                f"{p} is a directory; pass a file path such as {p / 'wattlens.duckdb'}"
            )
        settings: dict[str, str | int] = {"memory_limit": memory_limit, "threads": threads}
        try:
            con = duckdb.connect(str(p), read_only=read_only, config={**settings, **_ALLOCATOR})
        except duckdb.Error as e:
            raise writer.open_error(p, e, read_only) from e
        try:
            ensure_schema(con, p, read_only=read_only)
        except duckdb.Error as e:
            con.close()
            raise StoreError(f"cannot set up store {p}: {e}; check the file is writable") from e
        except BaseException:
            con.close()
            raise
        return cls(con, p, read_only)

    def close(self) -> None:
        """Close the file (checkpointing the write-ahead log)."""
        with self._lock:
            self._con.close()
            self._root.close()
        if not self.read_only:
            writer.withdraw(self.path)

    def announce_writer(self, command: str, url: str | None = None) -> None:
        """Say which command holds this file for writing, and where it serves its API."""
        writer.announce(self.path, command, url)

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, read_only={self.read_only})"

    # -- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one commit; an exception rolls all of them back. Nests."""
        if self.read_only:
            raise StoreError(
                f"{self.path} is open read-only; open it without read_only=True to write"
            )
        with self._lock:
            if self._tx_depth:
                self._tx_depth += 1
                try:
                    yield
                finally:
                    self._tx_depth -= 1
                return
            self._run(lambda: self._con.execute("BEGIN TRANSACTION"), "starting a write")
            self._tx_depth = 1
            try:
                yield
            except BaseException:
                self._tx_depth = 0
                self._con.execute("ROLLBACK")
                writes.release(self._con)
                raise
            self._tx_depth = 0
            self._run(lambda: self._con.execute("COMMIT"), "committing a write")

    def _run(self, fn: Callable[[], _T], doing: str) -> _T:
        try:
            return fn()
        except duckdb.ConstraintException as e:
            raise InputError(
                f"store {self.path} rejected a value while {doing}: {e}; "
                "fix the column it names (energy_source is counter, gauge or none; "
                "keys, interval_s, gpu_count, intensity, pue and sample_count must be set)"
            ) from e
        except duckdb.Error as e:
            raise StoreError(
                f"store {self.path} failed while {doing}: {e}; "
                "check disk space and that no other process writes the file"
            ) from e

    def _write(self, fn: Callable[[_Con], _T], doing: str) -> _T:
        with self.transaction():
            return self._run(lambda: fn(self._con), doing)

    def _read(self, fn: Callable[[_Con], _T], doing: str) -> _T:
        cur = self._root.cursor()  # a cursor per call: reads may come from any thread
        try:
            return self._run(lambda: fn(cur), doing)
        finally:
            cur.close()

    # -- writes -----------------------------------------------------------------------------

    def write_intervals(self, records: Sequence[IntervalRecord]) -> int:
        """Upsert raw interval records (idempotent); returns rows inserted or replaced."""
        table = writes.records_to_table(records)
        return self._write(lambda c: writes.write_table(c, table), "writing intervals")

    def write_intervals_columns(
        self, columns: Mapping[str, np.ndarray | list[Any]], *, unique_keys: bool = False
    ) -> int:
        """Bulk path for importers: IntervalRecord field -> equal-length array or list.

        Nullable fields may be left out (stored NULL); NaN in float arrays is stored as NULL.
        Same upsert rule as `write_intervals`. `unique_keys`: the caller vouches that no two rows
        share (deployment_id, ts_end_s), as in a derivation's output: none is chosen among."""
        table = writes.columns_to_table(columns)
        return self._write(
            lambda c: writes.write_table(c, table, unique_keys=unique_keys), "writing intervals"
        )

    def upsert_deployments(self, infos: Sequence[DeploymentInfo], seen_s: float) -> int:
        """Insert or refresh deployments seen at `seen_s` (first_seen_s kept)."""
        return self._write(
            lambda c: writes.upsert_deployments(c, infos, seen_s), "writing deployments"
        )

    def checkpoint(self) -> None:
        """Write the log into the file (DuckDB then frees the changes' index memory)."""
        self._write(lambda c: c.execute("CHECKPOINT"), "checkpointing")

    def rollup(self, start_s: float | None = None, end_s: float | None = None) -> int:
        """Recompute 5m and 1h buckets touching (start_s, end_s] from raw (None: all)."""
        return self._write(lambda c: retention.rollup(c, start_s, end_s), "rolling up")

    def rollup_pending(self) -> int:
        """Recompute only buckets changed since the last rollup (call after each write)."""
        return self._write(retention.rollup_pending, "rolling up")

    def apply_retention(
        self, now_s: float, policy: RetentionPolicy | None = None
    ) -> dict[str, int]:
        """Roll up, then delete rows past each tier's retention; returns rows deleted per tier."""
        pol = policy if policy is not None else RetentionPolicy()
        return self._write(lambda c: retention.apply_retention(c, now_s, pol), "applying retention")

    def set_meta(self, key: str, value: str) -> None:
        """Store a string under `key` (collector state)."""
        self._write(
            lambda c: c.execute(
                "INSERT INTO meta VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, str(value)],
            ),
            f"setting meta {key!r}",
        )

    # -- reads ------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """The string stored under `key`, or None."""
        row = self._read(
            lambda c: c.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone(),
            f"reading meta {key!r}",
        )
        return None if row is None else str(row[0])

    def deployments(self) -> list[StoredDeployment]:
        """All deployments (attributes in `.info`, plus first_seen_s and last_seen_s)."""
        return self._read(queries.deployments, "listing deployments")

    def last_ts(self) -> float | None:
        """ts_end_s of the newest interval, or None when empty."""
        return self._read(queries.last_ts, "reading the newest time")

    def first_ts(self) -> float | None:
        """ts_end_s of the oldest row in any tier, or None when empty."""
        return self._read(queries.first_ts, "reading the oldest time")

    def latest(self, window_s: float = 300.0, now_s: float | None = None) -> dict[str, Aggregate]:
        """Per-deployment aggregates over the last `window_s` (to now_s or the newest row)."""
        return self._read(lambda c: queries.latest(c, window_s, now_s), "reading latest")

    def intervals(
        self,
        deployment_id: str | None,
        start_s: float | None = None,
        end_s: float | None = None,
        *,
        tier: TierName = "auto",
    ) -> dict[str, np.ndarray]:
        """Rows with ts_end_s in (start_s, end_s] as numpy columns (plus `tier`).

        tier="auto" reads raw where kept and 5m, then 1h buckets where raw was deleted.
        """
        as_tier(tier)  # InputError naming the tiers
        return self._read(
            lambda c: queries.intervals(c, deployment_id, start_s, end_s, tier), "reading intervals"
        )

    def totals(
        self,
        start_s: float | None = None,
        end_s: float | None = None,
        *,
        active_min_tokens_per_s: float | None = None,
    ) -> list[dict[str, Any]]:
        """Per-deployment sums over (start_s, end_s]; see `queries.totals` for the keys."""
        return self._read(
            lambda c: queries.totals(c, start_s, end_s, _cutoff(active_min_tokens_per_s)),
            "reading totals",
        )

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
        """Bucketed rate series (fleet-wide when deployment_id is None, summed over several ids
        when it is a sequence); see `series.METRICS`."""
        as_tier(tier)  # InputError naming the tiers
        return self._read(
            lambda c: series.series(
                c,
                metric,
                deployment_id,
                start_s,
                end_s,
                step_s,
                tier=tier,
                min_tokens_per_s=_cutoff(min_tokens_per_s),
            ),
            f"reading series {metric!r}",
        )

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
        as_tier(tier)  # InputError naming the tiers
        return self._read(
            lambda c: series.series_many(
                c,
                metrics,
                deployment_id,
                start_s,
                end_s,
                step_s,
                tier=tier,
                min_tokens_per_s=_cutoff(min_tokens_per_s),
            ),
            f"reading series {list(metrics)!r}",
        )

    def export(
        self,
        path: str | Path,
        *,
        fmt: str | None = None,  # "parquet" or "csv"; validated (InputError) before writing
        tier: TierName = "raw",
        start_s: float | None = None,
        end_s: float | None = None,
    ) -> int:
        """Write intervals with deployment attributes to Parquet or CSV; returns rows written."""
        as_tier(tier)  # InputError naming the tiers
        p = Path(path)
        _export.export_format(p, fmt)  # InputError before touching the file
        cur = self._root.cursor()
        try:
            return _export.export(cur, p, fmt, tier, start_s, end_s)
        except duckdb.IOException as e:
            raise InputError(
                f"cannot write export file {p} ({str(e).splitlines()[0]}); "
                "check the directory exists and is writable"
            ) from e
        except duckdb.Error as e:
            raise StoreError(f"store {self.path} failed while exporting to {p}: {e}") from e
        finally:
            cur.close()


if TYPE_CHECKING:

    def _reads(store: Store) -> StoreReader:
        """Never called: mypy checks here that `Store` still satisfies `StoreReader`."""
        return store


__all__ = ["SERVICE_THREADS", "Store", "TierName"]
