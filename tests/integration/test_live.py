"""Live collection: wattlens scraping the emulator directly, and real Prometheus and
VictoriaMetrics scraping it over HTTP service discovery; totals match the planted truth."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from tests.integration.conftest import STEP_S, assert_matches_truth, collect_via_api

from servers import start_prometheus, start_victoria_metrics, wait_until
from wattlens.app.collector import ScrapeSource
from wattlens.app.ops import make_deriver
from wattlens.derive.engine import DeriveOptions
from wattlens.emulator import EmulatorServer, load_scenario, truth
from wattlens.telemetry.promapi import PrometheusClient
from wattlens.telemetry.scrape import Scraper
from wattlens.telemetry.sd import load_http_sd

pytestmark = pytest.mark.integration


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_direct_scrape_through_restart_reset_and_gap() -> None:
    """Scrape every 2 min of emulated time from +5.5 h to +12.5 h of `test-events`: a pod restart
    (+6 h), a DCGM counter reset (+9 h) and a 2-hour exporter outage (+10 h to +12 h)."""
    sc = load_scenario("test-events")
    start = 1_750_000_000.0
    clock = FakeClock(start + 5.5 * 3600)
    deriver = make_deriver(DeriveOptions(step_s=STEP_S))
    with EmulatorServer(sc, clock=clock, start_s=start) as emu:
        sd = f"{emu.url}/sd"
        source = ScrapeSource(Scraper(load_http_sd(sd), timeout_s=5),
                              discover=lambda: load_http_sd(sd), refresh_s=120)  # fmt: skip
        t0 = clock.t
        errors_seen = 0
        records = []
        while clock.t <= start + 12.5 * 3600:
            batch, errors = source.fetch(clock.t)
            errors_seen += len(errors)
            deriver.feed(batch)
            records += deriver.drain(clock.t - STEP_S)[1]
            clock.t += 120.0
        t1 = clock.t - 120.0
        infos, rest = deriver.drain()
        records += rest
    assert errors_seen > 0  # the outage was seen as failed scrapes, not as a crash
    latest = {}
    for r in records:  # a re-emitted bucket supersedes the earlier emission
        latest[(r.deployment_id, r.ts_end_s)] = r
    got: dict[str, dict] = {}
    for (dep, _), r in latest.items():
        g = got.setdefault(dep, {"energy_joules": 0.0, "prompt_tokens": None,
                                 "generation_tokens": None})  # fmt: skip
        g["energy_joules"] += r.energy_joules or 0.0
        if r.prompt_tokens is not None:
            g["prompt_tokens"] = (g["prompt_tokens"] or 0.0) + r.prompt_tokens
            g["generation_tokens"] = (g["generation_tokens"] or 0.0) + r.generation_tokens
    by_id = {i.deployment_id: i for i in infos}
    got = {k: {**v, "info": by_id[k]} for k, v in got.items()}
    assert_matches_truth(got, truth(sc, t0, t1, start_of_scenario_s=start))
    # The outage's energy is spread across it: no interval shows more than the GPUs' peak.
    peak = {d.key: d.power.peak_watts_per_gpu * d.gpu_count for d in sc.deployments}
    for (dep, _), r in latest.items():
        assert r.energy_joules / r.interval_s <= peak[dep] * 1.05, dep


def _sample_window(client: PrometheusClient, name: str, now: float) -> dict[str, tuple]:
    """First and last sample time of each deployment's series of one metric."""
    out: dict[str, list[float]] = {}
    raw = client.raw(name, now - 600, now, chunk_s=600)
    for key, (t, _v) in raw.series.items():
        lab = key.label_dict()
        ns = lab.get("exported_namespace") or lab.get("namespace")
        pod = lab.get("exported_pod") or lab.get("pod") or ""
        if "dcgm-exporter" in pod:
            continue
        dep = f"{ns}/{pod.rsplit('-', 2)[0]}"
        w = out.setdefault(dep, [math.inf, -math.inf])
        w[0], w[1] = min(w[0], float(t[0])), max(w[1], float(t[-1]))
    return {k: tuple(v) for k, v in out.items()}


def test_prometheus_and_victoria_metrics_scraping_the_emulator(tmp_path: Path) -> None:
    sc = load_scenario("test-events")
    start = math.floor(time.time() - 5 * 3600)  # 5 h into the scenario: no events in the test
    with EmulatorServer(sc, start_s=start) as emu:
        job = {
            "job_name": "emulator",
            "scrape_interval": "1s",
            "scrape_timeout": "1s",
            "http_sd_configs": [{"url": f"{emu.url}/sd", "refresh_interval": "5s"}],
        }
        vm_cfg = tmp_path / "vm-scrape.yml"
        # VictoriaMetrics 1.79's http_sd_configs has no refresh_interval (fixed 60 s).
        vm_job = {**job, "http_sd_configs": [{"url": f"{emu.url}/sd"}]}
        vm_cfg.write_text(json.dumps({"scrape_configs": [vm_job]}))  # JSON is valid YAML
        with (
            start_prometheus(tmp_path, [job]) as prom,
            start_victoria_metrics(tmp_path, scrape_config=vm_cfg) as vm,
        ):
            clients = {"prometheus": PrometheusClient(prom.url), "vm": PrometheusClient(vm.url)}

            def enough() -> bool:
                httpx.get(f"{vm.url}/internal/force_flush", timeout=5)
                for c in clients.values():
                    got = c.instant("min(count_over_time(vllm:generation_tokens_total[2m]))")
                    if not got or got[0][2] < 25:
                        return False
                return True

            wait_until(enough, "25 scrapes of every target in both backends", timeout_s=90)
            now = time.time()
            for name, c in clients.items():
                db = tmp_path / f"{name}.duckdb"
                got = collect_via_api(c.base_url, db, now_s=now)
                energy_w = _sample_window(c, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", now)
                token_w = _sample_window(c, "vllm:generation_tokens_total", now)
                want = {}
                for key in got:
                    e = truth(sc, *energy_w[key], start_of_scenario_s=start)[key]
                    if key in token_w:
                        tk = truth(sc, *token_w[key], start_of_scenario_s=start)[key]
                        e = dataclasses.replace(e, prompt_tokens=tk.prompt_tokens,
                                                generation_tokens=tk.generation_tokens)  # fmt: skip
                    want[key] = e
                assert_matches_truth(got, want)
                c.close()
    assert np.isfinite(now)
