"""Idle attribution: energy of intervals that served no tokens is idle, never productive."""

from __future__ import annotations

import numpy as np
import pytest

from wattlens.analysis.data import Series
from wattlens.analysis.idle import attribute_idle


def _series(energy: list[float], tokens: list[float], gpus: float = 4.0) -> Series:
    n = len(energy)
    tok = np.asarray(tokens, dtype=np.float64)
    return Series(
        deployment_id="ns/dep",
        ts_end_s=np.arange(1.0, n + 1) * 300.0,
        interval_s=np.full(n, 300.0),
        energy_joules=np.asarray(energy, dtype=np.float64),
        prompt_tokens=tok / 2,
        generation_tokens=tok / 2,
        requests_running=np.where(tok > 0, 1.0, 0.0),
        requests_finished=np.zeros(n),
        gpu_count=np.full(n, gpus),
        co2_grams=np.asarray(energy, dtype=np.float64) / 1e3,
    )


def test_a_deployment_that_served_no_tokens_is_all_idle() -> None:
    # MiniMax in the demo: 4 GPUs at 111.75 W each (447 W) while the A100 idle learned from
    # the fleet is 83.75 W per GPU. Hand calculation: 3 intervals of 300 s at 447 W = 402.3 kJ,
    # all of it idle; the old split called 3 x (447 - 335) x 300 = 100.8 kJ productive.
    s = _series([447.0 * 300] * 3, [0.0] * 3)
    a = attribute_idle(s, 83.75)
    assert a.idle_energy_joules == pytest.approx(402_300.0)
    assert a.productive_energy_joules == pytest.approx(0.0)
    assert a.productive_co2_grams == pytest.approx(0.0)
    assert a.idle_fraction == pytest.approx(1.0)
    assert a.zero_token_energy_joules == pytest.approx(402_300.0)


def test_intervals_with_tokens_split_at_the_idle_floor() -> None:
    # Interval 1 serves tokens at 600 W: idle 4 x 83.75 x 300 = 100,500 J, productive 79,500 J.
    # Interval 2 serves none at 447 W: 134,100 J, all idle.
    s = _series([600.0 * 300, 447.0 * 300], [1000.0, 0.0])
    a = attribute_idle(s, 83.75)
    assert a.idle_energy_joules == pytest.approx(100_500.0 + 134_100.0)
    assert a.productive_energy_joules == pytest.approx(79_500.0)
    assert a.idle_fraction == pytest.approx(234_600.0 / 314_100.0)
