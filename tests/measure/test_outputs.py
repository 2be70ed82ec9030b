"""Grid CSV for `fit sweetspot`, ML.ENERGY layout, charts, counter wraps, and the Prometheus
energy source against a real Prometheus scraping the emulated deployment."""

from __future__ import annotations

import csv
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from servers import start_prometheus, wait_until
from wattlens.cli.main import app
from wattlens.emulator.endpoint import EmulateServer
from wattlens.measure.bench import BenchOptions, run_bench
from wattlens.measure.energy import Reading, window_energy
from wattlens.measure.output import MLENERGY_COLUMNS, mlenergy_rows, plot, write_grid, write_rows
from wattlens.plan.sweetspot_data import read_sweetspot_csv


def test_grid_writes_the_csv_fit_sweetspot_reads(emulated: EmulateServer, tmp_path: Path) -> None:
    opts = BenchOptions(endpoint=emulated.url + "/v1", model="llama-3.1-70b",
                        grid=([16, 32], [4, 8]), concurrency=[2], requests=2, idle_s=0.0,
                        sample_interval_s=0.05, min_steady_s=0.0)  # fmt: skip
    rows = run_bench(opts).rows
    assert [(r["n_in"], r["n_out"]) for r in rows] == [(16, 4), (16, 8), (32, 4), (32, 8)]
    assert all(r["output_tokens"] == 2 * r["n_out"] for r in rows)
    out = tmp_path / "grid.csv"
    write_grid(rows, out)
    with out.open() as f:
        assert next(csv.reader(f)) == ["n_in", "n_out", "energy_joules", "joules_per_output_token"]
    data = read_sweetspot_csv(out)
    assert list(data.n_in) == [16, 16, 32, 32] and list(data.n_out) == [4, 8, 4, 8]
    assert list(data.joules_per_output_token) == pytest.approx(
        [r["joules_per_output_token"] for r in rows], rel=1e-9)  # fmt: skip
    # Other outputs of the same rows: all columns, ML.ENERGY layout, charts.
    write_rows(rows, tmp_path / "all.parquet")
    assert (tmp_path / "all.parquet").stat().st_size > 0
    ml = mlenergy_rows([{**r, "valid": True} for r in rows], model="llama-3.1-70b", gpu="A100")
    assert list(ml[0]) == list(MLENERGY_COLUMNS) and ml[0]["num_gpus"] == 4
    plot(rows, tmp_path / "bench.png")
    assert (tmp_path / "bench.png").read_bytes()[:4] == b"\x89PNG"


def test_counter_reset_is_flagged_and_counted_from_zero() -> None:
    rs = [Reading(0.0, {"g": 100.0}), Reading(1.0, {"g": 150.0}), Reading(2.0, {"g": 20.0}),
          Reading(3.0, {"g": 70.0})]  # fmt: skip
    w = window_energy(rs, 0.0, 3.0)
    assert w.wrapped and w.energy_joules == pytest.approx(50.0 + 20.0 + 50.0)
    assert window_energy(rs, 0.5, 1.0).energy_joules == pytest.approx(25.0)


@pytest.mark.integration
def test_prometheus_energy_source(emulated: EmulateServer, tmp_path: Path) -> None:
    host = emulated.url.removeprefix("http://")
    prom = start_prometheus(
        tmp_path, [{"job_name": "emulate", "scrape_interval": "1s", "static_configs": [
            {"targets": [host]}]}], scrape_interval="1s",
    )  # fmt: skip
    with prom:

        def scraped() -> bool:
            q = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
            r = httpx.get(prom.url + "/api/v1/query", params={"query": q}).json()
            return bool(r["data"]["result"])

        wait_until(scraped, "a first scrape of the emulator")  # as a long-running backend has
        opts = BenchOptions(
            endpoint=emulated.url + "/v1", model="llama-3.1-70b", n_in=16, max_tokens=[40],
            concurrency=[4], requests=8, energy="prometheus", prometheus_url=prom.url,
            energy_labels={"namespace": "default", "container": "vllm"}, idle_s=0.0,
            history_timeout_s=30.0, min_steady_s=0.0,
        )  # fmt: skip
        row = run_bench(opts).rows[0]
    truth = httpx.get(
        emulated.url + "/truth", params={"start": row["window_start_s"], "end": row["window_end_s"]}
    ).json()
    # Between 1 s scrapes the counter is interpolated linearly: at each window edge the error
    # is at most (busy - idle power) x one scrape interval.
    idle = 4 * truth["idle_watts_per_gpu"]
    bound = 2 * (4 * 400.0 - idle) * 1.0
    assert row["energy_source"] == "prometheus"
    assert abs(row["energy_joules"] - truth["energy_joules"]) <= bound


def test_cli_table_shows_idle_and_results(emulated: EmulateServer) -> None:
    res = CliRunner().invoke(app, ["bench", "--endpoint", emulated.url + "/v1", "--model",
                                   "llama-3.1-70b", "--synthetic", "n_in=8,n_out=4",
                                   "--concurrency", "2", "--requests", "2", "--idle-seconds",
                                   "0.2", "--subtract-idle"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "wattlens bench (energy: emulator)" in res.output
    assert "idle baseline: 372.0 W" in res.output  # 4 x the A100's catalog idle (93 W)
    assert "per-token figures above" in " ".join(res.output.split())
