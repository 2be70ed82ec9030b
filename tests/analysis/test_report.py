"""The `analyze` result: the --json contract, chart data, errors and the empty store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from tests.analysis.conftest import Emulated

from wattlens.analysis import AnalysisOptions, analyze
from wattlens.analysis.render import render_analysis
from wattlens.core.errors import ConfigError, InputError
from wattlens.store import Store

DEPLOYMENT_KEYS = {
    "model_name", "gpu_type", "gpu_count", "idle_fraction", "idle_energy_kwh", "energy_kwh",
    "efficiency_curve", "right_sizing", "consolidation", "frontier_ratio",
}  # fmt: skip
CURVE_KEYS = {
    "model", "p_idle_watts", "p_sat_watts", "x0_tokens_per_s", "covariance", "knee_tokens_per_s",
    "best_joules_per_token", "current_joules_per_token",
}  # fmt: skip


@pytest.fixture(scope="module")
def result(emulated: Callable[[str], Emulated]) -> dict:
    e = emulated("test-oversized")
    with e.open() as store:
        return analyze(store, range_s=e.end_s - e.start_s, end_s=e.end_s, include_charts=True)


def test_json_contract(result: dict) -> None:
    text = json.dumps(result, allow_nan=False)  # strict JSON: no NaN or inf anywhere
    assert json.loads(text) == result
    for v in result["idle_power_per_gpu_watts"].values():
        assert {"value", "source", "sample_count"} <= set(v)
        assert v["source"] in ("learned", "catalog")
    for row in result["deployments"]:
        assert set(row) >= DEPLOYMENT_KEYS
        assert set(row["efficiency_curve"]) >= CURVE_KEYS
        rs = row["right_sizing"]
        assert rs is None or {"recommended_gpu_count", "saving_watts", "reason"} <= set(rs)


def test_chart_series(result: dict) -> None:
    charts = result["charts"]
    eff = charts["efficiency"]["llm/llama-8b-busy"]
    pts = eff["points"]
    assert len(pts["tokens_per_s"]) == len(pts["ts_end_s"]) == len(pts["joules_per_token"]) > 100
    assert pts["ts_end_s"] == sorted(pts["ts_end_s"])  # colour by time
    curve = eff["curve"]
    for lo, mid, hi in zip(curve["joules_per_token_low"], curve["joules_per_token"],
                           curve["joules_per_token_high"], strict=True):  # fmt: skip
        assert lo <= mid <= hi
    bars = charts["idle_bars"]
    assert len(bars["deployments"]) == len(bars["idle_kwh"]) == len(bars["productive_kwh"]) == 3
    assert charts["efficiency"]["llm/mixtral-idle"]["curve"] is None


def test_fleet_totals_add_up(result: dict) -> None:
    rows = result["deployments"]
    fleet = result["fleet"]
    assert fleet["energy_kwh"] == pytest.approx(sum(r["energy_kwh"] for r in rows))
    assert fleet["idle_energy_kwh"] + fleet["productive_energy_kwh"] == pytest.approx(
        fleet["energy_kwh"]
    )
    for r in rows:
        assert r["idle_energy_kwh"] + r["productive_energy_kwh"] == pytest.approx(r["energy_kwh"])
        assert r["idle_co2_kg"] + r["productive_co2_kg"] == pytest.approx(r["co2_kg"])


def test_render_names_every_deployment(result: dict) -> None:
    console = Console(record=True, width=240)
    render_analysis(result, console)
    text = console.export_text()
    for r in result["deployments"]:
        assert r["deployment_id"] in text
    assert "8 -> 2" in text


def test_empty_store(tmp_path: Path) -> None:
    with Store.open(tmp_path / "empty.duckdb") as store:
        out = analyze(store)
    assert out["deployments"] == [] and out["fleet"] is None
    console = Console(record=True)
    render_analysis(out, console)
    assert "No intervals" in console.export_text()


def test_bad_inputs_raise_wattlens_errors(tmp_path: Path) -> None:
    with Store.open(tmp_path / "x.duckdb") as store, pytest.raises(InputError, match="range"):
        analyze(store, range_s=-1)
    with pytest.raises(ConfigError, match="knee_improvment"):
        AnalysisOptions.default().with_(knee_improvment=0.2)
