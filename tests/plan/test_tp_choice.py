"""`plan fleet` without --tp keeps the TP that serves the workload with the least energy per
output token, and says why in the text and the JSON (issue #11)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from wattlens.cli.plan import plan_app
from wattlens.plan.fleet import plan_fleet

root = typer.Typer()
root.add_typer(plan_app, name="plan")
runner = CliRunner()
ARGS = ["plan", "fleet", "--model", "llama-3.1-70b", "--gpu", "H100-SXM", "--rate", "1000",
        "--topology", "fleetopt"]  # fmt: skip


def test_default_tp_is_the_least_energy_of_those_that_fit() -> None:
    kw = {"rate_rps": 1000.0, "topology": "fleetopt"}
    chosen = plan_fleet("llama-3.1-70b", "H100-SXM", **kw)
    each = {t: plan_fleet("llama-3.1-70b", "H100-SXM", tp=t, **kw) for t in (2, 4, 8)}
    best = min(each, key=lambda t: each[t].total["joules_per_token"])
    assert chosen.tp == best
    assert chosen.total["joules_per_token"] == pytest.approx(each[best].total["joules_per_token"])
    assert "TP below 2: the weights do not fit" in chosen.tp_reason  # 70B bf16 needs 2 x 80 GB
    assert each[4].tp_reason == "TP 4 as given"


def test_the_reason_is_printed_and_in_the_json() -> None:
    text = runner.invoke(root, ARGS)
    assert text.exit_code == 0, text.output
    body = json.loads(runner.invoke(root, [*ARGS, "--json"]).output)
    assert f"tp: {body['tp_reason']}" in " ".join(text.output.split())
    assert body["tp_reason"].startswith(f"TP {body['tp']}: the least energy per output token")
