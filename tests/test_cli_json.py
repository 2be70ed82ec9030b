"""`status --json`, `report --json`, `import` and `export` through the real CLI process on an
emulator history whose truth is planted; expected numbers come from the emulator's truth and
from plain arithmetic (W x kg/kWh = g/h)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from wattlens.emulator import load_scenario, truth, write_history
from wattlens.telemetry.metrics import WANTED_METRICS

STATUS_KEYS = {
    "deployment", "namespace", "model_name", "gpu_type", "gpu_count", "node", "power_watts",
    "prompt_tokens_per_s", "generation_tokens_per_s", "joules_per_token",
    "co2_grams_per_hour", "co2_mg_per_token", "carbon_intensity_kg_per_kwh", "energy_source",
    "grid_region_source",
}  # fmt: skip
REPORT_KEYS = {
    "deployment", "namespace", "model_name", "gpu_type", "gpu_count", "energy_kwh",
    "prompt_tokens", "generation_tokens", "co2_kg", "joules_per_token_active",
}  # fmt: skip


def cli(*args: str, cwd: Path) -> str:
    proc = subprocess.run([sys.executable, "-m", "wattlens", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, float, float]:
    root = tmp_path_factory.mktemp("cli")
    sc = load_scenario("nrp")
    start = 1_760_000_000.0
    end = start + 6 * 3600.0
    om = root / "nrp.om"
    write_history(sc, om, start_s=start, end_s=end, step_s=30.0, wanted=WANTED_METRICS)
    cli("import", str(om), "--db", str(root / "w.duckdb"), cwd=root)
    return root, truth(sc, start, end, start_of_scenario_s=start), start, end


def test_report_json_totals_match_truth(imported: tuple[Path, dict, float, float]) -> None:
    root, want, _, _ = imported
    out = json.loads(cli("report", "--db", str(root / "w.duckdb"), "--json", cwd=root))
    rows = {r["deployment"]: r for r in out["deployments"]}
    fleet = out["fleet"]
    assert "fleet" not in rows  # the fleet totals are not a row a client could double-count
    assert set(rows) == set(want)
    for key, t in want.items():
        r = rows[key]
        assert r.keys() >= REPORT_KEYS
        assert r["energy_kwh"] == pytest.approx(t.energy_joules / 3.6e6, rel=0.01)
        assert r["prompt_tokens"] == pytest.approx(t.prompt_tokens, rel=0.01, abs=1)
        assert r["generation_tokens"] == pytest.approx(t.generation_tokens, rel=0.01, abs=1)
        assert r["gpu_count"] == t.gpu_count
    assert fleet["energy_kwh"] == pytest.approx(
        sum(t.energy_joules for t in want.values()) / 3.6e6, rel=0.01
    )
    assert fleet["gpu_count"] == sum(t.gpu_count for t in want.values())
    assert fleet["deployment_count"] == len(want)
    # gpt-oss-120b is busy all the time, so its active J/token is the window's energy / tokens.
    gpt = want["nrp-llm/gpt-oss-120b"]
    assert rows["nrp-llm/gpt-oss-120b"]["joules_per_token_active"] == pytest.approx(
        gpt.energy_joules / gpt.total_tokens, rel=0.01
    )
    assert rows["sdsc-llm/kimi-k2-5"]["joules_per_token_active"] is None  # idle: no ratio


def test_status_json_keys_and_arithmetic(imported: tuple[Path, dict, float, float]) -> None:
    root, _, _, _ = imported
    out = json.loads(cli("status", "--db", str(root / "w.duckdb"), "--json", cwd=root))
    rows = {r["deployment"]: r for r in out["deployments"]}
    for r in rows.values():
        assert r.keys() >= STATUS_KEYS
        assert r["co2_grams_per_hour"] == pytest.approx(
            r["power_watts"] * r["carbon_intensity_kg_per_kwh"], rel=1e-9
        )  # W x kg/kWh = g/h at PUE 1 (carbon.md §1)
        if r["joules_per_token"] is not None:
            tok = r["prompt_tokens_per_s"] + r["generation_tokens_per_s"]
            assert r["joules_per_token"] == pytest.approx(r["power_watts"] / tok, rel=1e-9)
            assert r["co2_mg_per_token"] == pytest.approx(
                r["co2_grams_per_hour"] * 1000 / (tok * 3600), rel=1e-9
            )
    olmo = rows["nrp-llm/olmo"]
    assert olmo["joules_per_token"] is None and olmo["co2_mg_per_token"] is None
    assert olmo["node"].endswith(".unl.edu")
    # eGRID2024 MROW 862.6 lb/MWh (EPA GHG Emission Factors Hub 2026) = 0.3913 kg/kWh
    assert olmo["carbon_intensity_kg_per_kwh"] == pytest.approx(862.6 * 0.45359237 / 1000)


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_export_round_trip(imported: tuple[Path, dict, float, float], suffix: str) -> None:
    root, want, _, _ = imported
    out = root / f"export.{suffix}"
    cli("export", str(out), "--db", str(root / "w.duckdb"), cwd=root)
    reader = "read_parquet" if suffix == "parquet" else "read_csv_auto"
    rows = duckdb.sql(
        f"SELECT deployment_id, sum(energy_joules) FROM {reader}('{out}') GROUP BY 1"
    ).fetchall()
    got = dict(rows)
    for key, t in want.items():
        assert got[key] == pytest.approx(t.energy_joules, rel=0.01)
    assert not any(math.isnan(v) for v in got.values())


def test_tables_never_cut_numbers_at_80_columns(imported: tuple[Path, dict, float, float]) -> None:
    """Piped at 80 columns, every number of the report appears whole (names may fold)."""
    root, want, _, _ = imported
    env = {**os.environ, "COLUMNS": "80"}
    proc = subprocess.run([sys.executable, "-m", "wattlens", "report", "--db",
                           str(root / "w.duckdb")], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "…" not in proc.stdout
    for t in want.values():
        assert f"{round(t.generation_tokens):,}" in proc.stdout


def test_version() -> None:
    import wattlens

    proc = subprocess.run([sys.executable, "-m", "wattlens", "--version"], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 0 and proc.stdout.strip() == f"wattlens {wattlens.__version__}"


def test_import_progress_estimates_the_total(imported: tuple[Path, dict, float, float]) -> None:
    from wattlens.cli.render import estimate_samples

    root, _, _, _ = imported
    path = root / "nrp.om"
    true = sum(1 for ln in path.read_bytes().splitlines() if ln and not ln.startswith(b"#"))
    assert estimate_samples(path) == pytest.approx(true, rel=0.1)
