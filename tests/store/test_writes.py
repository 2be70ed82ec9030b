"""Idempotent writes: repeated writes, the partial-vs-complete rule, bulk columns, deployments."""

from __future__ import annotations

import math
import threading
from dataclasses import replace

import numpy as np
import pytest

from wattlens.core.errors import InputError
from wattlens.core.records import INTERVAL_COLUMNS, IntervalRecord
from wattlens.store import Store

from .factories import deployment, fleet, intervals


def _expected_totals(records: list[IntervalRecord]) -> dict[str, dict[str, float | None]]:
    """Per-deployment sums in plain Python (None when every value is None)."""
    out: dict[str, dict[str, float | None]] = {}
    for dep in sorted({r.deployment_id for r in records}):
        rows = [r for r in records if r.deployment_id == dep]
        sums: dict[str, float | None] = {}
        for col in ("energy_joules", "prompt_tokens", "generation_tokens", "co2_grams"):
            vals = [getattr(r, col) for r in rows if getattr(r, col) is not None]
            sums[col] = math.fsum(vals) if vals else None
        sums["covered_s"] = math.fsum(r.interval_s for r in rows)
        out[dep] = sums
    return out


def _stored_totals(store: Store) -> dict[str, dict[str, float | None]]:
    keys = ("energy_joules", "prompt_tokens", "generation_tokens", "co2_grams", "covered_s")
    return {t["deployment_id"]: {k: t[k] for k in keys} for t in store.totals()}


def _assert_close(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for dep in want:
        for k, v in want[dep].items():
            if v is None:
                assert got[dep][k] is None, (dep, k)
            else:
                assert got[dep][k] == pytest.approx(v, rel=1e-12), (dep, k)


def test_writing_twice_changes_nothing(store: Store) -> None:
    recs = fleet(120)
    assert store.write_intervals(recs) == len(recs)
    first = store.intervals(None, tier="raw")
    store.write_intervals(recs)
    store.write_intervals(list(reversed(recs)))
    again = store.intervals(None, tier="raw")
    for col in INTERVAL_COLUMNS:
        np.testing.assert_array_equal(first[col], again[col])
    _assert_close(_stored_totals(store), _expected_totals(recs))
    assert _stored_totals(store)["batch/embed"]["prompt_tokens"] is None


def test_partial_interval_never_overwrites_complete(store: Store) -> None:
    complete = intervals(n=3)
    store.write_intervals(complete)
    partial = replace(complete[1], energy_joules=1.0, sample_count=1)
    store.write_intervals([partial])
    row = store.intervals("llm/qwen", tier="raw")
    assert row["energy_joules"][1] == complete[1].energy_joules
    assert row["sample_count"][1] == 2
    # only a more complete record replaces it (more samples, or as many over a longer
    # interval_s); an equally complete one leaves the stored record as it is
    better = replace(complete[1], energy_joules=2.0, sample_count=3)
    store.write_intervals([better])
    row = store.intervals("llm/qwen", tier="raw")
    assert row["energy_joules"][1] == 2.0 and row["sample_count"][1] == 3


def test_partial_replaced_by_later_complete(store: Store) -> None:
    rec = intervals(n=1)[0]
    store.write_intervals([replace(rec, energy_joules=5.0, sample_count=1)])
    store.write_intervals([rec])
    assert store.intervals(None, tier="raw")["energy_joules"].tolist() == [rec.energy_joules]


def test_duplicates_within_one_batch_keep_most_complete(store: Store) -> None:
    rec = intervals(n=1)[0]
    batch = [
        replace(rec, energy_joules=1.0, sample_count=3),
        replace(rec, energy_joules=2.0, sample_count=1),
        replace(rec, energy_joules=3.0, sample_count=3),  # ties: the later one wins
    ]
    assert store.write_intervals(batch) == 1
    assert store.intervals(None, tier="raw")["energy_joules"].tolist() == [3.0]


def test_columns_path_matches_records_path(store: Store) -> None:
    recs = intervals(n=50, engine=False)
    cols = {c: [getattr(r, c) for r in recs] for c in INTERVAL_COLUMNS}
    np_cols = {
        "deployment_id": np.array(cols["deployment_id"]),
        "ts_end_s": np.array(cols["ts_end_s"]),
        "interval_s": np.array(cols["interval_s"]),
        "energy_joules": np.array(cols["energy_joules"]),
        "energy_source": cols["energy_source"],
        "gpu_util_percent": np.array(
            [np.nan if v is None else v for v in cols["gpu_util_percent"]]
        ),
        "gpu_count": np.array(cols["gpu_count"]),
        "carbon_intensity_kg_per_kwh": np.array(cols["carbon_intensity_kg_per_kwh"]),
        "pue": np.array(cols["pue"]),
        "co2_grams": np.array(cols["co2_grams"]),
        "sample_count": np.array(cols["sample_count"]),
    }  # token and engine columns left out: stored NULL
    assert store.write_intervals_columns(np_cols) == 50
    got = store.intervals(None, tier="raw")
    for col in INTERVAL_COLUMNS:
        want = [np.nan if v is None else v for v in cols[col]]
        if got[col].dtype == object:
            assert got[col].tolist() == cols[col], col
        else:
            np.testing.assert_array_equal(got[col], np.array(want, dtype=float), err_msg=col)


def test_columns_path_errors(store: Store) -> None:
    with pytest.raises(InputError, match="not IntervalRecord fields"):
        store.write_intervals_columns({"ts_end_s": [1.0], "watts": [2.0]})
    with pytest.raises(InputError, match="required"):
        store.write_intervals_columns({"ts_end_s": [1.0]})
    good = {c: [getattr(intervals(n=1)[0], c)] for c in INTERVAL_COLUMNS}
    with pytest.raises(InputError, match="differ in length"):
        store.write_intervals_columns({**good, "pue": [1.0, 1.1]})
    with pytest.raises(InputError, match="'pue'"):
        store.write_intervals_columns({**good, "pue": ["high"]})


def test_deployment_upsert_keeps_first_seen_and_newest_attributes(store: Store) -> None:
    store.upsert_deployments([deployment(gpu_count=2)], 100.0)
    store.upsert_deployments([deployment(gpu_count=4, node="node-2")], 200.0)
    store.upsert_deployments([deployment(gpu_count=1, node="old")], 50.0)  # a late backfill
    store.upsert_deployments([deployment(gpu_count=4, node="node-2")], 200.0)  # repeated
    (d,) = store.deployments()
    assert (d.first_seen_s, d.last_seen_s) == (50.0, 200.0)
    assert d.info == deployment(gpu_count=4, node="node-2")


def test_bulk_write_of_an_import_sized_batch(store: Store) -> None:
    # 40 deployments x 3 days at 30 s = 345,600 records (the importer case); speed is in bench/
    recs = [r for d in range(40) for r in intervals(f"ns/d{d}", n=8640, engine=d % 2 == 0)]
    assert store.write_intervals(recs) == 345_600
    assert store.totals()[0]["covered_s"] == 8640 * 30.0


def test_threads_share_one_store(store: Store) -> None:
    # serve: a collector thread writes while web threads read through the same Store
    recs = fleet(200)
    errors: list[BaseException] = []
    done = threading.Event()

    def writer() -> None:
        try:
            for i in range(0, len(recs), 30):
                store.write_intervals(recs[i : i + 30])
                store.rollup_pending()
        except BaseException as e:  # reported by the main thread
            errors.append(e)
        finally:
            done.set()

    def reader() -> None:
        try:
            while not done.is_set():
                store.totals()
                store.series("power_watts", None, None, None, 300.0)
        except BaseException as e:
            errors.append(e)

    threads = [
        threading.Thread(target=writer),
        threading.Thread(target=reader),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    _assert_close(_stored_totals(store), _expected_totals(recs))


def test_unique_keys_writes_the_same_rows(store: Store) -> None:
    recs = intervals(n=20, engine=False)
    cols = {c: [getattr(r, c) for r in recs] for c in INTERVAL_COLUMNS}
    assert store.write_intervals_columns(cols, unique_keys=True) == 20
    got = store.intervals(None, tier="raw")
    assert got["ts_end_s"].tolist() == cols["ts_end_s"]
    assert got["deployment_id"].tolist() == cols["deployment_id"]
    # written again (a restart re-deriving the same rows): replaced by nothing, still 20 rows
    assert store.write_intervals_columns(cols, unique_keys=True) == 0
    assert store.intervals(None, tier="raw")["ts_end_s"].size == 20
