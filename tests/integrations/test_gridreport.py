"""`wattlens report --json` with `[grid]` selecting a live provider (issue 15).

A real DuckDB store holds planted 30 s intervals whose power differs per hour; the provider is
the recorded-response fake on loopback (tests/integrations/gridfake.py). The expected CO2 is
Σ hourly energy x PUE x the hour's recorded intensity, written out by hand here from the
planted powers and the recorded values (Electricity Maps past-range: 300, 200, 400 g/kWh;
WattTime historical: 1000 then 500 lbs/MWh). The credentials appear in no output or log line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.integrations.gridfake import EM_TOKEN, T0, WT_PASSWORD, WT_USER, Fake
from tests.servers import free_port

from wattlens.catalog import grid
from wattlens.core.records import DeploymentInfo, IntervalRecord
from wattlens.store import Store

STEP_S = 30.0
WATTS = (400.0, 800.0, 200.0)  # per planted hour
TOKENS_PER_INTERVAL = 300.0  # 10 tokens/s: above the ratio cut-off
PUE = 1.2
KWH = 3.6e6
LB_G = 453.59237  # g per lb (exact); lbs/MWh x LB_G / 1000 = g/kWh
CAMX_G = grid.get_region("CAMX", "egrid2024").intensity_kg_per_kwh * 1000.0


def _plant(db: Path) -> None:
    info = DeploymentInfo("ml/llm", "ml", "llm", "m", "A6000", "NVIDIA RTX A6000", 1,
                          "node-a", "vllm", "CAMX")  # fmt: skip
    records = []
    for hour, watts in enumerate(WATTS):
        for i in range(int(3600 / STEP_S)):
            end = T0 + hour * 3600 + (i + 1) * STEP_S
            energy = watts * STEP_S
            records.append(IntervalRecord(
                "ml/llm", end, STEP_S, energy, "counter", TOKENS_PER_INTERVAL / 2,
                TOKENS_PER_INTERVAL / 2, 1.0, None, 1.0, 0.0, 0.5, 50.0, 1,
                CAMX_G / 1000, PUE, energy / KWH * PUE * CAMX_G, 1,
            ))  # fmt: skip
    with Store.open(db) as store:
        store.upsert_deployments([info], T0 + 3 * 3600)
        store.write_intervals(records)
        store.rollup_pending()


def _config(tmp: Path, grid_table: str) -> Path:
    path = tmp / "wattlens.toml"
    path.write_text(f"""
[carbon]
pue = {PUE}
rules = [{{pattern = "node-a", region = "CAMX"}}]

{grid_table}
""")
    return path


def _report(tmp: Path, cfg: Path, env: dict[str, str], *extra: str) -> tuple[dict[str, Any], str]:
    db = tmp / "w.duckdb"
    if not db.exists():
        _plant(db)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WATTLENS_")}
    proc = subprocess.run(
        [sys.executable, "-m", "wattlens", "report", "--json", "--db", str(db),
         "--config", str(cfg), *extra],
        capture_output=True, text=True, env={**clean, **env}, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stdout + proc.stderr


def _hour_kwh() -> list[float]:
    return [w * 3600 / KWH for w in WATTS]


def test_electricity_maps_hourly_co2_in_the_report(tmp_path: Path, fake: tuple[Fake, str]) -> None:
    state, url = fake
    cfg = _config(
        tmp_path,
        f"""[grid]
provider = "electricitymaps"
base_url = "{url}"
zones = {{CAMX = "US-CAL-CISO"}}
token_env = "TEST_EM_TOKEN"
""",
    )
    body, text = _report(tmp_path, cfg, {"TEST_EM_TOKEN": EM_TOKEN})
    (row,) = body["deployments"]
    kwh = _hour_kwh()  # 0.4, 0.8, 0.2
    expected_g = PUE * (kwh[0] * 300 + kwh[1] * 200 + kwh[2] * 400)  # 1.2 x 360 = 432 g
    assert row["co2_kg"] * 1000 == pytest.approx(expected_g, rel=1e-9)
    assert body["fleet"]["co2_kg"] * 1000 == pytest.approx(expected_g, rel=1e-9)
    tokens = 3 * 120 * TOKENS_PER_INTERVAL
    assert row["co2_mg_per_token"] == pytest.approx(expected_g * 1000 / tokens, rel=1e-9)
    assert row["co2_grams_per_hour"] == pytest.approx(expected_g / 3, rel=1e-9)
    assert (row["grid_intensity_source"], row["grid_intensity_kind"],
            row["grid_intensity_year"]) == ("electricitymaps", "average", 2026)  # fmt: skip
    assert (row["grid_region"], row["grid_zone"]) == ("CAMX", "US-CAL-CISO")
    assert row["grid_intensity_fallback"] is None and row["grid_intensity_hours_filled"] == 0
    fleet = body["fleet"]
    assert (fleet["grid_intensity_source"], fleet["grid_intensity_kind"]) == (
        "electricitymaps", "average")  # fmt: skip
    assert "grid_intensity_period" in fleet
    assert state.requests[0][0] == "/v4/carbon-intensity/past-range"
    assert state.requests[0][2]["auth-token"] == EM_TOKEN  # sent, and only to the provider
    assert EM_TOKEN not in text


def test_watttime_marginal_co2_and_no_credentials_shown(tmp_path: Path, fake: tuple[Fake, str]
                                                        ) -> None:  # fmt: skip
    _, url = fake
    cfg = _config(
        tmp_path,
        f"""[grid]
provider = "watttime"
base_url = "{url}"
zones = {{CAMX = "CAISO_NORTH"}}
username_env = "TEST_WT_USER"
password_env = "TEST_WT_PASSWORD"
""",
    )
    env = {"TEST_WT_USER": WT_USER, "TEST_WT_PASSWORD": WT_PASSWORD}
    body, text = _report(tmp_path, cfg, env, "--since", str(T0), "--until", str(T0 + 7200))
    (row,) = body["deployments"]
    kwh = _hour_kwh()
    expected_g = PUE * (kwh[0] * 1000 * LB_G / 1000 + kwh[1] * 500 * LB_G / 1000)
    assert row["co2_kg"] * 1000 == pytest.approx(expected_g, rel=1e-9)
    assert (row["grid_intensity_source"], row["grid_intensity_kind"]) == ("watttime", "marginal")
    assert WT_PASSWORD not in text and "YWxpY2U6cHc" not in text  # nor its basic-auth form


def test_provider_down_falls_back_to_the_static_table_saying_why(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    cfg = _config(
        tmp_path,
        f"""[grid]
provider = "electricitymaps"
base_url = "{dead}"
zones = {{CAMX = "US-CAL-CISO"}}
token_env = "TEST_EM_TOKEN"
timeout = "2s"
""",
    )
    body, text = _report(tmp_path, cfg, {"TEST_EM_TOKEN": EM_TOKEN})
    (row,) = body["deployments"]
    expected_g = PUE * sum(_hour_kwh()) * CAMX_G
    assert row["co2_kg"] * 1000 == pytest.approx(expected_g, rel=1e-9)
    assert row["grid_intensity_source"] == "egrid2024 (static)"
    assert (row["grid_intensity_kind"], row["grid_intensity_year"]) == ("average", 2024)
    assert "did not answer" in row["grid_intensity_fallback"]
    assert "did not answer" in body["fleet"]["grid_intensity_fallback"]
    assert EM_TOKEN not in text


def test_missing_credential_variable_names_it_and_falls_back(tmp_path: Path) -> None:
    cfg = _config(
        tmp_path,
        """[grid]
provider = "electricitymaps"
zones = {CAMX = "US-CAL-CISO"}
token_env = "TEST_EM_TOKEN_UNSET"
""",
    )
    body, text = _report(tmp_path, cfg, {})
    (row,) = body["deployments"]
    assert "TEST_EM_TOKEN_UNSET" in row["grid_intensity_fallback"]
    assert row["co2_kg"] * 1000 == pytest.approx(PUE * sum(_hour_kwh()) * CAMX_G, rel=1e-9)


def test_static_default_states_the_table_and_keeps_stored_co2(tmp_path: Path) -> None:
    body, _ = _report(tmp_path, _config(tmp_path, ""), {})
    (row,) = body["deployments"]
    assert row["co2_kg"] * 1000 == pytest.approx(PUE * sum(_hour_kwh()) * CAMX_G, rel=1e-9)
    assert (row["grid_intensity_source"], row["grid_intensity_kind"],
            row["grid_intensity_year"]) == ("egrid2024 (static)", "average", 2024)  # fmt: skip
    assert body["fleet"]["grid_intensity_source"] == "egrid2024 (static)"


def test_api_v2_report_uses_the_live_provider(
    tmp_path: Path, fake: tuple[Fake, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.web.conftest import make_config, serve

    _, url = fake
    monkeypatch.setenv("TEST_EM_TOKEN", EM_TOKEN)
    db = tmp_path / "w.duckdb"
    _plant(db)
    text = _config(
        tmp_path,
        f"""[grid]
provider = "electricitymaps"
base_url = "{url}"
zones = {{CAMX = "US-CAL-CISO"}}
token_env = "TEST_EM_TOKEN"
""",
    ).read_text()
    served = serve(Store.open(db), None, make_config(tmp_path, text), clock=lambda: T0 + 4 * 3600)
    try:
        r = served.get("/api/v2/report")
    finally:
        served.close()
    assert r.status_code == 200, r.text
    kwh = _hour_kwh()
    expected_g = PUE * (kwh[0] * 300 + kwh[1] * 200 + kwh[2] * 400)
    (row,) = r.json()["deployments"]
    assert row["co2_kg"] * 1000 == pytest.approx(expected_g, rel=1e-9)
    assert row["grid_intensity_source"] == "electricitymaps"
    assert EM_TOKEN not in r.text


def test_text_report_names_the_source_and_the_fallback(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    cfg = _config(
        tmp_path,
        f"""[grid]
provider = "watttime"
base_url = "{dead}"
zones = {{CAMX = "CAISO_NORTH"}}
username_env = "TEST_WT_USER"
password_env = "TEST_WT_PASSWORD"
""",
    )
    db = tmp_path / "w.duckdb"
    _plant(db)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WATTLENS_")}
    env = {**clean, "TEST_WT_USER": WT_USER, "TEST_WT_PASSWORD": WT_PASSWORD, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "wattlens", "report", "--db", str(db), "--config", str(cfg)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Grid intensity: egrid2024 (static) (average, year 2024); fell back:" in proc.stdout
    assert WT_PASSWORD not in proc.stdout + proc.stderr
