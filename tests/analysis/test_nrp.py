"""The NRP numbers: the seed issue's table and the methodology page's frontier example.

Seed issue (boettiger-lab/nrp-carbon-api #3, `shared/seeds/000_*.txt`), April 2026:
    gpt-oss-120b 597 W, 2x A6000, 2341 tok/s, 0.26 J/token | gemma-4-31B 577 W, 360 tok/s, 1.60 |
    Qwen3.5-397B 783 W, 8x A100, 18 tok/s, 43.5 | Kimi-K2.5 670 W idle | MiniMax-M2.5 447 W idle.
Frontier example (NRP methodology page, reference carbon.md section 5): Qwen3.5-397B at 783 W
with 3 prompt + 15 generation tok/s -> 24 x 225 + 3 x 0.5 + 15 x 6.0 = 5,491.5 W -> 7.0x.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from wattlens.analysis import AnalysisOptions, analyze, compare_to_frontier
from wattlens.analysis.curves import format_joules_per_token
from wattlens.analysis.render import render_analysis
from wattlens.core.records import DeploymentInfo
from wattlens.store import Store

END_S = 1_775_001_600.0
STEP_S = 30.0
# (workload, served model, GPU, count, W, prompt tok/s, generation tok/s)
NRP = [
    ("gpt-oss-120b", "gpt-oss-120b", "RTX-A6000", 2, 597.0, 2100.0, 241.0),
    ("gemma-4-31b", "gemma-4-31B", "RTX-A6000", 2, 577.0, 259.2, 100.8),
    ("qwen35-397b", "Qwen/Qwen3.5-397B-A17B", "A100-80GB", 8, 783.0, 3.0, 15.0),
    ("kimi-k25", "moonshotai/Kimi-K2.5", "A100-80GB", 8, 670.0, 0.0, 0.0),
    ("minimax-m25", "MiniMaxAI/MiniMax-M2.5", "A100-80GB", 4, 447.0, 0.0, 0.0),
]
EXPECTED_J_PER_TOKEN = {  # as printed in the seed issue's table
    "gpt-oss-120b": "0.26",
    "gemma-4-31b": "1.60",
    "qwen35-397b": "43.5",
    "kimi-k25": "-",
    "minimax-m25": "-",
}


@pytest.fixture(scope="module")
def nrp_result(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two hours of the NRP snapshot at constant rates, written straight into a store."""
    path: Path = tmp_path_factory.mktemp("nrp") / "wattlens.duckdb"
    n = 240
    ts = END_S - STEP_S * np.arange(n)[::-1]
    with Store.open(path) as store:
        infos = [DeploymentInfo(f"nrp-llm/{w}", "nrp-llm", w, m, g, None, c, "node", "vllm", "CAMX")
                 for w, m, g, c, *_ in NRP]  # fmt: skip
        store.upsert_deployments(infos, END_S)
        for (w, _, _, c, watts, prompt, gen), _info in zip(NRP, infos, strict=True):
            energy = np.full(n, watts * STEP_S)
            store.write_intervals_columns({
                "deployment_id": [f"nrp-llm/{w}"] * n, "ts_end_s": ts,
                "interval_s": np.full(n, STEP_S), "energy_joules": energy,
                "energy_source": ["counter"] * n, "prompt_tokens": np.full(n, prompt * STEP_S),
                "generation_tokens": np.full(n, gen * STEP_S),
                "requests_running": np.full(n, gen / 30.0), "gpu_count": np.full(n, c),
                "carbon_intensity_kg_per_kwh": np.full(n, 0.198), "pue": np.ones(n),
                "co2_grams": energy / 3.6e6 * 0.198 * 1000, "sample_count": np.full(n, 10),
            })  # fmt: skip
        opts = AnalysisOptions.default().with_(frontier_spec="nrp-2026")
        return analyze(store, range_s=n * STEP_S, options=opts)


def test_seed_table_joules_per_token(nrp_result: dict[str, Any]) -> None:
    rows = {r["deployment_id"].split("/")[1]: r for r in nrp_result["deployments"]}
    for w, _, _, _, watts, prompt, gen in NRP:
        row = rows[w]
        assert row["mean_power_watts"] == pytest.approx(watts)
        assert format_joules_per_token(row["joules_per_token"]) == EXPECTED_J_PER_TOKEN[w]
        if prompt + gen:
            assert row["joules_per_token"] == pytest.approx(watts / (prompt + gen))
    assert rows["gpt-oss-120b"]["joules_per_token"] == pytest.approx(0.255, abs=5e-4)


def test_seed_table_idle_models_are_all_idle_overhead(nrp_result: dict[str, Any]) -> None:
    rows = {r["deployment_id"].split("/")[1]: r for r in nrp_result["deployments"]}
    for w in ("kimi-k25", "minimax-m25"):
        assert rows[w]["zero_token_energy_kwh"] == pytest.approx(rows[w]["energy_kwh"])
        assert rows[w]["consolidation"]["recommended"] == "scale_to_zero"
    # The idle ones are the fleet's zero-traffic samples: 240 intervals each at 670/8 = 83.75
    # and 447/4 = 111.75 W per GPU, so the median lies between the two.
    a100 = nrp_result["idle_power_per_gpu_watts"]["A100-80GB"]
    assert a100["source"] == "learned" and a100["method"] == "zero_traffic"
    assert 670 / 8 <= a100["value"] <= 447 / 4


def test_frontier_example_under_the_old_spec() -> None:
    out = compare_to_frontier(3.0, 15.0, 783.0, "nrp-2026", AnalysisOptions.default())
    assert out["frontier_watts"] == pytest.approx(24 * 225 + 3 * 0.5 + 15 * 6.0)  # 5,491.5 W
    assert round(out["frontier_watts"]) == 5492
    assert f"{out['ratio']:.1f}" == "7.0"
    assert out["label"] == "less energy"


def test_frontier_example_through_analyze(nrp_result: dict[str, Any]) -> None:
    rows = {r["deployment_id"].split("/")[1]: r for r in nrp_result["deployments"]}
    qwen = rows["qwen35-397b"]
    assert qwen["frontier"]["spec"] == "nrp-2026"
    assert qwen["frontier"]["frontier_watts"] == pytest.approx(5491.5)
    assert qwen["frontier_ratio"] == pytest.approx(5491.5 / 783.0)
    assert rows["kimi-k25"]["frontier_ratio"] is None  # no tokens: no comparison


def test_render_shows_the_seed_numbers(nrp_result: dict[str, Any]) -> None:
    console = Console(record=True, width=220)
    render_analysis(nrp_result, console)
    text = console.export_text()
    for value in ("0.26", "1.60", "43.5", "7.0x"):
        assert value in text


def test_analyze_text_names_the_frontier_spec(nrp_result: dict[str, Any]) -> None:
    """`analyze` says which spec its frontier column compares against (issue #11)."""
    from rich.console import Console

    from wattlens.analysis.render import render_analysis

    console = Console(record=True, width=250)
    render_analysis(nrp_result, console)
    assert "frontier spec nrp-2026" in console.export_text()


def test_the_frontier_default_is_the_catalogs() -> None:
    """One source: analysis options take the default spec from catalog/frontier.toml."""
    import tomllib
    from importlib import resources

    text = resources.files("wattlens.catalog").joinpath("frontier.toml").read_text()
    assert AnalysisOptions.default().frontier_spec == tomllib.loads(text)["default"]
