"""SCI per token: hand-computed from planted report rows, and the CLI over the demo fleet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wattlens.cli.main import app
from wattlens.integrations.notebook import build_demo_store
from wattlens.integrations.sci import sci_rows

YEAR_S = 365.25 * 86400.0


def test_sci_by_hand() -> None:
    rows = sci_rows({"deployments": [
        {"deployment": "a/busy", "gpu_type": "A100-80GB", "gpu_count": 8, "co2_kg": 2.0,
         "prompt_tokens": 800_000, "generation_tokens": 200_000, "covered_s": 86400.0},
        {"deployment": "b/other", "gpu_type": "RTX-A6000", "gpu_count": 2, "co2_kg": 1.0,
         "prompt_tokens": 0, "generation_tokens": 1000, "covered_s": 86400.0},
        {"deployment": "c/idle", "gpu_type": "A100-80GB", "gpu_count": 1, "co2_kg": 0.5,
         "prompt_tokens": None, "generation_tokens": None, "covered_s": 86400.0},
    ]})  # fmt: skip
    busy, other, idle = rows
    # M = 318 kg x 8 GPUs x 1 day / 4 years (Chien et al. 2023; EcoDiag lifetime)
    m = 318_000.0 * 8 * 86400.0 / (4 * YEAR_S)
    assert busy["embodied_co2_grams"] == pytest.approx(m)
    assert busy["sci_grams_per_token"] == pytest.approx((2000.0 + m) / 1_000_000)
    assert other["embodied_co2_grams"] is None and "operational only" in other["note"]
    assert other["sci_grams_per_token"] == pytest.approx(1000.0 / 1000)
    assert idle["sci_grams_per_token"] is None  # no tokens: no per-token score


def test_sci_cli_on_the_demo_fleet(tmp_path: Path) -> None:
    db = build_demo_store(tmp_path / "demo.duckdb", days=0.25, end_s=1767225600.0)
    out = CliRunner().invoke(app, ["sci", "--db", str(db), "--json"])
    assert out.exit_code == 0, out.output
    body = json.loads(out.stdout)
    rows = {r["deployment"]: r for r in body["deployments"]}
    assert rows["nrp-llm/qwen3-5-397b"]["embodied_source"].startswith("Chien et al.")
    assert rows["nrp-llm/gpt-oss-120b"]["embodied_co2_grams"] is None  # RTX A6000: no figure
    assert body["method"]["lifetime_years"] == 4.0


def test_report_sci_json_and_text(tmp_path: Path) -> None:
    db = build_demo_store(tmp_path / "demo.duckdb", days=0.25, end_s=1767225600.0)
    out = CliRunner().invoke(app, ["report", "--db", str(db), "--json", "--sci"])
    assert out.exit_code == 0, out.output
    body = json.loads(out.stdout)
    report = {r["deployment"]: r for r in body["deployments"]}
    sci = {r["deployment"]: r for r in body["sci"]["deployments"]}
    assert set(sci) == set(report)
    a100 = "nrp-llm/qwen3-5-397b"
    r = report[a100]
    # by hand from the report row: ((E x I) + M) / R, M = 318 kg x GPUs x covered / 4 years
    m = 318_000.0 * r["gpu_count"] * r["covered_s"] / (4 * YEAR_S)
    tokens = r["prompt_tokens"] + r["generation_tokens"]
    assert sci[a100]["sci_grams_per_token"] == pytest.approx((r["co2_kg"] * 1000 + m) / tokens)
    assert sci[a100]["embodied_included"] is True
    a6000 = sci["nrp-llm/gpt-oss-120b"]
    assert a6000["embodied_included"] is False and "operational only" in a6000["note"]
    assert a6000["sci_grams_per_token"] == pytest.approx(
        report["nrp-llm/gpt-oss-120b"]["co2_kg"] * 1000
        / (report["nrp-llm/gpt-oss-120b"]["prompt_tokens"]
           + report["nrp-llm/gpt-oss-120b"]["generation_tokens"]))  # fmt: skip
    text = CliRunner().invoke(app, ["report", "--db", str(db), "--sci"])
    assert text.exit_code == 0, text.output
    assert "SCI per token" in text.stdout and "mg CO2e/token *" in text.stdout


def test_every_catalog_gpu_has_a_figure_or_a_stated_finding() -> None:
    from wattlens.catalog.gpus import all_gpus
    from wattlens.integrations.sci import embodied_table

    table = embodied_table()
    covered = {g for e in table["gpu"] for g in e["gpu_types"]}
    checked = {g for e in table["checked_without_figure"] for g in e["gpu_types"]}
    assert not covered & checked
    assert {g.id for g in all_gpus()} <= covered | checked
    assert all(e["finding"] and e["year"] for e in table["checked_without_figure"])
