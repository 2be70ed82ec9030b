"""Acceptance (#10): right-sizing a fleet whose models are outside the old catalog.

tests/analysis/data/fleet-new-models.toml has the hand-worked GPU counts in its header.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.analysis.conftest import Emulated

from wattlens.analysis import AnalysisOptions, analyze
from wattlens.analysis.render import deployments_table, unknown_models_lines


@pytest.fixture(scope="module")
def rows(emulated: Callable[[str], Emulated]) -> dict[str, dict[str, Any]]:
    e = emulated("fleet-new-models")
    opts = AnalysisOptions.default().with_(model_hub=False)  # the test machines reach no hub
    with e.open() as store:
        result = analyze(store, range_s=e.end_s - e.start_s, end_s=e.end_s, options=opts)
    return {r["deployment_id"]: r for r in result["deployments"]}


def test_qwen25_72b_on_8_h100_is_flagged(rows: dict[str, dict[str, Any]]) -> None:
    r = rows["llm/qwen25-72b-x8"]
    assert r["model"]["id"] == "qwen2.5-72b" and r["model"]["source"] == "catalog_hf_config"
    assert r["model"]["matched_by"] == "exact"
    rs = r["right_sizing"]
    conc = rs["assumptions"]["peak_concurrency"]
    assert rs["status"] == "oversized" and rs["flagged"]
    assert conc >= 2 and rs["recommended_gpu_count"] == 4
    assert rs["model"]["source"] == "catalog_hf_config"


def test_gemma3_12b_on_2_l40s_fits_on_one(rows: dict[str, dict[str, Any]]) -> None:
    r = rows["apps/gemma3-12b-x2"]
    assert r["model"]["id"] == "gemma-3-12b"
    rs = r["right_sizing"]
    assert rs["status"] == "oversized" and rs["recommended_gpu_count"] == 1


def test_estimated_model_is_flagged_as_such(rows: dict[str, dict[str, Any]]) -> None:
    r = rows["research/house-34b-x4"]
    assert r["model"]["source"] == "estimated_from_name"
    assert r["model"]["uncertainty_fraction"] == 0.25
    rs = r["right_sizing"]
    assert rs["recommended_gpu_count"] == 2 and "estimated from the name" in rs["reason"]
    assert rs["assumptions"]["weights_bytes"] == pytest.approx(34e9 * 1.25 * 2)


def test_unknown_model_is_never_silent(rows: dict[str, dict[str, Any]]) -> None:
    r = rows["research/mystery-x2"]
    assert r["model"]["id"] is None and "acme/mystery-model" in r["model"]["reason"]
    rs = r["right_sizing"]
    assert rs["status"] == "unknown_model" and not rs["flagged"]
    assert "acme/mystery-model" in rs["reason"] and "[models]" in rs["reason"]


def test_cli_tables_show_unknown_and_estimated(rows: dict[str, dict[str, Any]]) -> None:
    from rich.console import Console

    result = {"deployments": list(rows.values())}
    console = Console(record=True, width=250)
    console.print(deployments_table(result))
    text = console.export_text()
    assert "estimated from name" in text and "unknown" in text
    assert any("mystery" in line for line in unknown_models_lines(result))
