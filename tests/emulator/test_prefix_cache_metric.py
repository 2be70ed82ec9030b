"""The emulated vLLM exposes `vllm:prompt_tokens_by_source_total`; scraped and derived, the
cached prompt tokens are the planted share of the planted prompt tokens (issue #11)."""

from __future__ import annotations

import pytest

from wattlens.app.collector import ScrapeSource
from wattlens.app.ops import make_deriver
from wattlens.derive.engine import DeriveOptions
from wattlens.emulator import EmulatorServer, load_scenario, truth
from wattlens.emulator.vllm import PREFIX_CACHE_HIT_SHARE
from wattlens.telemetry.scrape import Scraper
from wattlens.telemetry.sd import load_http_sd

START = 1_750_000_000.0


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_cached_prompt_tokens_are_the_planted_share() -> None:
    sc = load_scenario("nrp")
    clock = Clock(START + 3600.0)
    t0, t1 = clock.t, clock.t + 600.0
    with EmulatorServer(sc, clock=clock, start_s=START) as emu:
        source = ScrapeSource(Scraper(load_http_sd(f"{emu.url}/sd"), timeout_s=5))
        deriver = make_deriver(DeriveOptions(step_s=30.0))
        while clock.t <= t1:
            batch, failures = source.fetch(clock.t)
            assert not failures
            deriver.feed(batch)
            clock.t += 15.0
    records = deriver.drain()[1]
    want = truth(sc, t0, t1, start_of_scenario_s=START)
    checked = 0
    for dep, tr in want.items():
        if tr.prompt_tokens is None:
            continue
        rows = [r for r in records if r.deployment_id == dep]
        cached = sum(r.cached_prompt_tokens or 0.0 for r in rows)
        prompt = sum(r.prompt_tokens or 0.0 for r in rows)
        assert prompt == pytest.approx(tr.prompt_tokens, rel=0.01), dep
        assert cached == pytest.approx(PREFIX_CACHE_HIT_SHARE * tr.prompt_tokens, rel=0.01), dep
        checked += 1
    assert checked >= 3
