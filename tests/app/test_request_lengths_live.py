"""Request-length histograms through the live path: a collector scraping the emulator stores the
bucket increments of finished intervals, and `report` gives the planted distribution.

Expected counts are an independent calculation, as in test_request_lengths.py: the planted
requests over the scraped span (emulator truth) x the bucket's probability under the planted
exponential lengths.
"""

from __future__ import annotations

import math

import pytest

from wattlens.app.collector import Collector, ScrapeSource
from wattlens.app.ops import make_deriver, report
from wattlens.derive.engine import DeriveOptions
from wattlens.emulator import EmulatorServer, load_scenario, truth
from wattlens.store import Store
from wattlens.telemetry.scrape import Scraper
from wattlens.telemetry.sd import load_http_sd

STEP_S, SCRAPE_S = 30.0, 15.0
START = 1_775_001_600.0  # the scenario's t = 0
BOUNDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000]  # vLLM 1-2-5


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _cdf(x: float, mean: float) -> float:
    return 1.0 if math.isinf(x) else 1.0 - math.exp(-x / mean)


def test_live_collection_stores_the_planted_length_distribution(tmp_path) -> None:
    sc = load_scenario("test-events")
    t0 = START + 3 * 3600.0  # on the 30 s grid: the first reading is the baseline
    t1 = t0 + 40 * 60.0
    clock = FakeClock(t0)
    with (
        EmulatorServer(sc, clock=clock, start_s=START) as emu,
        Store.open(tmp_path / "w.duckdb") as store,
    ):
        source = ScrapeSource(Scraper(load_http_sd(f"{emu.url}/sd"), timeout_s=5))
        collector = Collector(store, make_deriver(DeriveOptions(step_s=STEP_S)), source,
                              clock=clock)  # fmt: skip
        while clock.t <= t1 + 1e-9:
            assert not collector.cycle().errors
            clock.t += SCRAPE_S
        collector.flush()
        body = report(store, since_s=None, until_s=None, min_tokens_per_s=5.0)
    want = truth(sc, t0, t1, start_of_scenario_s=START)
    traffic = {d.key: d.traffic for d in sc.deployments}
    rows = {r["deployment"]: r for r in body["deployments"]}
    checked = 0
    for dep, tr in want.items():
        if not tr.requests_finished:
            continue
        t = traffic[dep]
        out = t.output_tokens_per_request
        means = {"generation": out, "prompt": t.prompt_fraction / (1 - t.prompt_fraction) * out}
        dist = rows[dep]["request_length_distribution"]
        assert dist is not None, dep
        for kind, mean in means.items():
            got = {(b["lo_tokens"], b["le_tokens"]): b["requests"] for b in dist[kind]}
            edges = [0.0, *map(float, BOUNDS), math.inf]
            for lo, hi in zip(edges, edges[1:], strict=False):
                expect = tr.requests_finished * (_cdf(hi, mean) - _cdf(lo, mean))
                le = None if math.isinf(hi) else hi
                assert got.get((lo, le), 0.0) == pytest.approx(expect, rel=0.03, abs=2.0), (
                    dep, kind, lo, hi)  # fmt: skip
        checked += 1
    assert checked == 3  # llama-70b, qwen-32b, mistral-7b (finetune has no engine)
