"""Bad input gives one clear line naming the input and exit code 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wattlens", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_unreachable_backend(tmp_path: Path) -> None:
    # Port 9 (discard) on loopback: nothing listens there in the test environment.
    proc = run_cli(
        "collect",
        "--prometheus",
        "http://127.0.0.1:9",
        "--seconds",
        "1",
        "--db",
        str(tmp_path / "w.duckdb"),
        cwd=tmp_path,
    )
    assert_one_line_error(proc, "http://127.0.0.1:9")


def test_malformed_exposition_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.om"
    bad.write_text(
        "# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n"
        'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-1"} 71.0 1700000000\n'
        'DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-1" 72.0 1700000030\n'
        "# EOF\n"
    )
    proc = run_cli("import", str(bad), "--db", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert_one_line_error(proc, "bad.om", ":3")


def test_missing_import_file(tmp_path: Path) -> None:
    proc = run_cli("import", "nope.om", "--db", str(tmp_path / "w.duckdb"), cwd=tmp_path)
    assert_one_line_error(proc, "nope.om")


@pytest.mark.parametrize("cmd", [["config", "check"], ["status"]])
def test_bad_config_key(tmp_path: Path, cmd: list[str]) -> None:
    cfg = tmp_path / "wattlens.toml"
    cfg.write_text("[carbon]\npeu = 1.2\n")
    proc = run_cli(*cmd, "--config", str(cfg), cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "peu" in proc.stderr and "pue" in proc.stderr  # names the key and suggests the fix


def test_unknown_gpu_in_scenario(tmp_path: Path) -> None:
    sc = tmp_path / "fleet.toml"
    sc.write_text(
        'name = "x"\n\n[[node]]\nname = "n1"\n\n[[deployment]]\nnamespace = "llm"\n'
        'workload = "m"\nserved_model_name = "m"\nmodel = "llama-3.1-8b"\ngpu = "H900"\n'
        'gpu_model_name = "NVIDIA H900"\ngpu_count = 1\nnode = "n1"\n'
        "idle_watts_per_gpu = 80.0\npeak_watts_per_gpu = 400.0\n"
    )
    proc = run_cli(
        "demo",
        "--scenario",
        str(sc),
        "--seconds",
        "1",
        "--db",
        str(tmp_path / "d.duckdb"),
        "--port",
        "0",
        cwd=tmp_path,
    )
    assert_one_line_error(proc, "H900")


def test_status_on_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_text("not a database")
    proc = run_cli("status", "--db", str(junk), cwd=tmp_path)
    assert_one_line_error(proc, "junk.duckdb")


def test_library_errors_are_shown_with_the_flag_typed(tmp_path: Path) -> None:
    """The library names the field (`history_days`, `scrape`); the CLI shows the option."""
    proc = run_cli("demo", "--history-days", "-1", "--db", str(tmp_path / "d.duckdb"),
                   cwd=tmp_path)  # fmt: skip
    assert_one_line_error(proc, "--history-days -1", "expected a finite number from 0")
    proc = run_cli("collect", "--scrape", "ftp://x", "--seconds", "1", "--db",
                   str(tmp_path / "c.duckdb"), cwd=tmp_path)  # fmt: skip
    assert_one_line_error(proc, "--scrape 'ftp://x'", "expected an http(s) URL")
