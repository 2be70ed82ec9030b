"""End to end (#9): emulator with planted step-model parameters -> OpenMetrics history -> `wattlens
import` (the normal derive path) into a real DuckDB store -> `wattlens plan calibrate` -> the
planner recovers the planted parameters and predicts the emulator's measured J/token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from wattlens.catalog import get_gpu, get_model
from wattlens.cli.main import app
from wattlens.emulator import scenario_from_dict, truth, write_history
from wattlens.physics.stepmodel import PARAM_NAMES, joules_per_output_token
from wattlens.physics.stepspec import hardware, workload
from wattlens.plan.stepcalibrate import DEFAULT_FREE, observations_from_store
from wattlens.plan.stepprofile import load_step_profile
from wattlens.telemetry.metrics import WANTED_METRICS

START_S = 1775001600.0  # 2026-04-01T00:00:00Z
DAY_S = 86400.0
DEPLOYMENT = "llm/llama-8b"
# The four parameters one deployment determines, moved away from the shipped defaults; the
# others keep the defaults, as `plan calibrate` assumes.
PLANTED = {"eta_weights": 0.7, "eta_kv": 0.5, "p_floor": 0.2, "p_mem": 0.5}
SCENARIO: dict[str, Any] = {
    "name": "e2e-calibrate",
    "tick_s": 5.0,
    "deployment": [
        {
            "namespace": "llm", "workload": "llama-8b", "node": "gpu-node-1", "gpu": "H100-SXM",
            "gpu_model_name": "NVIDIA H100 80GB HBM3", "gpu_count": 1,
            "served_model_name": "meta-llama/Llama-3.1-8B-Instruct", "model": "llama-3.1-8b",
            "power_curve": "step", "idle_watts_per_gpu": 225.0, "peak_watts_per_gpu": 700.0,
            "power_noise": 0.01, "gpu_spread": 0.0,
            # a day of diurnal load: about 2 to 40 requests running
            "pattern": "diurnal", "mean_tokens_per_s": 6000.0, "diurnal_amplitude": 0.85,
            "traffic_noise": 0.02, "prompt_fraction": 0.75, "output_tokens_per_request": 300.0,
            "max_num_seqs": 1024,
            **{f"step_{k}": v for k, v in PLANTED.items()},
        }
    ],
}  # fmt: skip
runner = CliRunner()


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The imported store and the profile `plan calibrate` wrote."""
    root = tmp_path_factory.mktemp("e2e")
    om, db, out = root / "history.om", root / "w.duckdb", root / "mine.toml"
    write_history(scenario_from_dict(SCENARIO), om, start_s=START_S, end_s=START_S + DAY_S,
                  step_s=15.0, wanted=WANTED_METRICS)  # fmt: skip
    res = runner.invoke(app, ["import", str(om), "--db", str(db)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["plan", "calibrate", "--deployment", DEPLOYMENT, "--db", str(db),
                              "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "identifiable: true" in res.output
    return db, out


def test_calibrate_recovers_the_planted_parameters(calibrated: tuple[Path, Path]) -> None:
    prof = load_step_profile(calibrated[1])
    se = np.sqrt(np.diag(prof.covariance))
    for name in DEFAULT_FREE:
        i = PARAM_NAMES.index(name)
        got = getattr(prof.params, name)
        # within three standard errors, each under 20 % of the planted value
        assert abs(got - PLANTED[name]) <= 3.0 * se[i], (name, got, se[i])
        assert se[i] < 0.2 * PLANTED[name], (name, se[i])


def test_planner_predicts_the_emulators_joules_per_token(calibrated: tuple[Path, Path]) -> None:
    from wattlens.store import Store

    db, out = calibrated
    prof = load_step_profile(out)
    with Store.open(db, read_only=True) as store:
        obs = observations_from_store(store, DEPLOYMENT)
        cols = store.intervals(DEPLOYMENT)
    hw, wl = hardware(get_gpu("H100-SXM"), "bf16"), workload(get_model("llama-3.1-8b"), 1, "bf16")
    pred, _ = joules_per_output_token(prof.params, hw, wl, obs.batch, obs.mean_kv_tokens,
                                      prompt_per_output=obs.prompt_per_output)  # fmt: skip
    assert np.median(np.abs(pred / obs.joules_per_token - 1.0)) < 0.05
    # The whole day: the emulator's planted truth (exact energy / generated tokens) against
    # the planner's J/token applied to each interval's load and tokens
    gen = np.asarray(cols["generation_tokens"], dtype=np.float64)
    run = np.asarray(cols["requests_running"], dtype=np.float64)
    used = np.isfinite(run) & (run >= 1.0) & np.isfinite(gen) & (gen > 0)
    assert used.sum() == pred.size and used.sum() > 0.95 * used.size
    t = truth(scenario_from_dict(SCENARIO), START_S, START_S + DAY_S, start_of_scenario_s=START_S)
    measured = t[DEPLOYMENT].energy_joules / float(t[DEPLOYMENT].generation_tokens or 1.0)
    predicted = float(np.sum(pred * gen[used]) / np.sum(gen[used]))
    assert predicted == pytest.approx(measured, rel=0.05)
