"""Backend outage (issue 14): the Prometheus backend stops for the equivalent of an hour and comes
back, with time compressed: Prometheus holds 2.5 hours of the emulator's `test-events` history
(promtool backfill), and the collector's clock walks through it a minute per cycle, so an hour
of outage is 60 cycles run back to back.

During the outage the collector keeps cycling, records the backend as failing (since when, why)
and the data as stale; after recovery its next fetch reads the whole gap, so the stored history
equals the one an uninterrupted collector stores from the same Prometheus, interval for
interval. The same holds when wattlens itself restarts after the outage (start-up backfill).
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from servers import Server, start_prometheus, wait_until
from wattlens.app.collector import META_FAILURES, Collector, PrometheusSource
from wattlens.app.ops import make_deriver
from wattlens.app.runner import backfill
from wattlens.derive.engine import DeriveOptions
from wattlens.emulator import load_scenario, write_history
from wattlens.store import Store
from wattlens.telemetry.metrics import WANTED_METRICS
from wattlens.telemetry.promapi import PrometheusClient

pytestmark = pytest.mark.integration

STEP_S = 30.0
CYCLE_S = 60.0  # the collector's clock moves a minute per cycle
HOURS = 2.5
OUTAGE_CYCLES = 60  # one hour


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _client(url: str) -> PrometheusClient:
    return PrometheusClient(url, environ={}, retries=1, sleep=lambda _s: None, timeout_s=5)


def _collector(store: Store, client: PrometheusClient, clock: Clock) -> Collector:
    source = PrometheusSource(client, start_s=clock.t)
    return Collector(store, make_deriver(DeriveOptions(step_s=STEP_S)), source, clock=clock)


def _rows(db: Path) -> dict[tuple[str, float], tuple[float, float]]:
    with Store.open(db, read_only=True) as store:
        c = store.intervals(None, tier="raw")
    return {
        (str(d), float(t)): (float(e), float(g))
        for d, t, e, g in zip(c["deployment_id"], c["ts_end_s"], c["energy_joules"],
                              c["generation_tokens"], strict=True)
    }  # fmt: skip


def _restart(server: Server) -> Server:
    """Start Prometheus again on the same data directory, port and config."""
    argv = list(server.proc.args)  # type: ignore[arg-type]
    log = open(server.log_path, "ab")  # noqa: SIM115 - closed by Server.stop
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    again = Server("prometheus", proc, server.url, log)

    def ready() -> bool:
        try:
            return httpx.get(server.url + "/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, "prometheus after the outage")
    return again


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float, float]:
    root = tmp_path_factory.mktemp("outage")
    start = math.floor((time.time() - (HOURS + 1) * 3600.0) / STEP_S) * STEP_S
    end = start + HOURS * 3600.0
    path = root / "history.om"
    write_history(load_scenario("test-events"), path, start_s=start, end_s=end, step_s=STEP_S,
                  wanted=WANTED_METRICS)  # fmt: skip
    return path, start, end


def test_outage_and_restart_leave_no_gap(
    history: tuple[Path, float, float], tmp_path: Path
) -> None:
    path, start, end = history
    t0 = start + 1800.0  # collection starts half an hour into the history
    server = start_prometheus(tmp_path, backfill_openmetrics=path)
    try:
        # Reference: uninterrupted collection over the same span.
        ref_db = tmp_path / "ref.duckdb"
        clock = Clock(t0)
        with Store.open(ref_db) as store, _client(server.url) as client:
            col = _collector(store, client, clock)
            while clock.t < end:
                clock.t += CYCLE_S
                assert not col.cycle().errors
            col.flush()

        db = tmp_path / "outage.duckdb"
        clock = Clock(t0)
        with Store.open(db) as store, _client(server.url) as client:
            col = _collector(store, client, clock)
            for _ in range(30):  # half an hour of normal collection
                clock.t += CYCLE_S
                assert not col.cycle().errors
            before_outage = store.last_ts()
            server.stop()
            down_since = clock.t + CYCLE_S
            for _ in range(OUTAGE_CYCLES):  # the service keeps running, reports the outage
                clock.t += CYCLE_S
                assert col.cycle().errors
            failures = json.loads(store.get_meta(META_FAILURES) or "[]")
            assert failures and failures[0]["since_s"] == down_since
            assert server.url in failures[0]["target"]
            assert store.last_ts() == before_outage  # nothing new: the data is stale
            assert clock.t - float(store.get_meta("collector.last_success_s") or 0) >= 3600.0
            server = _restart(server)
            for _ in range(10):  # recovery: the first fetch reads the whole gap
                clock.t += CYCLE_S
                assert not col.cycle().errors
            assert json.loads(store.get_meta(META_FAILURES) or "[]") == []
        # wattlens restarts after the outage: start-up backfill, then collection to the end
        with Store.open(db) as store, _client(server.url) as client:
            col = _collector(store, client, clock)
            backfill(col, col.source, client, now_s=clock.t, max_back_s=86400.0)  # type: ignore[arg-type]
            while clock.t < end:
                clock.t += CYCLE_S
                assert not col.cycle().errors
            col.flush()
    finally:
        server.stop()

    ref, got = _rows(ref_db), _rows(db)
    assert set(got) == set(ref), (sorted(set(ref) - set(got))[:5], sorted(set(got) - set(ref))[:5])
    for key, (e, g) in ref.items():
        ge, gg = got[key]
        assert ge == pytest.approx(e, rel=1e-9, nan_ok=True), key
        assert gg == pytest.approx(g, rel=1e-9, nan_ok=True), key
    assert np.isfinite([v[0] for v in got.values()]).mean() > 0.9
