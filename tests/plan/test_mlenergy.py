"""Calibration against ML.ENERGY H100 measurements (Chung et al., The ML.ENERGY Benchmark,
NeurIPS Datasets and Benchmarks 2025): J/token MAPE at the measured batch sizes, goal <= 15 %,
and the spec-only B200 prediction against the 1/W authors' B200 measurements."""

from __future__ import annotations

import pytest

from wattlens.plan.mlenergy import PARAMS, b200_check, calibrate_mlenergy


@pytest.fixture(scope="module")
def cal():  # noqa: ANN201
    return calibrate_mlenergy()


def test_joules_per_token_mape_within_goal(cal) -> None:  # noqa: ANN001
    assert cal.points >= 200  # rows whose model the catalog resolves
    assert cal.mape_joules_per_token_percent <= 15.0
    assert cal.by_architecture["dense"] < cal.by_architecture["moe"]
    assert set(cal.params) == set(PARAMS) and all(v >= 0 for v in cal.params.values())


def test_b200_prediction_rows(cal) -> None:  # noqa: ANN001
    rows = b200_check(cal)
    assert [r["context_tokens"] for r in rows] == [2**k for k in range(11, 18)]
    for r in rows:
        assert r["predicted_tokens_per_watt_p5"] <= r["predicted_tokens_per_watt"]
        assert r["predicted_tokens_per_watt"] <= r["predicted_tokens_per_watt_p95"]
        # Spec-only transfer, measured: -51 % (64K) to +31 % (2K); bench/plan_model.py reports
        # the MAPE against its 20 % goal.
        assert 0.4 < r["predicted_tokens_per_watt"] / r["measured_tokens_per_watt"] < 2.0
