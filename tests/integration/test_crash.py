"""Kill the collector with SIGKILL while it writes, then restart: the store opens, history is
intact up to the last committed interval, and collection resumes without rewriting it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from wattlens.emulator import EmulatorServer, load_scenario
from wattlens.store import Store

pytestmark = pytest.mark.integration

CYCLE = re.compile(r"^cycle .*committed_through=(\d+)")


def collector(db: Path, cfg: Path, sd: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wattlens",
            "collect",
            "--sd",
            sd,
            "--db",
            str(db),
            "--config",
            str(cfg),
            "-v",
            *extra,
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def committed_lines(proc: subprocess.Popen[str], n: int, timeout_s: float = 60.0) -> list[float]:
    """Read stderr until `n` cycles have committed intervals (deadline, no sleeps)."""
    found: list[float] = []
    done = threading.Event()

    def read() -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            m = CYCLE.match(line)
            if m:
                found.append(float(m.group(1)))
                if len(found) >= n:
                    break
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(timeout_s), f"collector committed only {len(found)} cycles in {timeout_s}s"
    return found


def test_sigkill_during_writes_then_restart(tmp_path: Path) -> None:
    cfg = tmp_path / "wattlens.toml"
    cfg.write_text('[scrape]\ninterval = "1s"\n\n[collect]\nstep = "2s"\n')
    db = tmp_path / "w.duckdb"
    sc = load_scenario("test-events")
    with EmulatorServer(sc, start_s=time.time() - 5 * 3600) as emu:
        proc = collector(db, cfg, f"{emu.url}/sd")
        committed = committed_lines(proc, 6)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        last_committed = max(committed)

        with Store.open(db, read_only=True) as store:
            assert store.last_ts() >= last_committed
            before = store.intervals(None, None, last_committed, tier="raw")
            deployments = {d.info.deployment_id for d in store.deployments()}
        assert deployments == set(sc.keys())
        for dep in deployments:  # contiguous 2 s intervals, no hole, up to the last commit
            ts = np.sort(before["ts_end_s"][before["deployment_id"] == dep])
            assert ts[-1] == last_committed
            assert np.all(np.diff(ts) == 2.0), dep

        proc = collector(db, cfg, f"{emu.url}/sd", "--seconds", "6")
        out = proc.communicate(timeout=60)[1]
        assert proc.returncode == 0, out
    with Store.open(db, read_only=True) as store:
        assert store.last_ts() > last_committed
        after = store.intervals(None, None, last_committed, tier="raw")
    # Nothing committed before the crash was rewritten by the restarted collector.
    for col in ("ts_end_s", "energy_joules", "prompt_tokens", "generation_tokens"):
        np.testing.assert_array_equal(before[col], after[col])
