"""The CLI against a running service (`--url`) gives what it gives from the store file, and the
writer lock names the real writer and how to read through it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from servers import wait_until
from wattlens.emulator import load_scenario, write_history
from wattlens.telemetry.metrics import WANTED_METRICS

START_S = 1_760_000_000.0


def cli(cwd: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTLENS_")}
    proc = subprocess.run([sys.executable, "-m", "wattlens", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


class Service:
    """`wattlens serve` in a subprocess; `url` once it has printed where it listens."""

    def __init__(self, cwd: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WATTLENS_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "wattlens", "serve", "--port", "0", *args],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self.url = ""

        def ready() -> bool:
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline()
            self.lines.append(line)
            found = re.search(r"(http://127\.0\.0\.1:\d+)", line)
            if found:
                self.url = found.group(1)
            return bool(self.url) or self.proc.poll() is not None

        wait_until(ready, "serve to print its URL", timeout_s=120)
        assert self.url, "".join(self.lines)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("client")
    om = root / "nrp.om"
    write_history(load_scenario("nrp"), om, start_s=START_S, end_s=START_S + 3 * 3600,
                  step_s=30.0, wanted=WANTED_METRICS)  # fmt: skip
    cli(root, "import", str(om), "--db", str(root / "w.duckdb"))
    return root


@pytest.fixture(scope="module")
def stored(history: Path) -> Iterator[Service]:
    """`serve --db FILE` with no source: the stored history alone, read-only."""
    svc = Service(history, "--db", str(history / "w.duckdb"))
    yield svc
    svc.stop()


@pytest.mark.parametrize(
    "args",
    [("status",), ("report",), ("report", "--since", str(START_S + 3600)), ("analyze",
     "--range", "3h")],
    ids=["status", "report", "report-since", "analyze"],
)  # fmt: skip
def test_url_gives_the_file_answer(history: Path, stored: Service, args: tuple[str, ...]) -> None:
    from_file = json.loads(cli(history, *args, "--json", "--db", str(history / "w.duckdb")).stdout)
    via_api = json.loads(cli(history, *args, "--json", "--url", stored.url).stdout)
    assert via_api == from_file
    assert from_file["deployments"]


def test_url_export_matches_file_export(history: Path, stored: Service) -> None:
    cli(history, "export", str(history / "file.csv"), "--db", str(history / "w.duckdb"))
    cli(history, "export", str(history / "api.csv"), "--url", stored.url)
    file_rows = (history / "file.csv").read_text().splitlines()
    api_rows = (history / "api.csv").read_text().splitlines()
    assert len(file_rows) > 100 and sorted(api_rows) == sorted(file_rows)


def test_stored_only_service_says_so(stored: Service) -> None:
    import httpx

    status: dict[str, Any] = httpx.get(f"{stored.url}/api/v2/status", timeout=30).json()
    assert status["collection"] == {"mode": "stored_only", "failures": []}
    assert status["backend"]["state"] == "none"


def test_writer_lock_names_the_writer_and_its_url(tmp_path: Path) -> None:
    db = tmp_path / "held.duckdb"
    svc = Service(tmp_path, "--db", str(db), "--prometheus", "http://127.0.0.1:9")
    try:
        proc = cli(tmp_path, "status", "--db", str(db), ok=False)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert "`wattlens serve`" in proc.stderr and f"--url {svc.url}" in proc.stderr
        # ... and it says so while the backend it reads from is down
        got = json.loads(cli(tmp_path, "status", "--json", "--url", svc.url).stdout)
        assert got == {"deployments": []}
    finally:
        svc.stop()


def test_impossible_and_empty_ranges_are_errors(history: Path) -> None:
    db = str(history / "w.duckdb")
    proc = cli(history, "report", "--db", db, "--range", "0d", ok=False)
    assert proc.returncode == 2 and "--range '0d'" in proc.stderr
    proc = cli(history, "report", "--db", db, "--since", "2030-01-01", ok=False)
    assert proc.returncode == 2 and "is not before now" in proc.stderr
    proc = cli(history, "report", "--db", db, "--since", "10d", "--until", "7d", ok=False)
    assert proc.returncode == 2 and "no stored data between" in proc.stderr
    assert "the store holds" in proc.stderr
