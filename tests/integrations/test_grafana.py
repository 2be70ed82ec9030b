"""The generated dashboard follows Grafana's dashboard JSON model and every query parses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml
from tests.integrations.promtools import check_rules
from typer.testing import CliRunner

from wattlens.cli.main import app
from wattlens.integrations.grafana import dashboard
from wattlens.integrations.rules import RuleOptions, recording_rules

SCHEMA = json.loads((Path(__file__).parent / "data" / "grafana-dashboard.schema.json").read_text())
# Grafana's global variables, replaced by values of the same kind before parsing.
GRAFANA_VARS = {"$__range_s": "86400", "$__range": "1d", "$deployment": ".*"}


def _exprs(board: dict) -> list[str]:
    return [t["expr"] for p in board["panels"] for t in p["targets"]]


def test_dashboard_validates_against_the_json_model_schema() -> None:
    board = json.loads(CliRunner().invoke(app, ["grafana"]).stdout)
    jsonschema.validate(board, SCHEMA)
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for p in board["panels"]:
        assert p["gridPos"]["x"] + p["gridPos"]["w"] <= 24, p["title"]


def test_every_panel_query_parses_with_promtool(tmp_path: Path) -> None:
    rules = []
    for i, expr in enumerate(_exprs(dashboard())):
        for var, value in GRAFANA_VARS.items():
            expr = expr.replace(var, value)
        assert "$" not in expr.replace("$labels", ""), expr
        rules.append({"record": f"wattlens_dashboard:panel_{i}", "expr": expr})
    path = tmp_path / "panels.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    assert f"SUCCESS: {len(rules)} rules found" in check_rules(path)


def test_panels_read_only_series_the_rules_record() -> None:
    recorded = {r["record"] for r in recording_rules(RuleOptions())}
    used = {m for e in _exprs(dashboard()) for m in re.findall(r"wattlens:[a-z0-9_]+", e)}
    assert used and used <= recorded, used - recorded
    assert "wattlens:node_grid_region_info" in used  # unmatched nodes get a panel
