"""Export: Parquet and CSV round trips with attributes joined in; format errors."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from wattlens.core.errors import InputError
from wattlens.core.records import INTERVAL_COLUMNS
from wattlens.store import Store

from .factories import deployment, fleet


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_parquet_round_trip(db_path: Path, tmp_path: Path) -> None:
    recs = fleet(40)
    with Store.open(db_path) as s:
        s.upsert_deployments([deployment("llm/qwen", gpu_type="H100")], 1.0)
        s.write_intervals(recs)
    out = tmp_path / "history.parquet"
    with Store.open(db_path, read_only=True) as ro:  # export needs no write access
        assert ro.export(out) == len(recs)
    table = pq.read_table(out).to_pylist()
    by_key = {(r.deployment_id, r.ts_end_s): r for r in recs}
    assert len(table) == len(by_key)
    for row in table:
        rec = by_key[(row["deployment_id"], row["ts_end_s"])]
        for col in INTERVAL_COLUMNS:
            assert row[col] == getattr(rec, col), col
        assert row["time_utc"] == _iso(rec.ts_end_s)
        assert row["tier"] == "raw"
        if rec.deployment_id == "llm/qwen":
            assert (row["gpu_type"], row["namespace"], row["mig"]) == ("H100", "llm", False)
        else:  # no deployment row stored: attributes are empty, the data is still there
            assert row["namespace"] is None


def test_csv_with_range_and_tier(store: Store, tmp_path: Path) -> None:
    recs = fleet(40)
    store.write_intervals(recs)
    store.rollup()
    lo = recs[9].ts_end_s
    out = tmp_path / "window.CSV"
    n = store.export(out, start_s=lo)
    rows = list(csv.DictReader(out.open()))
    assert n == len(rows) == sum(r.ts_end_s > lo for r in recs)
    assert min(float(r["ts_end_s"]) for r in rows) > lo
    assert store.export(tmp_path / "five.txt", fmt="csv", tier="5m") == 3 * 4  # 20 min, 3 deps


def test_bad_format_and_destination(store: Store, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"suffix '\.xlsx' is not supported"):
        store.export(tmp_path / "out.xlsx")
    with pytest.raises(InputError, match="format 'json'"):
        store.export(tmp_path / "out.parquet", fmt="json")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="directory exists") as info:
        store.export(tmp_path / "missing" / "out.parquet")
    assert "missing/out.parquet" in str(info.value)
