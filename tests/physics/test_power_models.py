"""Power models: the B200 projection's midpoint and the ComputedProfile's TDP fractions
(Chen et al. 2026, papers.md 4.1-4.2)."""

from __future__ import annotations

import numpy as np
import pytest

from wattlens.physics.power import (
    decode_activity,
    logistic_power,
    logistic_x0,
    utilisation_power,
)


def test_logistic_reproduces_the_h100_fit_rows() -> None:
    # papers.md 4.2 "H100 logistic fit, P(b) [R from Eq. 1]".
    b = np.array([1, 8, 32, 256])
    assert np.round(logistic_power(b, 300, 600, 1.0, 4.2)).tolist() == [304, 369, 507, 593]


def test_b200_midpoint_is_log2_w_over_h() -> None:
    # profiles.py comment: x0 = log2(W_B200 / H_B200) ~ 4.46 (W 2.955 ms, H 0.32 ms x 3.35/8).
    assert logistic_x0(2.955e-3, 0.32e-3 * 3.35 / 8.0) == pytest.approx(4.46, abs=0.01)


def test_utilisation_power_between_43_and_86_percent_of_tdp() -> None:
    p = utilisation_power(np.array([-1.0, 0.0, 0.5, 1.0, 3.0]), 700.0)
    assert p.tolist() == pytest.approx([301, 301, 451.5, 602, 602])


def test_activity_is_kv_share_plus_flops_share() -> None:
    a = decode_activity(10, 0.02, 1e-3, 1e10, 1e15)
    assert a == pytest.approx(10 * 1e-3 / 0.02 + 10 * 1e10 / (0.02 * 1e15))
