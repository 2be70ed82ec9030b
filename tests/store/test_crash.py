"""Crash safety: a SIGKILLed writer loses nothing it committed; failed writes leave nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from wattlens.core.errors import InputError
from wattlens.store import Store

from .factories import deployment, intervals
from .procs import LineReader

WRITER = Path(__file__).with_name("crash_writer.py")


def test_sigkill_keeps_every_committed_interval(db_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, str(WRITER), str(db_path)], stdout=subprocess.PIPE)
    reader = LineReader(proc)
    try:
        committed = [float(reader.next(deadline_s=30)) for _ in range(40)]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with Store.open(db_path) as s:  # replays the WAL
        stored = set(s.intervals(None, tier="raw")["ts_end_s"].tolist())
        assert set(committed) <= stored
        # at most the one write in flight when killed may be beyond the last printed line
        assert len(stored) - len(committed) in (0, 1)
        assert [d.info.deployment_id for d in s.deployments()] == ["llm/qwen"]


def test_exception_inside_transaction_rolls_back_everything(store: Store) -> None:
    recs = intervals(n=20)
    with pytest.raises(RuntimeError, match="boom"), store.transaction():
        store.upsert_deployments([deployment()], recs[-1].ts_end_s)
        store.write_intervals(recs)
        raise RuntimeError("boom")
    assert store.deployments() == []
    assert store.last_ts() is None
    # the store is still usable afterwards
    assert store.write_intervals(recs) == len(recs)


def test_bad_record_rejects_whole_batch(store: Store) -> None:
    recs = intervals(n=20)
    bad = [*recs[:-1], replace(recs[-1], energy_source="battery")]  # type: ignore[arg-type]
    with pytest.raises(InputError, match="energy_source"):
        store.write_intervals(bad)
    assert store.last_ts() is None
    assert store.rollup_pending() == 0  # no rollup marker was left behind either
