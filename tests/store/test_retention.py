"""Rollups against an independent computation; retention deletes only what is rolled up."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from wattlens.core.errors import ConfigError
from wattlens.core.records import INTERVAL_COLUMNS, IntervalRecord
from wattlens.core.units import SECONDS_PER_DAY
from wattlens.store import RetentionPolicy, Store

from . import rollup_ref
from .factories import T0, fleet, intervals


def _irregular() -> list[IntervalRecord]:
    """Unequal intervals (15/30/45/90 s, as after scrape gaps), so weighting matters."""
    out, ts = [], T0 + 7.0
    for i, r in enumerate(intervals("llm/irregular", n=200)):
        length = (15.0, 30.0, 45.0, 90.0)[i % 4]
        ts += length
        out.append(replace(r, ts_end_s=ts, interval_s=length))
    return out


def _mixed() -> list[IntervalRecord]:
    # 2 h 5 min of data (a partial last bucket), unaligned 60 s steps, and unequal intervals
    return (
        fleet(250) + intervals("llm/offset", n=100, start_s=T0 + 15.0, step_s=60.0) + _irregular()
    )


@pytest.mark.parametrize(("tier", "bucket_s"), [("5m", 300.0), ("1h", 3600.0)])
def test_rollup_matches_independent_computation(store: Store, tier: str, bucket_s: float) -> None:
    recs = _mixed()
    store.write_intervals(recs)
    store.rollup()
    rollup_ref.assert_matches(
        store.intervals(None, tier=tier),
        rollup_ref.rollup(recs, bucket_s),  # type: ignore[arg-type]
    )


def _tiers(store: Store) -> dict[str, dict[str, np.ndarray]]:
    return {t: store.intervals(None, tier=t) for t in ("5m", "1h")}  # type: ignore[misc]


def test_rollup_is_idempotent(store: Store) -> None:
    store.write_intervals(_mixed())
    store.rollup()
    before = _tiers(store)
    store.rollup()
    store.rollup(T0 + 600, T0 + 4000)
    assert store.rollup_pending() == 0  # nothing written since
    after = _tiers(store)
    for t in before:
        for col in INTERVAL_COLUMNS:
            np.testing.assert_array_equal(before[t][col], after[t][col], err_msg=f"{t}.{col}")


def test_late_writes_refresh_buckets(store: Store) -> None:
    recs = _mixed()
    half = len(recs) // 2
    store.write_intervals(recs[:half])
    store.rollup_pending()
    # the rest, plus one earlier interval re-sent more complete (more samples, other energy)
    fixed = replace(recs[10], energy_joules=recs[10].energy_joules * 2, sample_count=3)
    final = recs[half:] + [fixed]
    store.write_intervals(final)
    assert store.rollup_pending() > 0
    truth = recs[:10] + [fixed] + recs[11:]
    for tier, bucket in (("5m", 300.0), ("1h", 3600.0)):
        rollup_ref.assert_matches(
            store.intervals(None, tier=tier),  # type: ignore[arg-type]
            rollup_ref.rollup(truth, bucket),
        )


def _sums(records: list[IntervalRecord], lo: float = -math.inf) -> dict[str, float]:
    rows = [r for r in records if r.ts_end_s > lo]
    return {
        "energy_joules": math.fsum(r.energy_joules or 0.0 for r in rows),
        "generation_tokens": math.fsum(r.generation_tokens or 0.0 for r in rows),
        "co2_grams": math.fsum(r.co2_grams or 0.0 for r in rows),
        "covered_s": math.fsum(r.interval_s for r in rows),
    }


def test_retention_keeps_totals_across_deleted_raw(store: Store) -> None:
    days = 3
    recs = intervals("llm/qwen", n=days * 2880) + intervals("llm/llama", n=days * 2880, gpu_count=4)
    store.write_intervals(recs)
    now = T0 + days * SECONDS_PER_DAY + 1234.0
    policy = RetentionPolicy(raw_s=SECONDS_PER_DAY, five_min_s=2 * SECONDS_PER_DAY)
    deleted = store.apply_retention(now, policy)  # no explicit rollup first: it must do one

    raw_cut = math.floor((now - SECONDS_PER_DAY) / 3600) * 3600
    five_cut = math.floor((now - 2 * SECONDS_PER_DAY) / 3600) * 3600
    raw = store.intervals(None, tier="raw")
    assert raw["ts_end_s"].min() > raw_cut
    assert deleted["raw"] == sum(r.ts_end_s <= raw_cut for r in recs)
    assert store.intervals(None, tier="5m")["ts_end_s"].min() > five_cut
    assert deleted["1h"] == 0
    # 1h still holds every bucket, identical to a rollup of all the data
    rollup_ref.assert_matches(store.intervals(None, tier="1h"), rollup_ref.rollup(recs, 3600.0))

    auto = store.intervals(None, T0, None)
    assert set(auto["tier"].tolist()) == {"raw", "5m", "1h"}
    assert auto["ts_end_s"][auto["tier"] == "1h"].max() <= five_cut
    by_dep = {t["deployment_id"]: t for t in store.totals()}
    for dep in ("llm/qwen", "llm/llama"):
        want = _sums([r for r in recs if r.deployment_id == dep])
        mask = auto["deployment_id"] == dep
        assert auto["energy_joules"][mask].sum() == pytest.approx(want["energy_joules"], rel=1e-12)
        for k, v in want.items():
            assert by_dep[dep][k] == pytest.approx(v, rel=1e-12), (dep, k)
    # a range starting on an hour inside the deleted-raw part
    start = T0 + 6 * 3600
    got = store.totals(start, None)
    want = _sums([r for r in recs if r.deployment_id == "llm/qwen"], lo=start)
    assert got[1]["deployment_id"] == "llm/qwen"
    assert got[1]["energy_joules"] == pytest.approx(want["energy_joules"], rel=1e-12)

    # running retention again deletes nothing more and changes no totals
    assert store.apply_retention(now, policy) == {"raw": 0, "5m": 0, "1h": 0}
    again = store.totals()
    assert [t["deployment_id"] for t in again] == list(by_dep)
    for t in again:  # DuckDB sums in parallel, so the last bits may differ between runs
        before = by_dep[t["deployment_id"]]
        assert t.keys() == before.keys()
        for k, v in t.items():
            assert v == (pytest.approx(before[k], rel=1e-12) if isinstance(v, float) else before[k])


def test_partial_backfill_into_deleted_range_keeps_buckets(store: Store) -> None:
    recs = intervals(n=2880)
    store.write_intervals(recs)
    now = T0 + 2 * SECONDS_PER_DAY
    store.apply_retention(now, RetentionPolicy(raw_s=3600.0))
    before = store.totals()
    hourly = store.intervals(None, tier="1h")
    # a late, less complete copy of one old interval (its raw hour is gone)
    store.write_intervals([replace(recs[5], energy_joules=1.0, sample_count=1)])
    store.rollup_pending()
    assert store.totals() == before
    np.testing.assert_array_equal(
        store.intervals(None, tier="1h")["energy_joules"], hourly["energy_joules"]
    )


def test_policy_validation() -> None:
    with pytest.raises(ConfigError, match="raw_s"):
        RetentionPolicy(raw_s=0)
    with pytest.raises(ConfigError, match="five_min_s"):
        RetentionPolicy(five_min_s=float("nan"))
    assert RetentionPolicy(hourly_s=None).keep_s("1h") is None
