"""Crash safety (issue 14): SIGKILL `wattlens demo` at random points while it seeds its history
and collects, then restart it on the same DuckDB file, many times.

Every restart must open the file; every interval stored before a kill must still be there with
the same values (a restart re-reads the last steps, and once rewrote them with less complete
re-derivations, so the fleet total flipped between two values); the stored total never
decreases; and after the last restart the history matches the emulator's planted truth, so no
interval was lost or counted twice.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from servers import wait_until
from wattlens.emulator import load_scenario, truth
from wattlens.store import Store

from .procs import KILLS, energy_total, same_row, snapshot, wattlens

SCENARIO = "test-events"  # counter reset at +9h, exporter gap +10h..+12h, pod restarts
HISTORY_DAYS = "0.5"
MAX_KILL_DELAY_S = 3.0  # after the store is open: seeding, starting the web app, collecting


def _writer_pid(db: Path) -> int | None:
    try:
        return int(json.loads(db.with_name(db.name + ".writer.json").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None


def _demo(db: Path, *extra: str) -> subprocess.Popen[bytes]:
    return wattlens(
        "demo", "--db", str(db), "--scenario", SCENARIO, "--history-days", HISTORY_DAYS,
        "--port", "0", *extra,
    )  # fmt: skip


def _kept_or_completed(old: tuple[float, ...], new: tuple[float, ...] | None) -> bool:
    """A stored interval is kept as it was, or (a partial one) completed: as many samples or
    more, more seconds covered, and no less energy or tokens. Never lost, never shrunk."""
    if new is None:
        return False
    if same_row(old, new):
        return True
    energy, covered, samples, *tokens = old
    n_energy, n_covered, n_samples, *n_tokens = new
    grew = all(b >= a or (a != a and b != b) for a, b in zip(tokens, n_tokens, strict=True))
    return n_samples >= samples and n_covered > covered and n_energy >= energy and grew


@pytest.mark.slow
def test_sigkill_at_random_points_never_loses_or_rewrites_history(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    rng = random.Random(14)
    before: dict[tuple[str, float], tuple[float, ...]] = {}
    totals: list[float] = []
    for kill in range(KILLS):
        proc = _demo(db)
        try:
            wait_until(
                lambda p=proc: _writer_pid(db) == p.pid or p.poll() is not None,
                "demo opening its store",
                timeout_s=60,
            )
            assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
            # The kill point, drawn at random (not a wait for anything).
            time.sleep(rng.uniform(0.0, MAX_KILL_DELAY_S))
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            proc.stderr.close()  # type: ignore[union-attr]
        assert proc.returncode == -signal.SIGKILL
        after = snapshot(db)  # the file opens (the write-ahead log replays)
        changed = [k for k, v in before.items() if not _kept_or_completed(v, after.get(k))]
        assert not changed, f"kill {kill}: stored intervals lost or rewritten: " + "; ".join(
            f"{k}: {before[k]} -> {after.get(k)}" for k in changed[:4]
        )
        totals.append(energy_total(after))
        assert totals == sorted(totals), f"kill {kill}: stored energy went down: {totals}"
        before = after

    # A clean run after the last kill: it opens the file, fills the gap and stops.
    proc = _demo(db, "--seconds", "0")
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    final = snapshot(db)
    assert all(_kept_or_completed(v, final.get(k)) for k, v in before.items())

    with Store.open(db, read_only=True) as store:
        start_s = float(store.get_meta("demo.scenario_start_s") or "nan")
        end_s = (store.last_ts() or 0.0) - 120.0  # well before the run's partial last intervals
        stored = {t["deployment_id"]: t for t in store.totals(start_s, end_s)}
    want = truth(load_scenario(SCENARIO), start_s, end_s, start_of_scenario_s=start_s)
    assert set(stored) == set(want)
    for key, t in want.items():  # nothing lost, nothing counted twice
        assert stored[key]["energy_joules"] == pytest.approx(t.energy_joules, rel=0.01), key
        if t.generation_tokens is not None:
            got = stored[key]["generation_tokens"]
            assert got == pytest.approx(t.generation_tokens, rel=0.01), key
