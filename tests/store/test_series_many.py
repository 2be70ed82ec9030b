"""`series_many` (several metrics over one read) and the exact active-only CO2 in `totals`."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wattlens.core.errors import InputError
from wattlens.store import RetentionPolicy, Store
from wattlens.store.series import _plan

from .factories import T0, fleet
from .test_queries import _planted_totals, _ref_series

LEGACY = ["power_watts", "co2_grams_per_hour", "co2_mg_per_token"]


def _ref_mg_per_token(records: list, step: float, thr: float = 5.0) -> dict[float, float]:
    """Per bucket: sum of per-deployment CO2 g/s over sum of tok/s (engine deployments), in mg."""
    per: dict[tuple[float, str], list] = {}
    for r in records:
        per.setdefault((math.ceil(r.ts_end_s / step) * step, r.deployment_id), []).append(r)
    g_s: dict[float, float] = {}
    tok_s: dict[float, float] = {}
    for (b, _), rows in per.items():
        if rows[0].prompt_tokens is None:
            continue
        s = math.fsum(r.interval_s for r in rows)
        g_s[b] = g_s.get(b, 0.0) + math.fsum(r.co2_grams for r in rows) / s
        tok_s[b] = (
            tok_s.get(b, 0.0) + math.fsum(r.prompt_tokens + r.generation_tokens for r in rows) / s
        )
    return {b: g_s[b] * 1000 / tok_s[b] if tok_s[b] > thr else math.nan for b in sorted(g_s)}


@pytest.mark.parametrize("deployment_id", [None, "llm/llama"])
def test_three_metrics_in_one_read_match_hand_computation(
    store: Store, deployment_id: str | None
) -> None:
    recs = fleet(300)
    store.write_intervals([r for r in recs if r.ts_end_s <= T0 + 4500])
    # the first hour only in 5m/1h (raw deleted), the tail only in raw (not rolled up)
    store.apply_retention(T0 + 3600 + 86400 + 10, RetentionPolicy(raw_s=86400))
    store.write_intervals([r for r in recs if r.ts_end_s > T0 + 4500])
    chosen = [r for r in recs if deployment_id in (None, r.deployment_id)]
    for step in (300.0, 3600.0):
        got = store.series_many(LEGACY, deployment_id, None, None, step)
        ref = _ref_series(chosen, step)
        assert got["ts_end_s"].tolist() == list(ref)
        for metric in ("power_watts", "co2_grams_per_hour"):
            want = [v[metric] for v in ref.values()]
            np.testing.assert_allclose(got[metric], want, rtol=1e-12, err_msg=metric)
        mg = _ref_mg_per_token(chosen, step)
        np.testing.assert_allclose(
            got["co2_mg_per_token"], list(mg.values()), rtol=1e-12, equal_nan=True
        )
        assert got["covered_s"].tolist() == pytest.approx(
            [math.fsum(r.interval_s for r in chosen if math.ceil(r.ts_end_s / step) * step == b)
             for b in ref]
        )  # fmt: skip


def test_the_query_reads_only_the_columns_its_metrics_need() -> None:
    _, per_dep, source = _plan(LEGACY)
    assert set(source) == {
        "deployment_id", "ts_end_s", "interval_s", "sample_count", "energy_joules",
        "co2_grams", "prompt_tokens", "generation_tokens",
    }  # fmt: skip
    assert "running" not in per_dep and "util" not in per_dep
    assert "gpu_util_percent" in _plan(["gpu_util_percent"])[2]


def test_bad_input(store: Store) -> None:
    with pytest.raises(InputError, match="'bogus' is unknown"):
        store.series_many(["power_watts", "bogus"], None, None, None, 300.0)
    with pytest.raises(InputError, match="at least one metric"):
        store.series_many([], None, None, None, 300.0)
    with pytest.raises(InputError, match="tier 'daily'"):
        store.series_many(["power_watts"], None, None, None, 300.0, tier="daily")  # type: ignore[arg-type]


def test_totals_active_co2_is_the_exact_sum(store: Store) -> None:
    # the factory varies grid intensity per interval, so energy pro rata would be off
    got, planted = _planted_totals(store)
    for dep, (rows, active) in planted.items():
        want = math.fsum(r.co2_grams for r in active)
        assert got[dep]["active_co2_grams"] == pytest.approx(want, rel=1e-12)
        pro_rata = (
            math.fsum(r.energy_joules for r in active)
            * math.fsum(r.co2_grams for r in rows)
            / math.fsum(r.energy_joules for r in rows)
        )
        assert abs(pro_rata - want) / want > 1e-6  # the difference this column removes
    assert got["batch/embed"]["active_co2_grams"] is None  # no tokens: never active
