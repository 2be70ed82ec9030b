"""End to end: `wattlens bench` against a real `wattlens emulate` subprocess.

Truth comes from the emulator, not from the harness: the exact energy integral over the
bench's own window (`/truth`), the engine's token and latency counters, the GPU's catalog idle
power, and the planted step model evaluated directly (`physics.stepmodel`).
"""

from __future__ import annotations

import csv
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
# Prompts of 2048 tokens: the KV reads are 6.5 % of a batch-16 decode step (0.2 % with
# 64-token prompts: 16 x 2064 x 80 KiB per GPU at 0.7 x 2.04 TB/s = 1.9 ms of 29 ms).
N_IN_LONG, N_OUT_LONG = 2048, 32
FREE = ("eta_weights", "eta_kv", "p_floor", "p_mem")  # what `plan calibrate` fits


def _bench(url: str, *extra: str, n_in: int = N_IN, n_out: int = N_OUT) -> tuple[int, str]:
    res = CliRunner().invoke(
        app,
        [
            "bench",
            "--endpoint",
            url + "/v1",
            "--model",
            MODEL,
            "--synthetic",
            f"n_in={n_in},n_out={n_out}",
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


def _sweep(url: str, out: Path, concurrency: str, n_in: int, n_out: int) -> list[dict[str, str]]:
    code, text = _bench(url, "--concurrency", concurrency, "--rounds", "2", "--idle-seconds",
                        "0", "--sample-interval", "0.05", "--min-steady", "0.2", "--out",
                        str(out), n_in=n_in, n_out=n_out)  # fmt: skip
    assert code == 0, text
    with out.open(newline="") as f:
        return list(csv.DictReader(f))


def test_calibrate_from_bench_results_recovers_the_planted_model(
    emulate_process: Server, tmp_path: Path
) -> None:
    """bench -> `plan calibrate --bench` -> the planted parameters, within 5 %.

    Short prompts at batches 2..16 pin the weight stream and the power floor and slope; long
    prompts at two batches make the KV reads a visible share of the step, which pins eta_kv.
    (Concurrency 1 is left out: the engine idles between a request's end and the next one's
    arrival, time the step model does not hold.)
    """
    url = emulate_process.url
    rows = _sweep(url, tmp_path / "short.csv", "2,3,4,6,8,12,16", N_IN, N_OUT)
    rows += _sweep(url, tmp_path / "long.csv", "4,16", N_IN_LONG, N_OUT_LONG)
    sweep = tmp_path / "sweep.csv"
    with sweep.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    profile = tmp_path / "profile.toml"
    res = CliRunner().invoke(
        app,
        [
            "plan",
            "calibrate",
            "--bench",
            str(sweep),
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
    fitted_profile = load_step_profile(profile)
    assert "identifiable: true" in res.output
    assert (fitted_profile.identifiable, fitted_profile.reasons) == (True, ())
    fitted = fitted_profile.params
    for name in FREE:
        assert getattr(fitted, name) == pytest.approx(PLANTED[name], rel=0.05), name
    spec = EngineSpec.build(
        MODEL, GPU, COUNT, params=planted_params([f"{k}={v}" for k, v in PLANTED.items()])
    )
    # Each configuration's J/token as the emulator counted it over the bench's steady window
    # (exact energy, the tokens, prompts and steps of the steps that ended in it), against the
    # fitted model at that window's batch and prompt share.
    for r in rows:
        n_in, n_out = int(r["n_in"]), int(r["n_out"])
        truth = _truth(url, start=float(r["steady_start_s"]), end=float(r["steady_end_s"]))
        win = truth["window"]
        measured_j = truth["energy_joules"] / win["generation_tokens"]
        # The exposed energy counter is whole millijoules (dcgm-exporter's integer mJ).
        assert float(r["steady_joules_per_output_token"]) == pytest.approx(measured_j, rel=1e-5)
        batch = win["generation_tokens"] / win["steps"]
        assert float(r["steady_batch"]) == pytest.approx(batch, rel=1e-6)
        predicted_j, _ = joules_per_output_token(
            fitted, spec.hw, spec.wl, batch, n_in + n_out / 2,
            prompt_per_output=win["prompt_tokens"] / win["generation_tokens"],
        )  # fmt: skip
        assert float(predicted_j) == pytest.approx(measured_j, rel=0.05), r["concurrency"]
    # Planning: decode J/token of the fitted model against the planted one, short and long.
    for batch in (1, 4, 16):
        for kv in (N_IN + N_OUT / 2, N_IN_LONG + N_OUT_LONG / 2):
            planted_j, _ = joules_per_output_token(spec.params, spec.hw, spec.wl, batch, kv)
            fitted_j, _ = joules_per_output_token(fitted, spec.hw, spec.wl, batch, kv)
            assert float(fitted_j) == pytest.approx(float(planted_j), rel=0.05), (batch, kv)
