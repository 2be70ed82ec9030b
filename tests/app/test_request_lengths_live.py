"""Request-length histograms through the live path: a collector scraping the emulator stores the
bucket increments of finished intervals, and `report` gives the planted distribution.

Expected counts are the independent calculation of test_request_lengths.py: the planted requests
over the scraped span (emulator truth) x the bucket's probability under the planted lengths.
"""

from __future__ import annotations

from app.test_request_lengths import START, assert_planted_distribution
from wattlens.app.collector import Collector, ScrapeSource
from wattlens.app.ops import make_deriver, report
from wattlens.derive.engine import DeriveOptions
from wattlens.emulator import EmulatorServer, load_scenario
from wattlens.store import Store
from wattlens.telemetry.scrape import Scraper
from wattlens.telemetry.sd import load_http_sd

STEP_S, SCRAPE_S = 30.0, 15.0


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


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
    checked = assert_planted_distribution(sc, t0, t1, body, start=START, rel=0.03)
    assert checked == 3  # llama-70b, qwen-32b, mistral-7b (finetune has no engine)
