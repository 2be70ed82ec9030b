"""Live figures through a real Prometheus are never older than one collection interval + 5 s.

A real Prometheus on loopback scrapes the emulator every second; one collector cycle reads it
at a pinned instant T. Until the next cycle (T + interval) `/api/v1/carbon` must show data as of
T (the open interval included), `/api/v1/carbon` and `/api/v2/deployments` must show the same
snapshot, and the open interval's power must match the emulator's planted truth.
"""

from __future__ import annotations

import math
import statistics
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from servers import start_prometheus, wait_until
from wattlens.app.collector import Collector, PrometheusSource
from wattlens.app.ops import make_deriver
from wattlens.config import load_config
from wattlens.derive.engine import DeriveOptions
from wattlens.emulator import EmulatorServer, load_scenario, truth
from wattlens.store import Store
from wattlens.telemetry.promapi import PrometheusClient
from wattlens.web.app import create_app

SCRAPES = (
    12  # samples (1 s apart) per series before the cycle: over two of the emulator's 5 s ticks
)


def _ts(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def _holds(client: PrometheusClient, metric: str, samples: int, n: int) -> bool:
    """Each of `n` series of `metric` has at least `samples` samples."""
    rows = client.instant(f"count(count_over_time({metric}[1m]) >= {samples})")
    return bool(rows) and rows[0][2] >= n


def test_carbon_is_never_older_than_one_interval(tmp_path: Path) -> None:
    sc = load_scenario("nrp")
    start = math.floor(time.time() / sc.tick_s) * sc.tick_s - 7200.0  # running for two hours
    gpus = sum(d.gpu_count for d in sc.deployments)
    engines = sum(1 for d in sc.deployments if d.engine != "none")
    cfg_path = tmp_path / "wattlens.toml"
    cfg_path.write_text("")
    config = load_config(cfg_path, environ={})
    interval = config.scrape.interval_s
    with EmulatorServer(sc, start_s=start) as emu:
        job = {
            "job_name": "emulator",
            "honor_labels": True,
            "http_sd_configs": [{"url": f"{emu.url}/sd", "refresh_interval": "1s"}],
        }
        with start_prometheus(tmp_path, [job], scrape_interval="1s") as prom:
            client = PrometheusClient(prom.url)
            energy = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
            wait_until(lambda: _holds(client, energy, SCRAPES, gpus), "scrapes", 60)
            gen = "vllm:generation_tokens_total"
            wait_until(lambda: _holds(client, gen, SCRAPES, engines), "scrapes", 60)
            now = time.time()
            with Store.open(tmp_path / "w.duckdb") as store:
                deriver = make_deriver(DeriveOptions(step_s=config.collect.step_s))
                source = PrometheusSource(client, overlap_s=interval)
                collector = Collector(store, deriver, source, clock=lambda: now)
                assert collector.cycle().records > 0
                raw = client.raw(energy, now - 60.0, now)
                client.close()
                # the last moment before the next cycle
                app = create_app(
                    store=store, config=config, clock=lambda: now + interval, cache_ttl_s=0
                )
                with TestClient(app) as http:
                    v1 = http.get("/api/v1/carbon").json()
                    v2 = http.get("/api/v2/deployments").json()["deployments"]
    models = [m for m in v1["models"] if m.get("updated_at")]
    assert len(models) == len(sc.deployments)
    for m in models:
        age = now + interval - _ts(m["updated_at"])
        assert 0.0 <= age <= interval + 5.0, (m["namespace"], m["container"], age)
    assert now + interval - _ts(v1["updated_at"]) <= interval + 5.0
    by_key = {(d["namespace"], d["container"]): (d.get("live") or {}) for d in v2}
    for m in models:
        assert by_key[(m["namespace"], m["container"])].get("updated_at") == m["updated_at"]
    # Power of what was read (every GPU from its first to its last sample): the planted truth.
    firsts = [float(t[0]) for t, _ in raw.series.values() if t.size]
    lasts = [float(t[-1]) for t, _ in raw.series.values() if t.size]
    lo, hi = statistics.median(firsts), statistics.median(lasts)
    want = truth(sc, lo, hi, start_of_scenario_s=start)
    got_w = sum(m["power_watts"] for m in models)
    want_w = sum(t.mean_power_watts for t in want.values())
    assert np.isfinite(got_w) and got_w == pytest.approx(want_w, rel=0.03)
