"""The notebook API returns DataFrames that agree with the CLI's numbers, and the example
notebook runs headless (nbclient) from top to bottom."""

from __future__ import annotations

import math
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

import wattlens
from wattlens.app.ops import report
from wattlens.integrations.notebook import build_demo_store
from wattlens.store import Store

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "examples" / "efficiency.ipynb"
END_S = 1767225600.0  # 2026-01-01T00:00Z: a fixed day, so the test is the same every run


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_store(tmp_path_factory.mktemp("nb") / "demo.duckdb", days=1, end_s=END_S)


def test_open_returns_dataframes_matching_the_report(demo_db: Path) -> None:
    with wattlens.open(demo_db) as fleet:
        deps = fleet.deployments()
        got = fleet.report()
        series = fleet.series(["power_watts", "tokens_per_s"], step="1h")
        analysis = fleet.analyze(range="1d")
    assert isinstance(deps, pd.DataFrame) and len(deps) == 6  # the nrp scenario's six
    with Store.open(demo_db, read_only=True) as store:
        body = report(store, since_s=None, until_s=None, min_tokens_per_s=5.0)
    want = {r["deployment"]: r for r in body["deployments"]}
    for dep, row in want.items():
        assert got.loc[dep, "energy_kwh"] == pytest.approx(row["energy_kwh"], rel=1e-12)
    # hourly power x 1 h sums to the reported energy (first hour partial: covered time differs)
    hourly = series.groupby("deployment")["power_watts"].sum()
    for dep, row in want.items():
        assert hourly[dep] * 3600 / 3.6e6 == pytest.approx(row["energy_kwh"], rel=0.03), dep
    assert set(series.columns) == {"time", "deployment", "power_watts", "tokens_per_s"}
    assert str(series["time"].dt.tz) == "UTC"
    assert set(analysis.index) == set(deps.index) and "idle_fraction" in analysis
    assert not math.isnan(analysis.attrs["fleet"]["energy_kwh"])


def test_example_notebook_executes(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]  # fmt: skip
    assert not errors
    text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert "idle deployments:" in text and "J/token at low traffic" in text
