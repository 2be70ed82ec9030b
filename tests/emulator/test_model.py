"""The model: a pure function of time, exact counters, planted events, the power curve."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wattlens.emulator import FleetModel, Scenario, scenario_from_dict, truth
from wattlens.emulator.model import CHUNK_TICKS

from .conftest import DAY_S, START_S


def integrate_ticks(model: FleetModel, per_tick: np.ndarray, ticks: np.ndarray, a: float, b: float):
    """Rectangle rule written out: each tick's rate times its overlap with [a, b]."""
    t0 = model.start_s + ticks * model.tick_s
    overlap = np.clip(np.minimum(t0 + model.tick_s, b) - np.maximum(t0, a), 0.0, None)
    return (per_tick * overlap).sum(axis=-1)


def window_ticks(model: FleetModel, a: float, b: float) -> np.ndarray:
    return np.arange(
        math.floor((a - model.start_s) / model.tick_s),
        math.ceil((b - model.start_s) / model.tick_s),
    )


def test_state_is_a_pure_function_of_time(events: Scenario) -> None:
    times = START_S + np.array([17.3, 5120.0 * 3 + 2.5, 40000.0, 7 * 3600.0])
    cold = FleetModel(events, START_S)
    warm = FleetModel(events, START_S)
    warm.observe(START_S + DAY_S)  # fills caches in another order first
    together = cold.observe(times)
    for j, t in enumerate(times):
        single = warm.observe([t])
        for field in ("prompt_tokens", "running", "power_watts", "energy_millijoules"):
            np.testing.assert_array_equal(
                getattr(single, field)[:, 0], getattr(together, field)[:, j]
            )


def test_truth_energy_equals_independent_integration(events_model: FleetModel) -> None:
    # Window not on tick edges, across chunk boundaries, a restart, the reset and the gap.
    a = START_S + 1234.5
    b = START_S + 3 * CHUNK_TICKS * events_model.tick_s * 4 + 77.25
    ticks = window_ticks(events_model, a, b)
    power = events_model.tick_power_watts(ticks)  # (n_gpu, n)
    rate = events_model.tick_tokens_per_s(ticks)  # (n_dep, n)
    got = truth(events_model.scenario, a, b, start_of_scenario_s=START_S)
    for di, d in enumerate(events_model.scenario.deployments):
        gpus = events_model.gpu_deployment == di
        expected_j = integrate_ticks(events_model, power[gpus], ticks, a, b).sum()
        assert got[d.key].energy_joules == pytest.approx(expected_j, rel=1e-10)
        assert got[d.key].mean_power_watts == pytest.approx(expected_j / (b - a), rel=1e-10)
        tokens = integrate_ticks(events_model, rate[di], ticks, a, b)
        if d.engine == "none":
            assert got[d.key].prompt_tokens is None
            continue
        f = d.traffic.prompt_fraction
        assert got[d.key].prompt_tokens == pytest.approx(f * tokens, rel=1e-10)
        assert got[d.key].generation_tokens == pytest.approx((1 - f) * tokens, rel=1e-10)


def test_energy_counter_increase_equals_truth(events_model: FleetModel) -> None:
    # Through the 2-hour gap of mistral-7b: no samples, but the counter keeps counting.
    a, b = START_S + 9.5 * 3600, START_S + 12.5 * 3600
    obs = events_model.observe([a, b])
    got = truth(events_model.scenario, a, b, start_of_scenario_s=START_S)
    di = events_model.scenario.keys().index("research/mistral-7b")
    gpus = events_model.gpu_deployment == di
    increase_j = (obs.energy_millijoules[gpus, 1] - obs.energy_millijoules[gpus, 0]).sum() / 1000.0
    assert increase_j == pytest.approx(got["research/mistral-7b"].energy_joules, rel=1e-12)


def test_counters_monotone_except_planted_events(events_model: FleetModel) -> None:
    times = START_S + np.arange(0.0, DAY_S, 30.0)
    obs = events_model.observe(times)
    for di in range(len(events_model.scenario.deployments)):
        drops = np.flatnonzero(np.diff(obs.prompt_tokens[di]) < 0)
        restarts = events_model.restart_s[di]
        assert len(drops) == len(restarts)  # exactly one drop per restart
        for k, r in zip(drops, restarts, strict=True):
            assert times[k] < r <= times[k + 1]
        assert (np.diff(obs.requests_finished[di]) >= 0).sum() == len(times) - 1 - len(restarts)
        gpus = np.flatnonzero(events_model.gpu_deployment == di)
        for gi in gpus:
            drops = np.flatnonzero(np.diff(obs.energy_millijoules[gi]) < 0)
            assert len(drops) == len(events_model.reset_s[di])
    assert len(events_model.restart_s[0]) == 2 and len(events_model.reset_s[1]) == 1


def test_restart_gives_new_pod_zero_counters_and_idle_downtime(events_model: FleetModel) -> None:
    d = events_model.scenario.deployment("llm/llama-70b")
    r = START_S + 6 * 3600
    obs = events_model.observe([r - 1.0, r + 1.0, r + d.restart_downtime_s - 1.0])
    assert obs.generation[0].tolist() == [0, 1, 1]
    assert obs.prompt_tokens[0, 0] > 0
    assert obs.prompt_tokens[0, 1] == 0.0 and obs.prompt_tokens[0, 2] == 0.0
    assert obs.running[0, 1] == 0.0
    gpus = events_model.gpu_deployment == 0
    # No work: every GPU draws its idle curve value (idle x spread x small noise).
    assert np.all(np.abs(obs.power_watts[gpus, 1] / d.power.idle_watts_per_gpu - 1) < 0.25)


def test_energy_counter_reset_starts_from_zero(events_model: FleetModel) -> None:
    d = events_model.scenario.deployment("llm/qwen-32b")
    reset = START_S + 9 * 3600
    obs = events_model.observe([reset - 5.0, reset + 10.0])
    gpus = events_model.gpu_deployment == 1
    before, after = obs.energy_millijoules[gpus, 0], obs.energy_millijoules[gpus, 1]
    assert np.all(before > 1e9)  # large "since boot" offset
    assert np.all((after > 0) & (after <= 10.0 * 1.2 * d.power.peak_watts_per_gpu * 1000))


def test_decode_speed_and_requests_follow_the_plan(events_model: FleetModel) -> None:
    obs = events_model.observe([START_S + 3 * 3600])
    for di, d in enumerate(events_model.scenario.deployments):
        if d.engine == "none":
            continue
        gen = obs.generation_tokens[di, 0]
        assert gen / obs.itl_seconds_sum[di, 0] == pytest.approx(d.traffic.decode_tokens_per_s)
        assert gen / obs.requests_finished[di, 0] == pytest.approx(
            d.traffic.output_tokens_per_request
        )


def test_gap_marks_endpoints_down(events_model: FleetModel) -> None:
    times = START_S + np.array([9.9, 10.0, 11.9, 12.0]) * 3600
    obs = events_model.observe(times)
    di = events_model.scenario.keys().index("research/mistral-7b")
    node = events_model.node_names.index("node-b.ucsd.edu")
    assert obs.dep_up[di].tolist() == [True, False, False, True]
    assert obs.node_up[node].tolist() == [True, False, False, True]
    assert obs.node_up[events_model.node_names.index("node-a.sdsc.edu")].all()


def _curve_scenario(pattern: str) -> Scenario:
    dep = {
        "namespace": "llm", "workload": "w", "served_model_name": "m", "gpu": "H100-SXM",
        "gpu_model_name": "NVIDIA H100 80GB HBM3", "gpu_count": 2, "node": "n",
        "idle_watts_per_gpu": 90.0, "peak_watts_per_gpu": 650.0, "k": 1.3, "x0": 3.5,
        "power_noise": 0.0, "gpu_spread": 0.0, "traffic_noise": 0.0, "pattern": pattern,
        "mean_tokens_per_s": 4000.0, "prompt_fraction": 0.75, "diurnal_amplitude": 0.8,
        "decode_tokens_per_s": 50.0,
    }  # fmt: skip
    return scenario_from_dict({"name": "curve", "deployment": [dep]})


def test_power_curve_matches_the_documented_formula() -> None:
    model = FleetModel(_curve_scenario("diurnal"), START_S)
    ticks = np.arange(0, int(DAY_S / 5), 97)
    # Independent: planted diurnal traffic -> running requests -> P(b) with P(0) = idle.
    t_mid = START_S + (ticks + 0.5) * 5.0
    hour = (t_mid % DAY_S) / 3600.0
    rate = 4000.0 * (1 + 0.8 * np.cos(2 * np.pi * (hour - 20.0) / 24.0))
    b = 0.25 * rate / 50.0

    def logistic(x: np.ndarray | float) -> np.ndarray | float:
        return 1.0 / (1.0 + np.exp(-1.3 * (x - 3.5)))

    expected = 90.0 + 560.0 * (logistic(np.log2(1 + b)) - logistic(0.0)) / (1 - logistic(0.0))
    np.testing.assert_allclose(model.tick_tokens_per_s(ticks)[0], rate, rtol=1e-12)
    power = model.tick_power_watts(ticks)
    np.testing.assert_allclose(power[0], expected, rtol=1e-12)
    np.testing.assert_allclose(power[1], expected, rtol=1e-12)


def test_idle_draws_planted_idle_exactly() -> None:
    model = FleetModel(_curve_scenario("idle"), START_S)
    assert np.all(model.tick_power_watts(np.arange(1000)) == 90.0)


def test_gpu_spread_keeps_mean_idle_per_gpu(nrp: Scenario) -> None:
    model = FleetModel(nrp, START_S)
    for key in ("sdsc-llm/kimi-k2-5", "sdsc-llm/minimax-m2-5"):
        di = nrp.keys().index(key)
        per_gpu = model.tick_power_watts(np.arange(17280))[model.gpu_deployment == di].mean(axis=1)
        assert per_gpu.std() > 0  # the GPUs differ from each other...
        idle = nrp.deployment(key).power.idle_watts_per_gpu
        assert per_gpu.mean() == pytest.approx(idle, rel=2e-3)  # ...around the planted idle
