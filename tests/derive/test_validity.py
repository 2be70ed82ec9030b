"""Invalid samples are dropped and counted (issue 14): non-finite values, negative counters and
power, and energy-counter "resets" larger than any GPU could draw. Expected totals are planted:
constant power and token rates, so the truth is rate x duration (minus what a refusal loses)."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from wattlens.catalog import all_gpus
from wattlens.derive.engine import DeriveOptions, Deriver
from wattlens.derive.validity import (
    IMPLAUSIBLE_RESET,
    NEGATIVE_COUNTER,
    NEGATIVE_POWER,
    NON_FINITE,
)
from wattlens.telemetry.records import SeriesKey, SeriesSet, make_labels

STEP = 30.0
POD = "llm-a-7d9c8bfb4-x2k4p"
T = np.arange(0.0, 3600.0 + 1, STEP)
WATTS = 400.0
TOKENS_PER_S = 50.0
GPU = make_labels({"gpu": "0", "UUID": "GPU-0", "modelName": "NVIDIA RTX A6000", "Hostname": "n1",
                   "namespace": "ns", "pod": POD, "container": "vllm"})  # fmt: skip
ENGINE = make_labels({"model_name": "m", "engine": "0", "namespace": "ns", "pod": POD,
                      "container": "vllm"})  # fmt: skip


def _run(energy_mj: np.ndarray | None = None, tokens: np.ndarray | None = None,
         power_w: np.ndarray | None = None) -> tuple[dict[str, float], Deriver]:  # fmt: skip
    ss = SeriesSet()
    if energy_mj is not None:
        ss.add(SeriesKey("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", GPU), T, energy_mj)
    if power_w is not None:
        ss.add(SeriesKey("DCGM_FI_DEV_POWER_USAGE", GPU), T, power_w)
    ss.add(SeriesKey("vllm:generation_tokens_total", ENGINE), T,
           TOKENS_PER_S * T if tokens is None else tokens)  # fmt: skip
    d = Deriver(DeriveOptions(step_s=STEP))
    d.feed(ss)
    _, records = d.drain()
    energy = sum(r.energy_joules or 0.0 for r in records)
    gen = sum(r.generation_tokens or 0.0 for r in records)
    for r in records:
        assert r.energy_joules is None or (np.isfinite(r.energy_joules) and r.energy_joules >= 0)
        assert r.generation_tokens is None or r.generation_tokens >= 0
    return {"energy": energy, "gen": gen}, d


def _counter_mj() -> np.ndarray:
    return 5e9 + T * WATTS * 1000.0  # since-boot offset of 5 MJ


def test_non_finite_energy_counter_samples_are_dropped_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    e = _counter_mj()
    e[7], e[40] = np.inf, np.nan
    with caplog.at_level(logging.WARNING, logger="wattlens.derive.validity"):
        got, d = _run(energy_mj=e)
    # Dropping a reading merges its two increments: nothing is lost.
    assert got["energy"] == pytest.approx(WATTS * 3600.0, rel=1e-12)
    assert d.refused == {NON_FINITE: 2}
    assert "2 non finite value dropped" in caplog.text


def test_negative_counter_sample_is_dropped_not_taken_as_a_reset() -> None:
    tokens = TOKENS_PER_S * T
    tokens[10] = -5.0
    got, d = _run(tokens=tokens)
    assert got["gen"] == pytest.approx(TOKENS_PER_S * 3600.0, rel=1e-12)
    assert d.refused == {NEGATIVE_COUNTER: 1}


def test_energy_counter_halving_is_not_a_reset_worth_its_since_boot_value() -> None:
    e = _counter_mj()
    half = T.size // 2
    e[half:] -= e[half] * 0.5  # a glitch: the counter halves, then keeps counting
    got, d = _run(energy_mj=e)
    # The glitch's own step is credited 0; every other step counts its 400 W x 30 s.
    assert got["energy"] == pytest.approx(WATTS * (3600.0 - STEP), rel=1e-12)
    assert d.refused == {IMPLAUSIBLE_RESET: 1}


def test_a_true_reset_is_still_counted_in_full() -> None:
    e = _counter_mj()
    reset_at = 1800.0  # driver reload after the 1800 s reading: restarts at 0
    e = np.where(reset_at < T, (T - reset_at) * WATTS * 1000.0, e)
    got, d = _run(energy_mj=e)
    assert got["energy"] == pytest.approx(WATTS * 3600.0, rel=1e-12)
    assert not d.refused


def test_reset_bound_is_the_largest_catalog_tdp_times_elapsed() -> None:
    """A reset to just under / just over what the largest GPU draws in one step."""
    max_w = max(g.tdp_watts for g in all_gpus())
    for fraction, credited, refused in ((0.99, True, {}), (1.01, False, {IMPLAUSIBLE_RESET: 1})):
        e = _counter_mj()
        k = 60
        after = fraction * max_w * STEP * 1000.0
        e[k:] = after + (T[k:] - T[k]) * WATTS * 1000.0
        got, d = _run(energy_mj=e)
        want = WATTS * (3600.0 - STEP) + (after / 1000.0 if credited else 0.0)
        assert got["energy"] == pytest.approx(want, rel=1e-12), fraction
        assert d.refused == refused


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan, -250.0])
def test_bad_power_gauge_samples_are_dropped_without_numpy_warnings(bad: float) -> None:
    p = np.full(T.size, WATTS)
    p[5] = bad
    got, d = _run(power_w=p)  # pytest turns a NumPy RuntimeWarning into an error
    assert got["energy"] == pytest.approx(WATTS * 3600.0, rel=1e-12)
    assert sum(d.refused.values()) == 1
    assert d.refused.keys() <= {NON_FINITE, NEGATIVE_POWER}
