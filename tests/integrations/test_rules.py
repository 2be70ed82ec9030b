"""`wattlens rules`: every vocabulary metric is recorded, promtool and vmalert accept the file
for several configurations, alerts carry runbooks, and the CLI prints the same file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tests.integrations.promtools import check_rules
from typer.testing import CliRunner

from wattlens.catalog.grid import GridRule
from wattlens.cli.main import app
from wattlens.config import load_config
from wattlens.core.metrics import NAMES
from wattlens.derive.carbon import CarbonModel
from wattlens.integrations.promql import LabelOptions
from wattlens.integrations.rules import (
    PREFIX,
    RuleOptions,
    options_from_config,
    render_rules,
    rule_groups,
    unrecorded,
)

VARIANTS = {
    "default": RuleOptions(),
    "override": RuleOptions(carbon=CarbonModel(intensity_override_kg_per_kwh=0.2)),
    "rules": RuleOptions(carbon=CarbonModel(rules=(
        GridRule("^gpu-[0-9]+\\.example\\.org$", "ERCT", match="regex"),
        GridRule("research", "NYUP", field="namespace", match="exact"),
        GridRule(".unl.", "MROW")), pue=1.3)),
    "labels": RuleOptions(labels=LabelOptions(deployment_label="app", host_label="kubernetes_host",
                                              namespaces=("llm", "research"))),
}  # fmt: skip


def test_every_vocabulary_metric_is_recorded() -> None:
    assert unrecorded() == []
    records = [r["record"] for r in rule_groups(RuleOptions())["groups"][0]["rules"]]
    assert {PREFIX + n for n in NAMES} <= set(records)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_promtool_and_vmalert_accept_the_rules(variant: str, tmp_path: Path) -> None:
    path = tmp_path / "wattlens-rules.yaml"
    path.write_text(render_rules(VARIANTS[variant]))
    assert "SUCCESS" in check_rules(path)
    vm = subprocess.run(["vmalert", "-dryRun", f"-rule={path}", "-loggerLevel=ERROR"],
                        capture_output=True, text=True)  # fmt: skip
    assert vm.returncode == 0, vm.stdout + vm.stderr


def test_vmalert_dry_run_rejects_a_broken_expression(tmp_path: Path) -> None:
    """The check above means something: vmalert parses the expressions."""
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "x", "rules": [
        {"record": "a:b", "expr": "sum(rate(x[5m]) by"}]}]}))  # fmt: skip
    vm = subprocess.run(["vmalert", "-dryRun", f"-rule={path}"], capture_output=True, text=True)
    assert vm.returncode != 0


def test_alerts_have_runbooks_and_thresholds_from_the_data_file() -> None:
    alerts = {a["alert"]: a for a in rule_groups(RuleOptions())["groups"][1]["rules"]}
    assert set(alerts) == {"WattlensIdleDeploymentBurning", "WattlensJoulesPerTokenRegression",
                           "WattlensTelemetryStale"}  # fmt: skip
    for a in alerts.values():
        assert a["annotations"]["runbook"] and a["annotations"]["summary"]
    idle = alerts["WattlensIdleDeploymentBurning"]
    assert idle["expr"].endswith("> 300.0") and idle["for"] == "2h"  # alerts.toml
    assert "[7d]" in alerts["WattlensJoulesPerTokenRegression"]["expr"]


def test_cli_prints_the_rules_of_the_config(tmp_path: Path) -> None:
    cfg = tmp_path / "wattlens.toml"
    cfg.write_text('[carbon]\npue = 1.4\ndefault_region = "ERCT"\n')
    out = CliRunner().invoke(app, ["rules", "--config", str(cfg), "--idle-watts", "150"])
    assert out.exit_code == 0, out.output
    want = render_rules(options_from_config(load_config(cfg), idle_watts=150.0))
    assert out.stdout == want
    assert "default region ERCT, PUE 1.4" in out.stdout


def test_cli_bad_window_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "wattlens", "rules", "--rate-window", "soon"],
                          capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "'soon'" in proc.stderr


def test_otel_names_group_is_optional_and_parses(tmp_path: Path) -> None:
    from wattlens.integrations.rules import otel_names

    assert len(rule_groups(RuleOptions())["groups"]) == 2
    groups = rule_groups(RuleOptions(otel_names=True))["groups"]
    names = [r["record"] for r in groups[2]["rules"]]
    assert names == [m["prometheus"] for m in otel_names()["metric"]]
    assert all(n.startswith("gen_ai_infrastructure_") for n in names)
    path = tmp_path / "otel.yaml"
    path.write_text(render_rules(RuleOptions(otel_names=True)))
    total = sum(len(g["rules"]) for g in groups)
    assert f"SUCCESS: {total} rules found" in check_rules(path)
