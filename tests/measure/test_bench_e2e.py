"""End to end: `wattlens bench` against a real `wattlens emulate` subprocess.

Truth comes from the emulator, not from the harness: the exact energy integral over the
bench's own window (`/truth`), the engine's token and latency counters, the GPU's catalog idle
power, and the planted step model evaluated directly (`physics.stepmodel`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.measure.conftest import COUNT, GPU, MODEL, PLANTED
from typer.testing import CliRunner

from servers import Server
from wattlens.catalog import get_gpu
from wattlens.cli.main import app
from wattlens.emulator.engine import EngineSpec, planted_params
from wattlens.physics.stepmodel import decode_step, joules_per_output_token
from wattlens.plan.stepprofile import load_step_profile

N_IN, N_OUT = 64, 16


def _bench(url: str, *extra: str) -> tuple[int, str]:
    res = CliRunner().invoke(
        app,
        [
            "bench",
            "--endpoint",
            url + "/v1",
            "--model",
            MODEL,
            "--synthetic",
            f"n_in={N_IN},n_out={N_OUT}",
            *extra,
        ],
    )
    return res.exit_code, res.output


def _truth(url: str, **params: float) -> dict[str, Any]:
    return httpx.get(url + "/truth", params=params).json()


def test_bench_energy_tokens_latency_match_the_emulator(
    emulate_process: Server, tmp_path: Path
) -> None:
    url = emulate_process.url
    before = _truth(url)["counters_now"]
    out = tmp_path / "results.csv"
    code, text = _bench(
        url,
        "--concurrency",
        "1,4",
        "--rounds",
        "2",
        "--idle-seconds",
        "0.3",
        "--sample-interval",
        "0.05",
        "--min-steady",
        "0.2",
        "--json",
        "--out",
        str(out),
    )
    assert code == 0, text
    rows = json.loads(text)
    after = _truth(url)["counters_now"]
    assert [r["concurrency"] for r in rows] == [1, 4]
    required = {
        "concurrency",
        "max_tokens",
        "requests",
        "output_tokens",
        "prompt_tokens",
        "energy_joules",
        "power_watts",
        "joules_per_output_token",
        "joules_per_token",
        "joules_per_response",
        "tokens_per_s",
        "energy_source",
        "words_per_s",
        "responses_per_s",
        "idle_power_watts",
        "gpu_memory_used_bytes",
        "valid",
        "flags",
    }
    assert required <= set(rows[0])
    for r in rows:
        truth = _truth(url, start=r["window_start_s"], end=r["window_end_s"])
        assert r["energy_joules"] == pytest.approx(truth["energy_joules"], rel=0.01)
        n = 2 * r["concurrency"]
        assert (r["requests"], r["errors"]) == (n, 0)
        # The emulator always generates max_tokens and counts one token per prompt word.
        assert r["output_tokens"] == n * N_OUT and r["prompt_tokens"] == n * N_IN
        tokens_truth = n * N_OUT
        assert r["joules_per_output_token"] == pytest.approx(
            truth["energy_joules"] / tokens_truth, rel=0.01
        )
        assert r["tokens_per_s"] == pytest.approx(
            tokens_truth / (truth["end_s"] - truth["start_s"]), rel=0.01
        )
        assert r["energy_source"] == "emulator"
        assert r["idle_power_watts"] == pytest.approx(COUNT * get_gpu(GPU).idle_watts, rel=0.01)
    # Latency: the engine's own sums (inter-token: every token after the first).
    gen = after["generation_tokens"] - before["generation_tokens"]
    done = after["requests_finished"] - before["requests_finished"]
    itl_truth = (after["itl_seconds_sum"] - before["itl_seconds_sum"]) / (gen - done)
    ttft_truth = (after["ttft_seconds_sum"] - before["ttft_seconds_sum"]) / done
    itl_mean = sum(r["itl_mean_s"] * r["requests"] * (N_OUT - 1) for r in rows) / (gen - done)
    ttft_mean = sum(r["ttft_mean_s"] * r["requests"] for r in rows) / done
    assert itl_mean == pytest.approx(itl_truth, rel=0.05)
    # The client's TTFT adds the HTTP round trip to the engine's (loopback, busy host).
    assert ttft_truth <= ttft_mean <= ttft_truth + 0.05
    # Physics: one stream in steady state costs what the planted step model says.
    spec = EngineSpec.build(
        MODEL, GPU, COUNT, params=planted_params([f"{k}={v}" for k, v in PLANTED.items()])
    )
    j1, _ = joules_per_output_token(
        spec.params, spec.hw, spec.wl, 1, N_IN + N_OUT / 2, prompt_per_output=N_IN / N_OUT
    )
    assert rows[0]["steady_joules_per_output_token"] == pytest.approx(float(j1), rel=0.10)
    step = decode_step(spec.params, spec.hw, spec.wl, 1, N_IN + N_OUT / 2)
    assert rows[0]["itl_p50_s"] == pytest.approx(float(step.step_s), rel=0.10)
    header = out.read_text().splitlines()[0].split(",")
    for col in (
        "concurrency",
        "max_tokens",
        "energy_joules",
        "joules_per_output_token",
        "steady_batch",
        "steady_joules_per_output_token",
        "valid",
        "flags",
    ):
        assert col in header


def test_calibrate_from_bench_results_recovers_the_planted_model(
    emulate_process: Server, tmp_path: Path
) -> None:
    url = emulate_process.url
    out = tmp_path / "sweep.csv"
    code, text = _bench(
        url,
        "--concurrency",
        "1,2,3,4,6,8,12,16",
        "--rounds",
        "1",
        "--idle-seconds",
        "0",
        "--sample-interval",
        "0.05",
        "--min-steady",
        "0.2",
        "--out",
        str(out),
    )
    assert code == 0, text
    profile = tmp_path / "profile.toml"
    res = CliRunner().invoke(
        app,
        [
            "plan",
            "calibrate",
            "--bench",
            str(out),
            "--model",
            MODEL,
            "--gpu",
            GPU,
            "--tp",
            str(COUNT),
            "--out",
            str(profile),
        ],
    )
    assert res.exit_code == 0, res.output
    assert profile.exists()
    fitted = load_step_profile(profile).params
    spec = EngineSpec.build(
        MODEL, GPU, COUNT, params=planted_params([f"{k}={v}" for k, v in PLANTED.items()])
    )
    for batch in (1, 4, 16):
        kv = N_IN + N_OUT / 2
        planted_j, _ = joules_per_output_token(spec.params, spec.hw, spec.wl, batch, kv)
        fitted_j, _ = joules_per_output_token(fitted, spec.hw, spec.wl, batch, kv)
        assert float(fitted_j) == pytest.approx(float(planted_j), rel=0.10), batch
    assert fitted.eta_weights == pytest.approx(PLANTED["eta_weights"], rel=0.15)
