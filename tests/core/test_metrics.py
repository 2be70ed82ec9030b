"""The metric vocabulary against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from wattlens.core.metrics import (
    LEGACY_NAMES,
    NAMES,
    Totals,
    compute,
    compute_arrays,
    compute_many,
)

# 10 min at 300 W with 12,000 prompt and 6,000 output tokens; 50 g CO2.
WINDOW = Totals(seconds=600.0, energy_joules=180_000.0, prompt_tokens=12_000.0,
                generation_tokens=6_000.0, co2_grams=50.0, requests_finished=60.0,
                itl_seconds_sum=120.0)  # fmt: skip


def test_hand_computed_window() -> None:
    got = compute(WINDOW, min_tokens_per_s=5.0)
    assert got["power_watts"] == pytest.approx(300.0)
    assert got["tokens_per_s"] == pytest.approx(30.0)
    assert got["prompt_tokens_per_s"] == pytest.approx(20.0)
    assert got["generation_tokens_per_s"] == pytest.approx(10.0)
    assert got["joules_per_token"] == pytest.approx(10.0)  # 180 kJ / 18,000 tokens
    assert got["joules_per_output_token"] == pytest.approx(30.0)
    assert got["co2_grams_per_hour"] == pytest.approx(300.0)  # 50 g in 1/6 h
    assert got["co2_mg_per_token"] == pytest.approx(50_000.0 / 18_000.0)
    assert got["requests_per_s"] == pytest.approx(0.1)
    assert got["decode_tokens_per_s"] == pytest.approx(50.0)  # 6,000 tokens / 120 s decoding


def test_cut_off_is_exclusive_and_only_for_ratios() -> None:
    at = compute(WINDOW, min_tokens_per_s=30.0)  # exactly 30 tokens/s: not above
    assert at["joules_per_token"] is None and at["co2_mg_per_token"] is None
    assert at["joules_per_output_token"] is None
    assert at["power_watts"] == pytest.approx(300.0)
    assert compute(WINDOW, min_tokens_per_s=29.9)["joules_per_token"] == pytest.approx(10.0)


def test_unknown_tokens_give_no_ratio_and_no_rate() -> None:
    gpu_only = Totals(seconds=600.0, energy_joules=180_000.0, co2_grams=50.0)
    got = compute(gpu_only, min_tokens_per_s=5.0)
    assert got["tokens_per_s"] is None and got["joules_per_token"] is None
    assert got["power_watts"] == pytest.approx(300.0)


def test_token_energy_is_the_ratio_numerator() -> None:
    fleet = Totals(seconds=1.0, energy_joules=500.0, token_energy_joules=300.0,
                   prompt_tokens=20.0, generation_tokens=10.0)  # fmt: skip
    assert compute(fleet, min_tokens_per_s=5.0)["joules_per_token"] == pytest.approx(10.0)


def test_rates_are_homogeneous_in_time() -> None:
    """Totals per second with seconds = 1 give the same metrics (how fleet series use it)."""
    per_s = Totals(seconds=1.0, energy_joules=300.0, prompt_tokens=20.0,
                   generation_tokens=10.0, co2_grams=50.0 / 600.0)  # fmt: skip
    a = compute(per_s, min_tokens_per_s=5.0)
    b = compute(WINDOW, min_tokens_per_s=5.0)
    for name in ("power_watts", "joules_per_token", "co2_grams_per_hour", "co2_mg_per_token"):
        assert a[name] == pytest.approx(b[name])


def test_many_and_arrays_match_one_at_a_time() -> None:
    windows = [WINDOW, Totals(seconds=60.0, energy_joules=6000.0), Totals(seconds=0.0)]
    many = compute_many(windows, min_tokens_per_s=5.0)
    assert many == [compute(w, min_tokens_per_s=5.0) for w in windows]
    cols = compute_arrays({"seconds": [600.0, 60.0], "energy_joules": [180_000.0, np.nan]},
                          min_tokens_per_s=5.0, names=["power_watts"])  # fmt: skip
    assert cols["power_watts"][0] == pytest.approx(300.0) and np.isnan(cols["power_watts"][1])


def test_json_names_use_one_rate_suffix_and_v1_keeps_its_own() -> None:
    assert not [n for n in NAMES if n.endswith("_per_sec")]
    assert LEGACY_NAMES["tokens_per_s"] == "tokens_per_sec"
