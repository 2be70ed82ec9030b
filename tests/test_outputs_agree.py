"""Every output gives the same deployment the same J/token, mg CO2/token and g CO2/h.

One store is filled from the emulator; then the CLI (`status`, `report`, `analyze` as
subprocesses) and the web app (served by uvicorn on loopback: `/api/v1/carbon`, the v2 API and
the `/metrics` exporter) are read over the same window, the whole stored history. Expected
values come from the emulator's planted truth over that window; the outputs must also agree
with one another within 0.1 %.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from wattlens.config import load_config
from wattlens.emulator import load_scenario, truth, write_history
from wattlens.store import Store
from wattlens.telemetry.metrics import WANTED_METRICS
from wattlens.web import create_app, serve_in_thread

START_S = 1_760_000_000.0
HOURS = 6
END_S = START_S + HOURS * 3600.0
WINDOW = f"{HOURS}h"  # every output reads this window: the whole stored history
ENV = {"WATTLENS_COLLECT_LIVE_WINDOW": WINDOW}
METRICS = ("joules_per_token", "co2_mg_per_token", "co2_grams_per_hour")


def cli(root: Path, *args: str) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTLENS_")} | ENV
    proc = subprocess.run([sys.executable, "-m", "wattlens", *args, "--db", str(root / "w.duckdb"),
                           "--json"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Per output, deployment -> {metric: value}; plus the planted truth."""
    root = tmp_path_factory.mktemp("agree")
    sc = load_scenario("nrp")
    om = root / "nrp.om"
    write_history(sc, om, start_s=START_S, end_s=END_S, step_s=30.0, wanted=WANTED_METRICS)
    proc = subprocess.run([sys.executable, "-m", "wattlens", "import", str(om), "--db",
                           str(root / "w.duckdb")], cwd=root, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    got: dict[str, dict[str, dict[str, float | None]]] = {}

    def pick(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, float | None]]:
        return {r[key]: {m: r.get(m) for m in METRICS} for r in rows}

    got["status"] = pick(cli(root, "status")["deployments"], "deployment")
    got["report"] = pick(cli(root, "report")["deployments"], "deployment")
    got["analyze"] = pick(cli(root, "analyze", "--range", WINDOW)["deployments"], "deployment_id")

    (root / "wattlens.toml").write_text("")  # defaults only, never the caller's files
    config = load_config(root / "wattlens.toml", environ=ENV)
    with Store.open(root / "w.duckdb", read_only=True) as store:
        app = create_app(store=store, config=config, clock=lambda: END_S, cache_ttl_s=0)
        with serve_in_thread(app, "127.0.0.1", 0) as web, httpx.Client(base_url=web.url) as c:
            deps = store.deployments()
            v1 = c.get("/api/v1/carbon").json()["models"]
            by_key = {(d.info.namespace, d.info.model_name or ""): d.info.deployment_id
                      for d in deps}  # fmt: skip
            got["v1"] = {
                by_key[(m["namespace"], m["model_name"])]: {
                    "co2_grams_per_hour": m["co2_grams_per_hour"],
                    "co2_mg_per_token": m.get("co2_mg_per_token"),
                }
                for m in v1
            }
            v2 = c.get("/api/v2/deployments").json()["deployments"]
            got["v2"] = {d["deployment"]: {m: d["live"][m] for m in METRICS} for d in v2}
            got["exporter"] = {}
            for fam in text_string_to_metric_families(c.get("/metrics").text):
                for s in fam.samples:
                    name = s.name.removeprefix("wattlens_")
                    if name in METRICS:
                        got["exporter"].setdefault(s.labels["deployment"], {})[name] = s.value
    want = truth(sc, START_S, END_S, start_of_scenario_s=START_S)
    yield {"got": got, "want": want}


def _busy(want: dict[str, Any]) -> list[str]:
    """Deployments whose token rate is well above the ratio cut-off (5 tokens/s)."""
    return [k for k, t in want.items() if t.total_tokens / (HOURS * 3600.0) > 50]


def test_there_are_busy_deployments_to_compare(outputs: dict[str, Any]) -> None:
    assert len(_busy(outputs["want"])) >= 2


@pytest.mark.parametrize("source", ["status", "report", "analyze", "v2", "exporter"])
def test_joules_per_token_matches_truth(outputs: dict[str, Any], source: str) -> None:
    for dep in _busy(outputs["want"]):
        t = outputs["want"][dep]
        assert outputs["got"][source][dep]["joules_per_token"] == pytest.approx(
            t.energy_joules / t.total_tokens, rel=0.01
        ), dep


@pytest.mark.parametrize("metric", METRICS)
def test_outputs_agree_within_a_tenth_of_a_percent(outputs: dict[str, Any], metric: str) -> None:
    got = outputs["got"]
    for dep in _busy(outputs["want"]):
        ref = got["report"][dep][metric]
        assert ref is not None and ref > 0, dep
        for source in ("status", "analyze", "v2", "exporter"):
            assert got[source][dep][metric] == pytest.approx(ref, rel=1e-3), (source, dep)
        if metric in got["v1"][dep]:
            # v1 rounds as the Go service did: g/h to 0.1, mg/token to 0.001
            half_unit = 0.05 if metric == "co2_grams_per_hour" else 0.0005
            assert got["v1"][dep][metric] == pytest.approx(ref, rel=1e-3, abs=half_unit), dep
