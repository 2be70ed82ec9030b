"""Deployments on the physics core (`power_curve = "step"`): the emulator's step time and power
come from `physics.stepmodel` with planted parameters, and its counters stay exact."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from wattlens.catalog import get_gpu, get_model
from wattlens.core.errors import InputError
from wattlens.emulator import FleetModel, scenario_from_dict, truth
from wattlens.physics.stepmodel import decode_step
from wattlens.physics.stepspec import hardware, workload

from .conftest import START_S

PLANTED = {"step_eta_weights": 0.7, "step_eta_kv": 0.5, "step_p_floor": 0.2, "step_p_mem": 0.5}


def _scenario(**over: Any) -> dict[str, Any]:
    dep = {
        "namespace": "llm", "workload": "llama-8b", "node": "n1", "gpu": "H100-SXM",
        "gpu_model_name": "NVIDIA H100 80GB HBM3", "gpu_count": 1,
        "served_model_name": "meta-llama/Llama-3.1-8B-Instruct", "model": "llama-3.1-8b",
        "power_curve": "step", "idle_watts_per_gpu": 225.0, "peak_watts_per_gpu": 700.0,
        "power_noise": 0.0, "gpu_spread": 0.0, "pattern": "constant", "traffic_noise": 0.0,
        "mean_tokens_per_s": 5000.0, "prompt_fraction": 0.75, "output_tokens_per_request": 300.0,
        **PLANTED, **over,
    }  # fmt: skip
    return {"name": "step", "tick_s": 5.0, "deployment": [dep]}


def _affine_step(params: Any) -> tuple[float, float, float, float]:
    """(A, B, power at b) pieces by hand: for a dense model tau(b) = A + B b for b >= 1."""
    m, g = get_model("llama-3.1-8b"), get_gpu("H100-SXM")
    hw, wl = hardware(g, "bf16"), workload(m, 1, "bf16")
    kv, ppo = 300 * 3.0 + 150.0, 3.0  # prompt 900 + output 300 / 2; 3 prompt per output
    s1, s2 = (decode_step(params, hw, wl, b, kv, prefill_tokens_per_step=b * ppo) for b in (1, 2))
    slope = float(s2.step_s - s1.step_s)
    return float(s1.step_s) - slope, slope, kv, ppo


def test_constant_load_matches_the_closed_form_littles_law() -> None:
    sc = scenario_from_dict(_scenario())
    model = FleetModel(sc, START_S)
    params = model.planted[0].params
    a, b_slope, kv, ppo = _affine_step(params)
    gen = 5000.0 * 0.25
    running = gen * a / (1.0 - gen * b_slope)  # b = G (A + B b), solved by hand
    obs = model.observe(START_S + np.array([600.0, 1200.0]))
    assert obs.running[0, 0] == pytest.approx(running, rel=1e-9)
    tau = a + b_slope * running
    # ITL counter: every output token took one step
    d_itl = obs.itl_seconds_sum[0, 1] - obs.itl_seconds_sum[0, 0]
    d_gen = obs.generation_tokens[0, 1] - obs.generation_tokens[0, 0]
    assert d_itl / d_gen == pytest.approx(tau, rel=1e-9)
    # J per output token = P tau / b, with P from the planted step model at that batch
    m, g = get_model("llama-3.1-8b"), get_gpu("H100-SXM")
    step = decode_step(params, hardware(g, "bf16"), workload(m, 1, "bf16"), running, kv,
                       prefill_tokens_per_step=running * ppo)  # fmt: skip
    t = truth(sc, START_S + 600.0, START_S + 1200.0, start_of_scenario_s=START_S)["llm/llama-8b"]
    assert t.energy_joules / t.generation_tokens == pytest.approx(
        float(step.power_watts) * tau / running, rel=1e-9
    )
    assert t.itl_seconds_sum == pytest.approx(d_itl, rel=1e-12)
    assert t.step_params is not None and t.step_params["eta_kv"] == 0.5


def test_no_load_draws_the_planted_idle_exactly() -> None:
    model = FleetModel(scenario_from_dict(_scenario(pattern="idle")), START_S)
    assert np.all(model.tick_power_watts(np.arange(100)) == 225.0)


def test_light_load_is_busy_part_of_the_time_at_batch_one() -> None:
    # b < 1: the GPU runs batch 1 a share b of the time, else idles
    model = FleetModel(scenario_from_dict(_scenario(mean_tokens_per_s=40.0)), START_S)
    a, b_slope, _, _ = _affine_step(model.planted[0].params)
    running, itl, curve = model.load_state(np.array([[40.0]]))
    tau1 = a + b_slope
    assert float(running[0, 0]) == pytest.approx(10.0 * tau1, rel=1e-9) and running[0, 0] < 1
    assert float(itl[0, 0]) == pytest.approx(tau1, rel=1e-9)
    m, g = get_model("llama-3.1-8b"), get_gpu("H100-SXM")
    p1 = decode_step(model.planted[0].params, hardware(g, "bf16"), workload(m, 1, "bf16"), 1.0,
                     1050.0, prefill_tokens_per_step=3.0).power_watts  # fmt: skip
    assert float(curve[0, 0]) == pytest.approx(225.0 + float(running[0, 0]) * (p1 - 225.0))


def test_step_curve_needs_a_catalog_model() -> None:
    raw = _scenario()
    del raw["deployment"][0]["model"]
    with pytest.raises(InputError, match="needs model"):
        scenario_from_dict(raw)
    with pytest.raises(InputError, match="llm/llama-8b"):
        FleetModel(scenario_from_dict(_scenario(model="no-such-model")), START_S)
    with pytest.raises(InputError, match="eta_kv"):
        FleetModel(scenario_from_dict(_scenario(step_eta_kv=3.0)), START_S)
