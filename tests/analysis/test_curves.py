"""Efficiency-curve fits against planted curves (seeded noise), J/token, knee, formatting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wattlens.analysis import AnalysisOptions, fit_efficiency_curve
from wattlens.analysis.curves import bin_points, format_joules_per_token
from wattlens.core.metrics import ratio_above

OPTS = AnalysisOptions.default()
NRP_CUTOFF = 5.0  # tokens/s: nrp-carbon-api intensity.go (2026)


def _planted(x: np.ndarray, p_idle: float, p_sat: float, x0: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = p_idle + (p_sat - p_idle) * (1 - np.exp(-x / x0))
    return p * (1 + 0.01 * rng.standard_normal(x.size))


def _fit(x: np.ndarray, p: np.ndarray):  # noqa: ANN202
    ts = 1.7e9 + 30.0 * np.arange(x.size)
    return fit_efficiency_curve(x, p, ts, np.full(x.size, 30.0), OPTS)


def test_saturating_fit_recovers_planted_parameters() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 3000, 4000)
    curve = _fit(x, _planted(x, 400.0, 2400.0, 800.0, seed=2))
    assert curve.model == "saturating"
    assert curve.p_idle_watts == pytest.approx(400.0, rel=0.02)
    assert curve.p_sat_watts == pytest.approx(2400.0, rel=0.02)
    assert curve.x0_tokens_per_s == pytest.approx(800.0, rel=0.03)
    assert curve.p_idle_se_watts < 10.0
    # the band holds the planted curve at mid load
    p, se = curve.predict(1000.0)
    truth = 400 + 2000 * (1 - math.exp(-1000 / 800))
    assert abs(float(p) - truth) < 4 * float(se) + 5.0


def test_knee_on_the_saturating_curve_is_where_doubling_gains_under_10_percent() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 3000, 4000)
    curve = _fit(x, _planted(x, 400.0, 2400.0, 800.0, seed=4))
    a, rise, x0 = 400.0, 2000.0, 800.0
    x_sat = x0 * math.log(20)

    def j(v: float) -> float:
        return (a + rise * (1 - math.exp(-v / x0))) / v

    k = curve.knee_tokens_per_s
    assert k is not None and k < x_sat
    gain = 1 - j(min(2 * k, x_sat)) / j(k)
    assert gain == pytest.approx(0.10, abs=0.02)
    assert 1 - j(min(1.6 * k, x_sat)) / j(0.8 * k) > 0.10  # a bit lower still gains more


def test_narrow_load_falls_back_to_the_linear_limit_and_its_knee() -> None:
    # Constant traffic around 20 tok/s: the data cannot show a bend; P = a + s x.
    rng = np.random.default_rng(5)
    x = 20 * np.exp(0.1 * rng.standard_normal(3000))
    p = (760.0 + 1.5 * x) * (1 + 0.002 * rng.standard_normal(x.size))
    curve = _fit(x, p)
    assert curve.model == "linear"
    assert curve.p_idle_watts == pytest.approx(760.0, rel=0.01)
    assert curve.slope_joules_per_token == pytest.approx(1.5, rel=0.3)
    # doubling improves J/token by < 10 % from x = 4 a / s
    want = 4 * curve.p_idle_watts / curve.slope_joules_per_token
    assert curve.knee_tokens_per_s == pytest.approx(want)
    assert curve.knee_extrapolated


def test_best_and_current_joules_per_token() -> None:
    x = np.concatenate([np.full(200, 50.0), np.full(200, 400.0), np.full(120, 100.0)])
    p = np.concatenate([np.full(200, 300.0), np.full(200, 600.0), np.full(120, 350.0)])
    curve = _fit(x, p)
    assert curve.best_joules_per_token == pytest.approx(600.0 / 400.0)
    assert curve.best_at_tokens_per_s == pytest.approx(400.0)
    # the last hour (120 intervals of 30 s) ran at 100 tok/s and 350 W
    assert curve.current_tokens_per_s == pytest.approx(100.0)
    assert curve.current_joules_per_token == pytest.approx(3.5)


def test_no_traffic_gives_the_idle_floor_but_no_curve() -> None:
    curve = _fit(np.zeros(100), np.full(100, 248.0))
    assert curve.model == "none"
    assert curve.p_idle_watts == pytest.approx(248.0)
    assert curve.current_joules_per_token is None


def test_unknown_tokens_are_not_points() -> None:
    curve = _fit(np.full(50, np.nan), np.full(50, 100.0))
    assert curve.model == "none" and curve.sample_count == 0


def test_bins_keep_zero_traffic_apart() -> None:
    b = bin_points(np.array([0.0, 0.0, 1.0, 10.0, 100.0]), np.array([5.0, 7, 10, 20, 30]), 4)
    assert b.x[0] == 0 and b.p[0] == 6.0 and b.n[0] == 2
    assert b.n.sum() == 5


@pytest.mark.parametrize(
    ("watts", "rate", "text"),
    [
        (597, 2341, "0.26"),
        (577, 360, "1.60"),
        (783, 18, "43.5"),
        (670, 0.0, "-"),
        (6000, 10, "600"),
    ],
)
def test_joules_per_token_and_format(watts: float, rate: float, text: str) -> None:
    assert format_joules_per_token(ratio_above(watts, rate, NRP_CUTOFF)) == text


def test_ratio_threshold_is_exclusive() -> None:
    assert ratio_above(100.0, 5.0, NRP_CUTOFF) is None  # the NRP code tests > 5.0
    assert ratio_above(100.0, 5.01, NRP_CUTOFF) == pytest.approx(100 / 5.01)


def test_idle_floor_far_below_the_lowest_load_is_flagged_as_an_extrapolation() -> None:
    # gemma in the demo: planted idle 144 W (2 GPUs x 72 W), lowest load 195 tok/s. Planted
    # curve 144 + 456 (1 - exp(-x / 300)): at 195 tok/s it is 144 + 456 x 0.478 = 362 W, 151 %
    # above the floor, far beyond the 25 % within which an intercept counts as observed.
    rng = np.random.default_rng(5)
    x = rng.uniform(195.0, 900.0, 3000)
    curve = _fit(x, _planted(x, 144.0, 600.0, 300.0, seed=6))
    assert curve.idle_extrapolated
    reason = curve.idle_extrapolation_reason
    assert "extrapolated" in reason and "195 tok/s" in reason
    assert curve.as_dict()["idle_extrapolated"] is True


def test_idle_floor_near_the_observed_loads_is_not_flagged() -> None:
    # The same curve observed down to 1 tok/s (P rises 0.5 % there), and with idle intervals.
    rng = np.random.default_rng(7)
    x = rng.uniform(1.0, 900.0, 3000)
    assert not _fit(x, _planted(x, 144.0, 600.0, 300.0, seed=8)).idle_extrapolated
    x0 = np.concatenate([np.zeros(200), rng.uniform(195.0, 900.0, 3000)])
    curve = _fit(x0, _planted(x0, 144.0, 600.0, 300.0, seed=9))
    assert not curve.idle_extrapolated and curve.idle_extrapolation_reason == ""


def test_render_marks_an_extrapolated_idle_floor_with_its_reason() -> None:
    from rich.console import Console

    from wattlens.analysis.render import curves_table

    rng = np.random.default_rng(5)
    x = rng.uniform(195.0, 900.0, 3000)
    curve = _fit(x, _planted(x, 144.0, 600.0, 300.0, seed=6)).as_dict()
    result = {"deployments": [{"deployment_id": "nrp-llm/gemma", "efficiency_curve": curve}]}
    console = Console(record=True, width=300)
    console.print(curves_table(result))
    text = console.export_text()
    assert "†" in text and "nrp-llm/gemma: idle floor" in text
