"""The `plan` typer sub-app, driven through typer's CliRunner (mounted on a bare root app, as the
lead's `wattlens` app mounts it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from wattlens.cli.plan import FLAGS, plan_app
from wattlens.core.errors import InfeasibleError, InputError, WattlensError

root = typer.Typer()
root.add_typer(plan_app, name="plan")
runner = CliRunner()


def test_tokw_json_reproduces_table1() -> None:
    res = runner.invoke(root, ["plan", "tokw", "--model", "llama-3.1-70b", "--gpu", "H100-SXM",
                               "--profile", "paper", "--convention", "paper", "--context",
                               "2048,131072", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)["rows"]
    assert [round(r["tokens_per_watt"], 2) for r in rows] == [35.0, 0.88]  # Chen et al. Table 1


def test_tokw_table_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "t.html"
    res = runner.invoke(root, ["plan", "tokw", "--model", "llama-3.1-8b", "--gpu",
                               "H100-SXM,B200", "--plot", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "n_max" in res.output and "physical" in res.output and out.exists()


def test_fleet_json_and_compare() -> None:
    res = runner.invoke(root, ["plan", "fleet", "--model", "llama-3.1-70b", "--gpu", "H100-SXM",
                               "--rate", "1000", "--topology", "homo", "--profile", "paper",
                               "--convention", "paper", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    total = json.loads(res.output)["total"]
    assert {"instances", "power_kw", "tokens_per_watt", "p99_ttft_ms"} <= set(total)
    args = ["plan", "fleet", "--model", "llama-3.1-70b", "--gpu", "H100-SXM,B200", "--rate",
            "1000", "--topology", "homo,fleetopt", "--split", "4096", "--gamma", "2", "--profile",
            "paper"]  # fmt: skip
    assert runner.invoke(root, args).exit_code == 0
    res = runner.invoke(root, [*args, "--json"])
    rows = json.loads(res.output)["rows"]
    assert {(r["gpu"], r["topology"]) for r in rows} == {
        (g, t) for g in ("H100-SXM", "B200") for t in ("homo", "fleetopt")
    }
    assert all("generation_gain" in r for r in rows)


def test_errors_stay_wattlens_errors() -> None:
    res = runner.invoke(root, ["plan", "tokw", "--model", "llama-3.1-405b", "--gpu", "H100-SXM",
                               "--tp", "8", "--dtype", "fp16"])  # fmt: skip
    assert isinstance(res.exception, WattlensError) and "short by" in str(res.exception)
    res = runner.invoke(root, ["plan", "tokw", "--model", "llama-3.1-8b", "--gpu", "H100-SXM",
                               "--context", "2k"])  # fmt: skip
    assert isinstance(res.exception, WattlensError)


FLEET = ["plan", "fleet", "--model", "llama-3.1-70b", "--gpu", "H100-SXM", "--profile", "paper"]


@pytest.mark.parametrize(
    ("args", "error", "start"),
    [
        (["--rate", "0", "--topology", "homo"], InputError,
         "--rate 0.0: expected a finite number above 0"),  # fmt: skip
        (["--rate", "100", "--topology", "homo", "--slo-ttft-ms", "0.001"], InfeasibleError,
         "--slo-ttft-ms 0.001: the mean prefill alone"),
        (["--rate", "100", "--topology", "pool", "--split", "100000"], InfeasibleError,
         "--split 100000 exceeds the long window"),
        (["--rate", "100", "--topology", "ring"], InputError, "--topology 'ring': expected"),
    ],
)  # fmt: skip
def test_errors_name_the_flags_the_user_typed(args: list[str], error: type, start: str) -> None:
    res = runner.invoke(root, [*FLEET, *args])
    assert type(res.exception) is error and str(res.exception).startswith(start)


def test_every_error_field_maps_to_a_flag_of_a_plan_command() -> None:
    commands = typer.main.get_group(plan_app).commands
    flags = {
        opt
        for cmd in commands.values()
        for param in cmd.params
        for opt in getattr(param, "opts", [])
    }
    assert set(FLAGS.values()) <= flags


def test_choices_are_checked_by_the_cli() -> None:
    res = runner.invoke(root, ["plan", "tokw", "--model", "llama-3.1-8b", "--gpu", "H100-SXM",
                               "--convention", "mine"])  # fmt: skip
    text = " ".join(res.output.replace("│", " ").split())  # rich boxes and wraps the message
    assert res.exit_code == 2 and "'mine' is not one of 'physical', 'paper'" in text


def test_calibrate_from_a_store(tmp_path: Path) -> None:
    from wattlens.store import Store

    from .history import write_history

    db = tmp_path / "w.duckdb"
    with Store.open(db) as store:
        write_history(store)
    out = tmp_path / "p.toml"
    res = runner.invoke(root, ["plan", "calibrate", "--deployment", "llm/qwen", "--db", str(db),
                               "--power-curve", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "RMSE" in res.output and out.exists()


@pytest.mark.parametrize("cmd", ["tokw", "fleet", "calibrate"])
def test_help(cmd: str) -> None:
    assert runner.invoke(root, ["plan", cmd, "--help"]).exit_code == 0
