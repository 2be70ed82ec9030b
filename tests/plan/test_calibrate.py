"""Logistic power calibration: recovers a planted curve from points and from a real DuckDB store
(ground truth planted by the generator below), round-trips through JSON/TOML, and plugs into
plan_tokw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wattlens.core.errors import InputError
from wattlens.plan import plan_tokw
from wattlens.plan.calibrate import (
    calibrate_from_store,
    fit_power_curve,
    load_power_profile,
    save_power_profile,
)
from wattlens.store import Store

from .history import truth_watts, write_history


def test_fit_recovers_a_planted_curve_with_noise() -> None:
    rng = np.random.default_rng(7)
    b = 2.0 ** rng.uniform(0, 9, 400)
    p = truth_watts(b) * (1 + rng.normal(0, 0.01, b.size))
    fit = fit_power_curve(b, p)
    assert fit.p_idle_watts == pytest.approx(250, rel=0.03)
    assert fit.p_nominal_watts == pytest.approx(650, rel=0.03)
    assert fit.x0 == pytest.approx(4.5, abs=0.15)
    assert fit.k == pytest.approx(1.3, rel=0.1)
    assert fit.mape_percent < 1.5 and fit.rmse_watts < 8
    assert set(fit.stderr) == {"p_idle_watts", "p_nominal_watts", "x0", "k"}
    assert all(0 < v < 20 for v in fit.stderr.values()) and fit.points == 400


def test_too_few_points_is_an_input_error() -> None:
    with pytest.raises(InputError, match="need at least 5 points"):
        fit_power_curve([1, 2, 3], [300, 310, 320])
    with pytest.raises(InputError, match="3 batch sizes"):
        fit_power_curve([8] * 10, [400] * 10)


def test_calibrate_from_a_real_store_recovers_the_planted_curve(tmp_path: Path) -> None:
    with Store.open(tmp_path / "w.duckdb") as store:
        write_history(store)
        fit = calibrate_from_store(store, "llm/qwen")
        assert fit.p_nominal_watts == pytest.approx(650, rel=0.05)
        assert fit.x0 == pytest.approx(4.5, abs=0.3)
        assert "llm/qwen" in fit.source and fit.points < 300  # running < 1 left out
        with pytest.raises(InputError, match="no stored intervals"):
            calibrate_from_store(store, "llm/none")


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_profile_round_trip_and_use_in_plan_tokw(tmp_path: Path, suffix: str) -> None:
    rng = np.random.default_rng(3)
    b = 2.0 ** rng.uniform(0, 9, 200)
    fit = fit_power_curve(b, truth_watts(b), source="test fit 2026")
    path = save_power_profile(fit, tmp_path / f"p{suffix}")
    back = load_power_profile(path)
    assert back == fit
    r = plan_tokw("llama-3.1-8b", "H100-SXM", contexts=[8192], power_profile=back)
    n = r.rows[0]["max_concurrency"]
    assert r.rows[0]["power_watts_per_gpu"] == pytest.approx(float(back.watts(n)))
    assert "fitted power" in r.profile
    (tmp_path / "bad.json").write_text('{"p_idle_watts": 1}')
    with pytest.raises(InputError, match="missing"):
        load_power_profile(tmp_path / "bad.json")
