"""The forked start-up backfill (app.backfill_worker) run in an interpreter of its own.

`BackfillWorker.fork` refuses to fork while another Python thread runs (it returns None and the
caller backfills in its own process). A pytest process may still hold threads that earlier tests
left (a web server's, AnyIO's workers), so tests/app/test_backfill_worker.py runs each forked
scenario through `run_scenario`: a fresh `python` that starts no thread before it forks, runs the
scenario and prints a JSON report on its last line of stdout. The tests compare that report with
the planted truth; nothing here computes what is expected.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.integration.conftest import collect_via_api

from wattlens.app.backfill_worker import BackfillWorker, Job
from wattlens.app.collector import Collector, PrometheusSource
from wattlens.app.ops import make_deriver
from wattlens.app.runner import backfill
from wattlens.config import load_config
from wattlens.derive.engine import DeriveOptions
from wattlens.store import Store
from wattlens.telemetry.promapi import PrometheusClient

# The scenario's own run: generous beside the ~5 s a one-day backfill takes, short of pytest's 300.
SCENARIO_TIMEOUT_S = 240.0
_ROOT = Path(__file__).resolve().parent.parent  # `tests.integration.conftest` is found from here


def run_scenario(name: str, **kwargs: Any) -> dict[str, Any]:
    """Run scenario `name` (`fill` or `live_cycle`) with `kwargs` in a fresh interpreter and
    return its report."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run(
        [sys.executable, __file__, name, json.dumps(kwargs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=SCENARIO_TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 0, f"scenario {name} exited {proc.returncode}:\n{proc.stderr}"
    report: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return report


def stored_totals(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A `fill` report's totals in the shape `assert_matches_truth` reads (`info` attributes)."""
    return {d: {**t, "info": SimpleNamespace(**t["info"])} for d, t in report["totals"].items()}


class _RecordingWorker(BackfillWorker):
    """A BackfillWorker that keeps what its child delivered: (read through, rows written)."""

    job_end_s: float | None = None
    delivered: tuple[float, int] | None = None
    drop_handoff = False  # forget the child's state: the parent reads the last steps again
    handed_over = False

    def run(
        self, job: Job, collector: Collector, progress: Callable[[float], None] | None = None
    ) -> tuple[float, int]:
        self.job_end_s = job.end_s
        self.delivered = super().run(job, collector, progress)
        self.handed_over = self.handoff is not None
        if self.drop_handoff:
            self.handoff = None
        return self.delivered

    def report(self) -> dict[str, Any]:
        through_s, rows = self.delivered if self.delivered is not None else (None, 0)
        try:
            os.waitpid(self.pid, os.WNOHANG)
            reaped = False
        except ChildProcessError:  # no longer a child of this process: it was reaped
            reaped = True
        return {
            "forked": True,
            "child_pid": self.pid,
            "parent_pid": os.getpid(),
            "job_end_s": self.job_end_s,
            "child_through_s": through_s,
            "child_rows": rows,
            "child_reaped": reaped,
            "worker_done": self.done,
            "handed_over": self.handed_over,
        }


def _fork(config: str) -> _RecordingWorker | dict[str, Any]:
    """The forked worker, or the report that fork was refused (and which threads ran)."""
    threads = [t.name for t in threading.enumerate()]
    worker = _RecordingWorker.fork(load_config(Path(config)))
    if worker is None:
        return {"forked": False, "threads": threads}
    assert isinstance(worker, _RecordingWorker)
    return worker


def _fill(url: str, db: str, config: str, now_s: float, kill_child: bool) -> dict[str, Any]:
    """The start-up backfill through a forked child; with `kill_child`, the child is SIGKILLed
    once its first chunk is stored and this process fills the rest."""
    rec = _fork(config)
    if isinstance(rec, dict):
        return rec
    warnings: list[str] = []
    handler = _ListHandler(warnings)
    logging.getLogger("wattlens.app.backfill_worker").addHandler(handler)

    def tick(fraction: float) -> None:
        if kill_child and not rec.done and fraction < 1.0:
            os.kill(rec.pid, signal.SIGKILL)  # after its first chunk is stored

    got = collect_via_api(url, Path(db), now_s=now_s, worker=rec, progress=tick)
    totals = {
        dep: {
            "energy_joules": _num(t["energy_joules"]),
            "prompt_tokens": _num(t["prompt_tokens"]),
            "generation_tokens": _num(t["generation_tokens"]),
            "info": {"gpu_count": t["info"].gpu_count, "model_name": t["info"].model_name},
        }
        for dep, t in got.items()
    }
    return {**rec.report(), "warnings": warnings, "totals": totals}


def _live_cycle(
    url: str, db: str, config: str, now_s: float, step_s: float, drop_handoff: bool
) -> dict[str, Any]:
    """A one-day backfill through a forked child ending at `now_s`, then the first live cycle
    45 s later; the raw intervals of the last three steps of every deployment. With
    `drop_handoff`, this process ignores the child's state and reads the last steps again."""
    rec = _fork(config)
    if isinstance(rec, dict):
        return rec
    rec.drop_handoff = drop_handoff
    client = PrometheusClient(url)
    source = PrometheusSource(client)
    buckets: list[dict[str, Any]] = []
    with Store.open(Path(db)) as store:
        collector = Collector(
            store,
            make_deriver(DeriveOptions(step_s=step_s)),
            source,
            clock=lambda: now_s + 45.0,  # the first live cycle, 45 s after the backfill's end
        )
        backfill(collector, source, client, now_s=now_s, max_back_s=86400.0,
                 worker=rec)  # fmt: skip
        last_ts_s = store.last_ts()
        collector.cycle()
        for dep in (d.info.deployment_id for d in store.deployments()):
            for end_s in (now_s - 2 * step_s, now_s - step_s, now_s):
                rows = store.intervals(dep, end_s - step_s, end_s, tier="raw")
                buckets.append({
                    "deployment_id": dep,
                    "end_s": end_s,
                    "ts_end_s": [float(x) for x in rows["ts_end_s"].tolist()],
                    "energy_joules": [float(x) for x in rows["energy_joules"].tolist()],
                })  # fmt: skip
    client.close()
    return {**rec.report(), "last_ts_before_cycle_s": last_ts_s, "buckets": buckets}


def _num(x: Any) -> float | None:
    return None if x is None else float(x)


class _ListHandler(logging.Handler):
    def __init__(self, messages: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


_SCENARIOS: dict[str, Callable[..., dict[str, Any]]] = {"fill": _fill, "live_cycle": _live_cycle}


if __name__ == "__main__":
    report = _SCENARIOS[sys.argv[1]](**json.loads(sys.argv[2]))
    print(json.dumps(report), flush=True)
