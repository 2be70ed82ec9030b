"""Wh per request (energy / finished requests) with its idle and marginal parts, from a planted
store through `report` (library, CLI text and JSON, API). Expectations are hand arithmetic."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from wattlens.app.ops import report
from wattlens.cli.main import main
from wattlens.core.metrics import Totals, compute
from wattlens.core.records import IntervalRecord
from wattlens.store import Store
from web.conftest import make_config, serve
from web.plant import STEP_S, Spec, info, write_planted

N = 120  # 30 s intervals: one hour
IDLE_W, BUSY_W, REQS = 300.0, 900.0, 5.0
SPECS = [
    Spec(info("llm/mixed", "llama-3.1-8b", gpus=1), 0.2, 1.0),  # every 4th interval idle
    Spec(info("llm/busy", "llama-3.1-8b", gpus=1), 0.2, 1.0),  # never idle
    Spec(info("batch/embed", None, gpus=1, container="embedder"), 0.2, 1.0),  # no engine
]


def make_record(spec, ts: float, i: int, rng: random.Random) -> IntervalRecord:  # noqa: ANN001, ARG001
    dep = spec.info.deployment_id
    idle = dep == "llm/mixed" and i % 4 == 0
    engine = dep != "batch/embed"
    watts = IDLE_W if idle else BUSY_W
    return IntervalRecord(
        deployment_id=dep, ts_end_s=ts, interval_s=STEP_S, energy_joules=watts * STEP_S,
        energy_source="counter",
        prompt_tokens=(0.0 if idle else 3000.0) if engine else None,
        generation_tokens=(0.0 if idle else 600.0) if engine else None,
        requests_finished=(0.0 if idle else REQS) if engine else None,
        itl_seconds_sum=None, requests_running=None, requests_waiting=None,
        kv_cache_usage_ratio=None, gpu_util_percent=None, gpu_count=1,
        carbon_intensity_kg_per_kwh=0.2, pue=1.0, co2_grams=watts * STEP_S / 3.6e6 * 200.0,
        sample_count=2,
    )  # fmt: skip


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("req") / "w.duckdb"
    s, _ = write_planted(path, SPECS, make_record, days=N * STEP_S / 86_400.0,
                         end_s=1_700_006_400.0, seed=1)  # fmt: skip
    s.close()  # the CLI opens the file itself
    return path


# hand arithmetic over the planted intervals
SECONDS = N * STEP_S
MIXED_IDLE, MIXED_BUSY = N // 4, N - N // 4
MIXED_J = (MIXED_IDLE * IDLE_W + MIXED_BUSY * BUSY_W) * STEP_S
MIXED_REQ = MIXED_BUSY * REQS
BUSY_J, BUSY_REQ = N * BUSY_W * STEP_S, N * REQS


def test_metric_in_the_vocabulary() -> None:
    got = compute(Totals(seconds=3600.0, energy_joules=7200.0, requests_finished=4.0),
                  min_tokens_per_s=0.0, names=("energy_wh_per_request",))  # fmt: skip
    assert got["energy_wh_per_request"] == pytest.approx(0.5)  # 2 Wh over 4 requests
    none = compute(Totals(seconds=1.0, energy_joules=1.0, requests_finished=0.0),
                   min_tokens_per_s=0.0, names=("energy_wh_per_request",))  # fmt: skip
    assert none["energy_wh_per_request"] is None


def test_report_splits_idle_and_marginal(db: Path) -> None:
    with Store.open(db, read_only=True) as s:
        body = report(s, since_s=None, until_s=None, min_tokens_per_s=5.0)
    rows = {r["deployment"]: r for r in body["deployments"]}
    mixed = rows["llm/mixed"]
    assert mixed["requests_finished"] == MIXED_REQ
    assert mixed["energy_wh_per_request"] == pytest.approx(MIXED_J / MIXED_REQ / 3600.0)
    assert mixed["idle_power_watts"] == pytest.approx(IDLE_W)
    idle_wh = IDLE_W * SECONDS / MIXED_REQ / 3600.0  # idle power over the whole hour
    assert mixed["idle_wh_per_request"] == pytest.approx(idle_wh)
    assert mixed["marginal_wh_per_request"] == pytest.approx(MIXED_J / MIXED_REQ / 3600.0 - idle_wh)
    busy = rows["llm/busy"]
    assert busy["energy_wh_per_request"] == pytest.approx(BUSY_J / BUSY_REQ / 3600.0)
    assert busy["idle_wh_per_request"] is None  # never idle: idle power not measured
    assert rows["batch/embed"]["energy_wh_per_request"] is None
    fleet = body["fleet"]
    # the GPU-only deployment's energy has no requests to divide it by
    assert fleet["energy_wh_per_request"] == pytest.approx(
        (MIXED_J + BUSY_J) / (MIXED_REQ + BUSY_REQ) / 3600.0
    )
    assert fleet["idle_wh_per_request"] is None
    assert "not stored" in body["request_lengths"]


def test_cli_report_text_and_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = db
    with pytest.raises(SystemExit) as done:
        main(["report", "--db", str(path), "--json"])
    assert done.value.code in (0, None)
    body = json.loads(capsys.readouterr().out)
    rows = {r["deployment"]: r for r in body["deployments"]}
    assert rows["llm/busy"]["energy_wh_per_request"] == pytest.approx(BUSY_J / BUSY_REQ / 3600.0)
    with pytest.raises(SystemExit):
        main(["report", "--db", str(path)])
    out = capsys.readouterr().out
    assert "Wh/request" in out and "not stored" in out
    assert f"{BUSY_J / BUSY_REQ / 3600.0:.3f}" in out


def test_api_report_carries_wh_per_request(tmp_path: Path) -> None:
    path = tmp_path / "api.duckdb"
    s, _ = write_planted(path, SPECS[:1], make_record, days=N * STEP_S / 86_400.0,
                         end_s=1_700_006_400.0, seed=1)  # fmt: skip
    served = serve(s, None, make_config(tmp_path))
    try:
        body = served.get("/api/v2/report").json()
    finally:
        served.close()
    (row,) = body["deployments"]
    assert row["energy_wh_per_request"] == pytest.approx(MIXED_J / MIXED_REQ / 3600.0)
    assert row["idle_power_watts"] == pytest.approx(IDLE_W)
