"""Queries: deployments, time bounds, latest windows, totals, and SQL rate series."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from wattlens.core.errors import InputError
from wattlens.core.records import IntervalRecord
from wattlens.store import METRICS, RetentionPolicy, Store

from .factories import T0, deployment, fleet


def test_deployments_and_time_bounds(store: Store) -> None:
    recs = fleet(20)
    store.upsert_deployments([deployment("llm/qwen"), deployment("batch/embed")], 10.0)
    store.write_intervals(recs)
    assert [d.info.deployment_id for d in store.deployments()] == ["batch/embed", "llm/qwen"]
    assert store.first_ts() == min(r.ts_end_s for r in recs)
    assert store.last_ts() == max(r.ts_end_s for r in recs)


def test_intervals_range_is_open_closed_and_filters_deployment(store: Store) -> None:
    recs = fleet(20)
    store.write_intervals(recs)
    lo, hi = recs[4].ts_end_s, recs[9].ts_end_s
    got = store.intervals("llm/qwen", lo, hi)
    want = [r.ts_end_s for r in recs if r.deployment_id == "llm/qwen" and lo < r.ts_end_s <= hi]
    assert got["ts_end_s"].tolist() == want
    assert set(got["deployment_id"].tolist()) == {"llm/qwen"}
    with pytest.raises(InputError, match="tier 'daily'"):
        store.intervals(None, tier="daily")  # type: ignore[arg-type]


def test_latest_window(store: Store) -> None:
    recs = fleet(60)
    store.write_intervals(recs)
    now = max(r.ts_end_s for r in recs)
    agg = store.latest(300.0)
    assert set(agg) == {"llm/qwen", "llm/llama", "batch/embed"}
    rows = [r for r in recs if r.deployment_id == "llm/qwen" and now - 300 < r.ts_end_s <= now]
    a = agg["llm/qwen"]
    assert (a.start_s, a.end_s, a.interval_count) == (now - 300, now, len(rows))
    assert a.energy_joules == pytest.approx(math.fsum(r.energy_joules for r in rows), rel=1e-12)
    assert a.power_watts == pytest.approx(math.fsum(r.energy_joules for r in rows) / 300.0)
    waiting = [(r.requests_waiting, r.interval_s) for r in rows if r.requests_waiting is not None]
    v, w = np.array(waiting).T
    assert a.requests_waiting == pytest.approx(np.average(v, weights=w), rel=1e-12)
    assert agg["batch/embed"].prompt_tokens is None
    assert agg["batch/embed"].tokens_per_s is None
    assert store.latest(300.0, now_s=T0 - 1000) == {}


def _planted_totals(store: Store) -> tuple[dict[str, dict], dict[str, tuple[list, list]]]:
    """Write the factory fleet; (totals by deployment, {engine deployment: (rows, active rows)})
    with active rows picked by hand: above 5 tokens/s."""
    recs = fleet(140)
    store.write_intervals(recs)
    got = {t["deployment_id"]: t for t in store.totals(active_min_tokens_per_s=5.0)}
    planted = {}
    for dep in ("llm/qwen", "llm/llama"):
        rows = [r for r in recs if r.deployment_id == dep]
        active = [r for r in rows if (r.prompt_tokens + r.generation_tokens) / r.interval_s > 5.0]
        planted[dep] = (rows, active)
    return got, planted


def test_totals_active_only(store: Store) -> None:
    got, planted = _planted_totals(store)
    for dep, (rows, active) in planted.items():
        assert 0 < len(active) < len(rows)  # the factory plants idle intervals
        t = got[dep]
        assert t["active_energy_joules"] == pytest.approx(
            math.fsum(r.energy_joules for r in active), rel=1e-12
        )
        assert t["active_generation_tokens"] == math.fsum(r.generation_tokens for r in active)
        assert t["active_covered_s"] == 30.0 * len(active)
        assert t["interval_count"] == len(rows)
    assert got["batch/embed"]["generation_tokens"] is None
    assert got["batch/embed"]["active_covered_s"] == 0.0


def _ref_series(records: list[IntervalRecord], step: float, thr: float = 5.0) -> dict:
    """Per bucket: fleet power (sum of per-deployment E/s), tok/s and J/token, by hand."""
    per: dict[tuple[float, str], list[IntervalRecord]] = defaultdict(list)
    for r in records:
        per[(math.ceil(r.ts_end_s / step) * step, r.deployment_id)].append(r)
    out: dict[float, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (b, _dep), rows in per.items():
        s = math.fsum(r.interval_s for r in rows)
        e = math.fsum(r.energy_joules for r in rows)
        out[b]["power_watts"] += e / s
        out[b]["co2_grams_per_hour"] += math.fsum(r.co2_grams for r in rows) / s * 3600
        if rows[0].prompt_tokens is not None:
            out[b]["tok"] += math.fsum(r.prompt_tokens + r.generation_tokens for r in rows) / s
            out[b]["power_tok"] += e / s
    for v in out.values():
        v["joules_per_token"] = v["power_tok"] / v["tok"] if v["tok"] > thr else math.nan
    return dict(sorted(out.items()))


@pytest.mark.parametrize("deployment_id", [None, "llm/qwen"])
@pytest.mark.parametrize("step", [300.0, 3600.0, 90.0])
def test_series_matches_hand_computation(
    store: Store, deployment_id: str | None, step: float
) -> None:
    recs = fleet(300)  # 150 min
    store.write_intervals([r for r in recs if r.ts_end_s <= T0 + 4500])
    if step % 300 == 0:  # drop the first hour of raw: those buckets must come from 5m/1h
        deleted = store.apply_retention(T0 + 3600 + 86400 + 10, RetentionPolicy(raw_s=86400))
        assert deleted["raw"] == 3 * 120
    else:
        store.rollup_pending()
    # the rest is not rolled up yet: the series must read it from raw
    store.write_intervals([r for r in recs if r.ts_end_s > T0 + 4500])
    chosen = [r for r in recs if deployment_id in (None, r.deployment_id)]
    ref = _ref_series(chosen, step)
    for metric in ("power_watts", "joules_per_token", "co2_grams_per_hour"):
        got = store.series(metric, deployment_id, None, None, step)
        assert got["ts_end_s"].tolist() == list(ref)
        want = np.array([v[metric] for v in ref.values()])
        np.testing.assert_allclose(got["value"], want, rtol=1e-12, equal_nan=True, err_msg=metric)
    assert np.isnan(
        store.series("joules_per_token", "batch/embed", None, None, step)["value"]
    ).all()


def test_every_metric_runs_and_bad_input_is_rejected(store: Store) -> None:
    store.write_intervals(fleet(30))
    for metric in METRICS:
        got = store.series(metric, None, T0, T0 + 3600, 300.0)
        assert len(got["ts_end_s"]) == len(got["value"]) == 3, metric
    with pytest.raises(InputError, match="watts_per_token"):
        store.series("watts_per_token", None, None, None, 60.0)
    with pytest.raises(InputError, match="step_s"):
        store.series("power_watts", None, None, None, 0.0)


def test_series_30_days_of_200_deployments_covers_every_hour(store: Store) -> None:
    hours = 30 * 24
    ts = np.tile(T0 + 3600.0 * np.arange(1, hours + 1), 200)
    n = len(ts)
    rng = np.random.default_rng(42)
    energy = rng.uniform(150, 700, n) * 3600.0
    store.write_intervals_columns(
        {
            "deployment_id": np.repeat([f"ns{i % 7}/model-{i}" for i in range(200)], hours),
            "ts_end_s": ts,
            "interval_s": np.full(n, 3600.0),
            "energy_joules": energy,
            "energy_source": ["counter"] * n,
            "prompt_tokens": rng.uniform(0, 3e6, n),
            "generation_tokens": rng.uniform(0, 1e6, n),
            "gpu_count": np.full(n, 2),
            "carbon_intensity_kg_per_kwh": np.full(n, 0.25),
            "pue": np.full(n, 1.1),
            "co2_grams": energy / 3.6e6 * 0.25 * 1.1 * 1000,
            "sample_count": np.full(n, 120),
        }
    )
    store.rollup()
    got = store.series("co2_grams_per_hour", None, T0, None, 3600.0)
    assert len(got["value"]) == hours
    assert got["covered_s"][0] == 200 * 3600.0
