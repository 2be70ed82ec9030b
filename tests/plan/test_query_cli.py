"""`wattlens plan query` / `plan daily` on the command line: JSON field names, the table, one-line
errors naming the flag, and `--from-fleet` over a real DuckDB store with planted history."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from wattlens.cli.main import app, main
from wattlens.core.records import DeploymentInfo, IntervalRecord
from wattlens.store import Store

runner = CliRunner()
SUMMARY = {"median_wh", "p25_wh", "p75_wh", "mean_wh"}


def test_query_json_fields_per_model_and_blend() -> None:
    res = runner.invoke(app, ["plan", "query", "--samples", "2000", "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.output)
    assert len(body["models"]) == 5
    for row in body["models"]:
        assert set(row) >= SUMMARY and row["fit"]["points"] >= 2
    assert set(body["blend"]) >= SUMMARY and len(body["blend"]["models"]) == 3
    assert body["parameters"]["seed"] == 42 and body["parameters"]["quantization"] == "FP8"


def test_query_table_shows_the_fit_with_held_out_error() -> None:
    res = runner.invoke(app, ["plan", "query", "--model", "llama-3.1-405b,deepseek-r1",
                              "--node-kw", "deepseek-r1=14.1,default=11.3", "--pu", "0.4-0.9",
                              "--pue", "1.05-1.6", "--input", "500", "--output-median", "300",
                              "--samples", "1000", "--seed", "1", "--blend", "top3"])  # fmt: skip
    assert res.exit_code == 0, res.output
    for needle in ("llama-3.1-405b", "deepseek-r1", "blend", "rmse LOO", "14.1", "0.500"):
        assert needle in res.output, needle


def test_daily_json_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "w.svg"
    res = runner.invoke(app, ["plan", "daily", "--queries", "1e9", "--long-share", "0.1",
                              "--long-output-median", "5000", "--overhead", "1.10*1.076*1.12",
                              "--interventions", "model,serving,hardware", "--samples", "1000",
                              "--bootstrap", "20", "--json", "--plot", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    body = json.loads(res.output)
    for row in body["scenarios"]:
        assert {"scenario", "gwh_per_day", "low", "high"} <= set(row)
    assert "<svg" in out.read_text()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["plan", "query", "--pu", "0.9-0.4"], "--pu 0.9-0.4: low is greater than high"),
        (["plan", "query", "--node-kw", "-11.3"], "--node-kw '-11.3'"),
        (["plan", "query", "--model", "gpt-9"], "--model gpt-9"),
        (["plan", "query", "--samples", "5"], "--samples 5"),
        (["plan", "daily", "--long-share", "2"], "--long-share 2.0"),
        (["plan", "daily", "--interventions", "magic"], "--interventions magic"),
        (["plan", "query", "--input", "0"], "--input 0.0: must be greater than 0"),
        (["plan", "query", "--output-median", "nan"], "--output-median nan"),
        (["plan", "daily", "--samples", "10000000"], "--bootstrap 1000 resamples of 60,000,000"),
        (
            ["plan", "daily", "--samples", "200", "--bootstrap", "10", "--plot", "/proc/no/w.png"],
            "--plot '/proc/no/w.png': cannot write",
        ),
        (
            ["plan", "query", "--from-fleet", "a/b", "--db", "/nonexistent/w.duckdb"],
            "/nonexistent/w.duckdb",
        ),
    ],
)
def test_errors_are_one_line_naming_the_flag(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as e:
        main(args)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err


def test_no_traceback_from_a_real_process(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "wattlens", "plan", "query", "--pue", "1.6-1.05"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: --pue 1.6-1.05: low is greater than high; give LO-HI with LO <= HI (5th and "
        "95th percentiles)"
    ]


def _numeric_options(command: str) -> list[str]:
    cmd: Any = typer.main.get_command(app)
    cmd = cmd.commands["plan"].commands[command]
    numbers = (int, float, int | None, float | None)
    return [
        p.opts[0]
        for p in cmd.params
        if p.param_type_name == "option" and p.type_descriptor.annotation in numbers
    ]


NUMERIC = [(c, o, v) for c in ("query", "daily") for o in _numeric_options(c)
           for v in ("nan", "-inf", "-1", "1e12", "abc")]  # fmt: skip


@pytest.mark.parametrize(("command", "option", "value"), NUMERIC)
def test_numeric_options_refuse_bad_values_in_one_line(
    command: str, option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as e:
        main(["plan", command, "--samples", "200", option, value])
        raise SystemExit(0)
    err = capsys.readouterr().err
    ok = value == "1e12" and option in ("--queries",)  # a large fleet is a valid answer
    assert e.value.code == (0 if ok else 2), err
    assert "Traceback" not in err
    if value != "abc" and not ok and "Invalid value" not in err:  # typer's own int parsing
        assert err.startswith(f"error: {option} "), err


# Planted history: 60 busy minutes (8 kW, 1,000 output tok/s, 5 requests/s) and 30 idle minutes
# (2.4 kW, no tokens) of one deployment.
BUSY, IDLE = 60, 30


def _plant(db: Path, now: float) -> None:
    info = DeploymentInfo("llm/big", "llm", "big", "big-model", "H100-SXM", "NVIDIA H100", 8,
                          "node-1", "vllm")  # fmt: skip
    recs = []
    for i in range(BUSY + IDLE):
        busy = i < BUSY
        recs.append(IntervalRecord(
            deployment_id="llm/big", ts_end_s=now - 60 * (BUSY + IDLE - i), interval_s=60.0,
            energy_joules=(8000.0 if busy else 2400.0) * 60, energy_source="counter",
            prompt_tokens=30_000.0 if busy else 0.0,
            generation_tokens=60_000.0 if busy else 0.0,
            requests_finished=300.0 if busy else 0.0, itl_seconds_sum=1.0,
            requests_running=10.0, requests_waiting=0.0, kv_cache_usage_ratio=0.5,
            gpu_util_percent=50.0, gpu_count=8, carbon_intensity_kg_per_kwh=0.2, pue=1.0,
            co2_grams=0.0, sample_count=4,
        ))  # fmt: skip
    with Store.open(db) as store:
        store.upsert_deployments([info], now - 7200)
        store.write_intervals(recs)


def test_from_fleet_uses_measured_throughput_and_power(tmp_path: Path) -> None:
    now = time.time()
    db = tmp_path / "fleet.duckdb"
    _plant(db, now)
    cfg = tmp_path / "wattlens.toml"
    cfg.write_text("")
    lengths = tmp_path / "out.txt"
    lengths.write_text("300\n")
    res = runner.invoke(app, ["plan", "query", "--from-fleet", "llm/big", "--db", str(db),
                              "--config", str(cfg), "--range", "1d", "--pue", "1.2-1.2",
                              "--output-dist", str(lengths), "--samples", "500", "--model",
                              "llama-3.1-405b", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    f = json.loads(res.output)["fleet"]
    energy = (8000.0 * BUSY + 2400.0 * IDLE) * 60
    seconds = 60.0 * (BUSY + IDLE)
    gen, requests = 60_000.0 * BUSY, 300.0 * BUSY
    assert f["power_kw"] == pytest.approx(energy / seconds / 1000)
    assert f["generation_tokens_per_s"] == pytest.approx(gen / seconds)
    assert f["measured_wh_per_request"] == pytest.approx(energy / requests / 3600)
    assert f["idle_wh_per_request"] == pytest.approx(2400.0 * IDLE * 60 / requests / 3600)
    # every sampled query: PUE x (energy / output token) x 300 tokens
    assert f["median_wh"] == pytest.approx(1.2 * energy / gen * 300 / 3600, rel=1e-6)  # float32
    table = runner.invoke(
        app,
        [
            "plan",
            "query",
            "--from-fleet",
            "llm/big",
            "--db",
            str(db),
            "--config",
            str(cfg),
            "--range",
            "1d",
            "--samples",
            "500",
        ],
    )
    assert table.exit_code == 0 and "fleet llm/big" in table.output and "Wh/request" in table.output
