"""The start-up backfill read and derived in a forked child (app.backfill_worker, issue #11):
through a real Prometheus holding the planted-event history, the store ends up with the
planted truth, as with the in-process backfill; a child killed mid-way loses nothing (the parent
fills the rest itself); a parent killed mid-way takes the child with it. Each forking scenario
runs in an interpreter of its own (forked_backfill, or `python -c`), whatever threads earlier
tests left in this one."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import STEP_S, History, assert_matches_truth

from forked_backfill import run_scenario, stored_totals
from servers import start_prometheus, wait_until
from wattlens.app.collector import PrometheusSource
from wattlens.core.errors import BackendError
from wattlens.telemetry.promapi import PrometheusClient

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return History(tmp_path_factory.mktemp("history"))


@pytest.fixture(scope="module")
def prom(history: History, tmp_path_factory: pytest.TempPathFactory) -> Any:
    with start_prometheus(tmp_path_factory.mktemp("prom"), backfill_openmetrics=history.path) as p:
        yield p


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "wattlens.toml"
    path.write_text(f'[collect]\nstep = "{STEP_S:g}s"\n')
    return path


def _forked(report: dict[str, Any]) -> dict[str, Any]:
    """The report of a scenario whose backfill really went through a forked child (not the
    in-process fallback `BackfillWorker.fork` takes where a thread runs)."""
    assert report["forked"], f"fork refused; threads running: {report['threads']}"
    assert report["child_pid"] != report["parent_pid"]
    assert report["child_rows"] > 0, "the child delivered no rows"
    # the child's CPU time is the parent's to account for: it was reaped
    assert report["worker_done"] and report["child_reaped"]
    return report


# The forked scenarios run in a fresh interpreter (forked_backfill): this pytest process may hold
# threads earlier tests left running, and BackfillWorker.fork then (rightly) refuses to fork.


def _forked_fill(history: History, url: str, tmp_path: Path, kill_child: bool) -> dict[str, Any]:
    """The whole history backfilled through a forked child, 10 min after its end."""
    report = run_scenario("fill", url=url, db=str(tmp_path / "w.duckdb"),
                          config=str(_config(tmp_path)), now_s=history.end_s + 600,
                          kill_child=kill_child)  # fmt: skip
    return _forked(report)


def test_forked_backfill_stores_the_planted_truth(
    history: History, prom: Any, tmp_path: Path
) -> None:
    report = _forked_fill(history, prom.url, tmp_path, kill_child=False)
    assert report["child_through_s"] == report["job_end_s"]  # the child read the whole window
    assert report["warnings"] == []
    assert_matches_truth(stored_totals(report), history.truth)


def test_child_killed_mid_backfill_parent_fills_the_rest(
    history: History, prom: Any, tmp_path: Path
) -> None:
    # 12 h chunks over a day: the child is killed once its first chunk is stored
    report = _forked_fill(history, prom.url, tmp_path, kill_child=True)
    assert report["child_through_s"] < report["job_end_s"]  # it died mid-way, not at the end
    assert any("backfill worker stopped before" in w for w in report["warnings"])
    assert_matches_truth(stored_totals(report), history.truth)


def test_parent_killed_takes_the_child_with_it(prom: Any, tmp_path: Path) -> None:
    """A parent SIGKILLed while its child reads: the child must not live on (PR_SET_PDEATHSIG),
    reading the backend for a store nobody writes."""
    cfg = _config(tmp_path)
    code = textwrap.dedent(
        f"""
        import os, sys, time
        from wattlens.app.backfill_worker import BackfillWorker, Job
        from wattlens.config import load_config
        w = BackfillWorker.fork(load_config({str(cfg)!r}))
        print(w.pid, flush=True)
        now = time.time()
        w._conn.send(Job({prom.url!r}, False, now - 2 * 86400.0, now, 600.0))
        w._conn.recv()  # the child has read and sent its first chunk: it is mid-backfill
        print("mid", flush=True)
        sys.stdin.read()  # until killed
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        child = int(parent.stdout.readline())  # type: ignore[union-attr]
        assert parent.stdout.readline().strip() == "mid"  # type: ignore[union-attr]
        assert _alive(child)
    finally:
        parent.kill()
        parent.wait(timeout=30)
    wait_until(lambda: not _alive(child), "the child to exit after its parent", timeout_s=30)


def _alive(pid: int) -> bool:
    """Running (a zombie, reaped by init once its parent is gone, counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("drop_handoff", [False, True], ids=["handoff", "read-again"])
def test_live_cycle_after_forked_backfill_completes_its_last_steps(
    history: History, prom: Any, tmp_path: Path, drop_handoff: bool
) -> None:
    """The first live cycle finishes the child's last buckets, whether this process continues
    from the child's derivation state (handoff) or, without it, its fresh deriver reads the last
    two steps again (PrometheusSource.resume): each of them, and the ones before, hold the
    planted energy of its 30 s, none partial and none missing."""
    from wattlens.emulator import truth

    now_s = history.start_s + 6 * 3600.0  # mid-history, before the planted exporter gap
    report = _forked(run_scenario("live_cycle", url=prom.url, db=str(tmp_path / "w.duckdb"),
                                  config=str(_config(tmp_path)), now_s=now_s,
                                  step_s=STEP_S, drop_handoff=drop_handoff))  # fmt: skip
    assert report["handed_over"], "the child sent no state after its last chunk"
    assert report["child_through_s"] == report["job_end_s"]
    assert report["last_ts_before_cycle_s"] == now_s - STEP_S  # the child stops at its watermark
    stored = {(b["deployment_id"], b["end_s"]): b for b in report["buckets"]}
    for end_s in (now_s - 2 * STEP_S, now_s - STEP_S, now_s):
        want = truth(history.scenario, end_s - STEP_S, end_s,
                     start_of_scenario_s=history.start_s)  # fmt: skip
        for dep, t in want.items():
            got = stored.get((dep, end_s), {"ts_end_s": [], "energy_joules": []})
            assert got["ts_end_s"] == [end_s], (dep, end_s)
            energy_joules = got["energy_joules"][0]
            assert energy_joules == pytest.approx(t.energy_joules, rel=0.01), (dep, end_s)


def test_backfill_asks_only_for_the_names_the_backend_holds(history: History, prom: Any) -> None:
    """One label-values request up front: the backfill then reads the metric names that have
    series (those of the history file promtool loaded, read here from the file itself), not the
    ones no exporter of this fleet exposes; every name where the backend cannot say."""
    from wattlens.telemetry.metrics import COLLECTED_METRICS

    text = history.path.read_text()
    in_file = {line.split("{", 1)[0].split(" ", 1)[0] for line in text.splitlines()
               if line and not line.startswith("#")}  # fmt: skip
    want = sorted(in_file & set(COLLECTED_METRICS))
    assert 0 < len(want) < len(COLLECTED_METRICS)  # the planted fleet lacks some names

    client = PrometheusClient(prom.url)
    asked: list[str] = []
    raw = client.raw

    def recording_raw(selector: str, *args: Any, **kw: Any) -> Any:
        asked.append(selector)
        return raw(selector, *args, **kw)

    client.raw = recording_raw  # type: ignore[method-assign]
    source = PrometheusSource(client)
    source.backfill(history.start_s, history.start_s + 7200.0, 3600.0, lambda b, t: None)
    assert asked == [f'{{__name__="{n}"}}' for n in want] * 2  # two 1 h chunks

    asked.clear()
    request = client._request

    def no_label_api(path: str, *args: Any, **kw: Any) -> Any:  # a backend without it
        if "label" in path:
            raise BackendError("HTTP 404")
        return request(path, *args, **kw)

    client._request = no_label_api  # type: ignore[method-assign]
    PrometheusSource(client).backfill(history.start_s, history.start_s + 3600.0, 3600.0,
                                      lambda b, t: None)  # fmt: skip
    assert asked == [f'{{__name__="{n}"}}' for n in sorted(COLLECTED_METRICS)]
    client.close()
