"""Opening stores: schema creation, version checks, and the errors users see."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from wattlens.core.errors import StoreError
from wattlens.store import SCHEMA_VERSION, Store

from .factories import intervals
from .procs import LineReader


def test_new_file_gets_schema_and_version(db_path: Path) -> None:
    with Store.open(db_path) as s:
        assert s.get_meta("schema_version") == str(SCHEMA_VERSION)
        assert s.last_ts() is None and s.first_ts() is None
    con = duckdb.connect(str(db_path), read_only=True)
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    con.close()
    assert {"meta", "deployments", "intervals_raw", "intervals_5m", "intervals_1h"} <= tables


def test_reopen_read_only_sees_data_and_refuses_writes(db_path: Path) -> None:
    recs = intervals(n=10)
    with Store.open(db_path) as s:
        s.write_intervals(recs)
        s.set_meta("collector.cursor_s", "1700000000.5")
    with Store.open(db_path, read_only=True) as ro:
        assert ro.last_ts() == recs[-1].ts_end_s
        assert ro.get_meta("collector.cursor_s") == "1700000000.5"
        assert ro.get_meta("missing") is None
        with pytest.raises(StoreError, match="read-only"):
            ro.write_intervals(recs)


def test_set_meta_overwrites(store: Store) -> None:
    store.set_meta("k", "1")
    store.set_meta("k", "2")
    assert store.get_meta("k") == "2"


def test_not_a_duckdb_file_names_path(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.duckdb"
    bogus.write_text("this is a text file, not a database\n" * 200)
    with pytest.raises(StoreError, match="not a DuckDB database") as info:
        Store.open(bogus)
    assert str(bogus) in str(info.value)
    assert isinstance(info.value.__cause__, duckdb.Error)


def test_foreign_duckdb_file_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE sales (id INTEGER)")
    con.close()
    with pytest.raises(StoreError, match="not a wattlens store"):
        Store.open(other)


def test_newer_schema_version_refused(db_path: Path) -> None:
    Store.open(db_path).close()
    con = duckdb.connect(str(db_path))
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    con.close()
    for read_only in (False, True):
        with pytest.raises(StoreError, match="upgrade wattlens"):
            Store.open(db_path, read_only=read_only)


def test_missing_directory_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory exists") as info:
        Store.open(tmp_path / "no" / "such" / "dir" / "w.duckdb")
    assert "no/such/dir" in str(info.value)
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(tmp_path / "absent.duckdb", read_only=True)
    with pytest.raises(StoreError, match="is a directory"):
        Store.open(tmp_path)


def test_file_locked_by_another_writer(db_path: Path) -> None:
    Store.open(db_path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from wattlens.store import Store; s = Store.open(sys.argv[1]); "
            "print('ready', flush=True); sys.stdin.read(); s.close()",
            str(db_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert LineReader(holder).next(deadline_s=20) == "ready"
        for read_only in (False, True):
            with pytest.raises(StoreError, match="another process") as info:
                Store.open(db_path, read_only=read_only)
            assert str(db_path) in str(info.value)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=20)
    assert holder.returncode == 0
    # once the writer is gone, read-only opening works
    with Store.open(db_path, read_only=True) as ro:
        assert ro.last_ts() is None


def test_v1_store_is_upgraded_in_place_and_read_only_says_how(tmp_path: Path) -> None:
    """A store from before cached_prompt_tokens (schema v1) gains the column on a writable
    open; a read-only open of it says how to upgrade instead of failing on the query."""
    import duckdb

    from wattlens.core.errors import StoreError
    from wattlens.store import Store

    db = tmp_path / "old.duckdb"
    Store.open(db).close()
    con = duckdb.connect(str(db))
    for table in ("intervals_raw", "intervals_5m", "intervals_1h"):
        con.execute(f"ALTER TABLE {table} DROP COLUMN cached_prompt_tokens")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StoreError, match="open it once for writing"):
        Store.open(db, read_only=True)
    with Store.open(db) as store:
        assert store.totals() == []
    con = duckdb.connect(str(db), read_only=True)
    cols = [r[0] for r in con.execute("DESCRIBE intervals_raw").fetchall()]
    version = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    con.close()
    assert cols[-1] == "cached_prompt_tokens" and version == ("4",)  # v1 -> v4 at once


def test_store_bounds_duckdb_memory_and_threads(tmp_path: Path) -> None:
    """A long-running service caps DuckDB's buffer pool and threads (issue #11 steady RSS)."""
    with Store.open(tmp_path / "a.duckdb", memory_limit="64MB", threads=1) as store:
        limit, threads = store._con.execute(
            "select current_setting('memory_limit'), current_setting('threads')"
        ).fetchone()
    # DuckDB reports the limit in MiB: 64 MB = 64e6 / 2**20 = 61.0 MiB
    assert limit == "61.0 MiB" and int(threads) == 1


def test_store_rejects_a_malformed_memory_limit(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="Memory"):
        Store.open(tmp_path / "b.duckdb", memory_limit="lots")


def test_v3_store_keeps_its_raw_index_and_writes_by_the_same_rule(tmp_path: Path) -> None:
    """A v3 store's intervals_raw has a primary key (v4 creates none): after the upgrade, the
    same upsert rule holds on it (a more complete row replaces, a less complete one does not)."""
    from wattlens.store.schema import INTERVAL_TYPES

    db = tmp_path / "v3.duckdb"
    Store.open(db).close()
    con = duckdb.connect(str(db))  # make it what wattlens v3 wrote
    cols = ", ".join(f"{c} {t}" for c, t in INTERVAL_TYPES.items())
    con.execute("DROP TABLE intervals_raw")
    con.execute(f"CREATE TABLE intervals_raw ({cols}, PRIMARY KEY (deployment_id, ts_end_s))")
    con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    con.close()
    rec = intervals(n=1, engine=False)[0]
    with Store.open(db) as store:
        store.write_intervals([rec])
        store.write_intervals([replace(rec, sample_count=rec.sample_count + 1, energy_joules=1.0)])
        store.write_intervals([replace(rec, sample_count=1, energy_joules=2.0)])  # less complete
        got = store.intervals(None, tier="raw")
    assert got["energy_joules"].tolist() == [1.0]
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("4",)
    con.close()
    assert _raw_primary_keys(db) == 1


def test_new_store_has_no_raw_index_and_keeps_keys_unique(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    recs = intervals(n=30, engine=False)
    with Store.open(db) as store:
        for _ in range(3):  # the same rows again, and again more complete
            store.write_intervals(recs)
        store.write_intervals([replace(r, sample_count=r.sample_count + 1) for r in recs])
        got = store.intervals(None, tier="raw")
    assert got["ts_end_s"].size == 30
    assert (got["sample_count"] == [r.sample_count + 1 for r in recs]).all()
    assert _raw_primary_keys(db) == 0


def _raw_primary_keys(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    row = con.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'intervals_raw' "
        "AND constraint_type = 'PRIMARY KEY'"
    ).fetchone()
    con.close()
    return int(row[0]) if row else 0
