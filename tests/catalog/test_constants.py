"""Cited constants, checked against the published figures they come from."""

from __future__ import annotations

import pytest

from wattlens.catalog import all_constants, constant
from wattlens.core.errors import CatalogError


def test_nrp_thresholds() -> None:
    # telemetry.md 5: CO2/token only above 5 tok/s; "active" above 0.1 tok/s; 20,160 history points.
    assert constant("min_tokens_per_s_for_ratio").value == 5.0
    assert constant("active_tokens_per_s").value == 0.1
    assert constant("legacy_history_points").value == 20160
    assert constant("legacy_history_points").value * constant("legacy_poll_interval_s").value == (
        7 * 86400
    )
    assert constant("default_pue").value == 1.0


def test_reference_frames_reproduce_the_nimbus_example() -> None:
    # carbon.md 6: G = 1,000 g at CI 0.198 -> 2.48 miles, 121.7 charges, 2,020 fridge minutes,
    # 0.571 tree-months.
    grams, ci = 1000.0, 0.198
    assert grams / constant("car_co2_grams_per_mile").value == pytest.approx(2.48, abs=0.005)
    assert grams / constant("phone_charge_co2_grams").value == pytest.approx(121.7, abs=0.05)
    fridge_kw = constant("fridge_power_watts").value / 1000
    assert grams / (fridge_kw * ci * 1000) * 60 == pytest.approx(2020, abs=1)
    tree_g = constant("tree_co2_kg_per_month").value * 1000
    assert grams / tree_g == pytest.approx(0.571, abs=0.0005)


def test_ranges_and_oviedo_median() -> None:
    pue = constant("pue_typical")
    assert (pue.extra["low"], pue.extra["high"]) == (1.1, 1.5)
    ov = constant("pue_oviedo_v1")
    # log-normal median of a P5-P95 range is the geometric mean (papers.md 2)
    assert ov.value == pytest.approx((ov.extra["low"] * ov.extra["high"]) ** 0.5, abs=5e-4)


def test_all_constants_and_unknown() -> None:
    assert "frontier_ratio_more_threshold" in all_constants()
    with pytest.raises(CatalogError, match="min_tokens_per_s_for_ratio"):
        constant("min_token_per_s_for_ratio")
