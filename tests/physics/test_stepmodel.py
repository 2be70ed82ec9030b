"""The calibrated step/power model (wattlens.physics.stepmodel, #9): hand-calculated step time,
power limits, and the shipped default's provenance."""

from __future__ import annotations

import numpy as np
import pytest

from wattlens.core.errors import InputError
from wattlens.physics.stepmodel import (
    PARAM_NAMES,
    Hardware,
    StepParams,
    Workload,
    decode_step,
    default_params,
    joules_per_output_token,
)

H100 = Hardware(3.35e12, 989e12, 700.0, 225.0)
# Llama-3.1-8B bf16, TP 1: 16.06 GB of weights, 131,072 B of KV per token.
LLAMA8B = Workload(1, 16.06e9, 0.0, 0, 0, 131072.0, 0.0, 0, 32, 0, 2 * 8.03e9)
P = StepParams(0.8, 0.7, 0.5, 0.1, 40.0, 25.0, 70.0, 0.5, 0.2, 0.3)


def test_step_time_is_the_hand_sum_of_its_phases() -> None:
    n, kv = 64, 1000
    t_mem = 16.06e9 / (0.8 * 3.35e12) + n * kv * 131072 / (0.7 * 3.35e12)
    t_comp = n * 2 * 8.03e9 / (0.5 * 989e12)
    t_over = 32 * 40e-6
    s = decode_step(P, H100, LLAMA8B, n, kv)
    assert float(s.step_s) == pytest.approx(t_mem + t_comp + t_over)
    tau = t_mem + t_comp + t_over
    # Each phase draws its share of the idle-to-TDP range (225..700 W) for its time.
    expected = 225 + 475 * (0.5 + 0.2 * t_mem / tau + 0.3 * t_comp / tau)
    assert float(s.power_watts) == pytest.approx(expected)
    j, _ = joules_per_output_token(P, H100, LLAMA8B, n, kv)
    assert float(j) == pytest.approx(float(s.power_watts) * float(s.step_s) / n)


def test_power_stays_within_idle_and_tdp() -> None:
    hot = StepParams(0.8, 0.7, 0.5, 0.1, 40.0, 25.0, 70.0, 0.9, 1.0, 1.0)
    cold = StepParams(0.8, 0.7, 0.5, 0.1, 40.0, 25.0, 70.0, 0.0, 0.0, 0.0)
    n = np.asarray([1.0, 64.0, 4096.0])
    assert np.all(decode_step(hot, H100, LLAMA8B, n, 1000).power_watts == 700.0)
    assert np.all(decode_step(cold, H100, LLAMA8B, n, 1000).power_watts == 225.0)


def test_parameters_outside_physical_bounds_are_refused() -> None:
    with pytest.raises(InputError, match="eta_weights"):
        StepParams(1.5, 0.7, 0.5, 0.1, 40.0, 25.0, 70.0, 0.5, 0.2, 0.3).check()
    with pytest.raises(InputError, match="eta_quant"):
        StepParams(0.8, 0.7, 0.5, 0.1, 40.0, 25.0, 70.0, 0.5, 0.2, 0.3, 0.0).check()


def test_quantized_weights_pay_the_dequantisation_factor_in_both_phases() -> None:
    # FP8 Llama-3.1-8B: half the bytes and the FP8 tensor rate, each at eta_quant = 0.5, so
    # the weight stream and the GEMMs take as long as in bf16 (hand calculation).
    q = StepParams(0.8, 0.7, 0.5, 0.1, 40.0, 25.0, 70.0, 0.5, 0.2, 0.3, 0.5)
    fp8 = Workload(1, 8.03e9, 0.0, 0, 0, 131072.0, 0.0, 0, 32, 0, 2 * 8.03e9, 1.0)
    h100_fp8 = Hardware(3.35e12, 1979e12, 700.0, 225.0)
    s = decode_step(q, h100_fp8, fp8, 64, 1000)
    assert float(s.compute_s) == pytest.approx(64 * 2 * 8.03e9 / (0.5 * 0.5 * 1979e12))
    assert float(s.memory_s) == pytest.approx(
        8.03e9 / (0.8 * 0.5 * 3.35e12) + 64 * 1000 * 131072 / (0.7 * 3.35e12)
    )


def test_shipped_default_has_provenance_and_covariance() -> None:
    from wattlens.catalog.stepmodel import step_model_defaults

    params, cov = default_params()
    data = step_model_defaults()
    assert "ML.ENERGY" in data["source"] and data["date"][:4].isdigit()
    assert cov.shape == (len(PARAM_NAMES), len(PARAM_NAMES))
    assert np.allclose(cov, cov.T, atol=1e-9) and np.all(np.diag(cov) >= 0)
    assert data["fit"]["cv_dense_mape_joules_per_token_percent"] > 0
    assert params.check() is params


def test_route_spread_sets_the_experts_a_batch_reads() -> None:
    # 128 experts, top-8, 16 sequences at route_spread 0.5: 8 independent draws of 8/128, so
    # 1 - (120/128)^8 of the 57.98 GB of routed experts is read (hand calculation), plus 3 GB
    # of shared weights; no KV (0 tokens).
    moe = Workload(1, 3e9, 57.98e9, 128, 8, 98304.0, 0.0, 0, 48, 48, 2 * 3.3e9)
    r = StepParams(0.8, 0.7, 0.5, 0.1, 40.0, 25.0, 70.0, 0.5, 0.2, 0.3, 1.0, 0.5)
    s = decode_step(r, H100, moe, 16, 0)
    touched = 1 - (120 / 128) ** 8
    assert float(s.memory_s) == pytest.approx((3e9 + 57.98e9 * touched) / (0.8 * 3.35e12))
