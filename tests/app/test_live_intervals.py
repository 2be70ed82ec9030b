"""Live collection from the emulator: every stored interval covers the seconds it says it does.

Scrapes start and stop off the 30 s grid, so the first and the last interval of a run are
partial; their power (energy / interval_s) must still match the emulator's planted truth over
the same seconds, as every full interval does, across a collector restart too.
"""

from __future__ import annotations

import pytest

from wattlens.app.collector import ScrapeSource
from wattlens.app.ops import make_deriver
from wattlens.core.records import IntervalRecord
from wattlens.derive.engine import DeriveOptions
from wattlens.emulator import EmulatorServer, load_scenario, truth
from wattlens.telemetry.scrape import Scraper
from wattlens.telemetry.sd import load_http_sd

STEP_S = 30.0
SCRAPE_S = 15.0
START = 1_750_000_000.0  # the scenario's t = 0


class FakeClock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _run(emu: EmulatorServer, clock: FakeClock, t_from: float, t_to: float) -> list:
    """One collector run (a fresh deriver) scraping from t_from to t_to; its final records."""
    deriver = make_deriver(DeriveOptions(step_s=STEP_S))
    sd = f"{emu.url}/sd"
    source = ScrapeSource(Scraper(load_http_sd(sd), timeout_s=5))
    latest: dict[tuple[str, float], IntervalRecord] = {}
    clock.t = t_from
    while clock.t <= t_to + 1e-9:
        batch, failures = source.fetch(clock.t)
        assert not failures
        deriver.feed(batch)
        for r in deriver.drain(clock.t - STEP_S)[1]:
            latest[(r.deployment_id, r.ts_end_s)] = r
        clock.t += SCRAPE_S
    for r in deriver.drain()[1]:  # the shutdown flush: the partial last interval
        latest[(r.deployment_id, r.ts_end_s)] = r
    return list(latest.values())


def _check(sc, records: list, t_first: float, t_last: float) -> int:
    checked = 0
    for r in records:
        if r.energy_joules is None:
            continue
        lo, hi = max(r.ts_end_s - STEP_S, t_first), min(r.ts_end_s, t_last)
        assert r.interval_s == pytest.approx(hi - lo, abs=1e-6), (r.deployment_id, r.ts_end_s)
        want = truth(sc, lo, hi, start_of_scenario_s=START)[r.deployment_id]
        assert r.energy_joules / r.interval_s == pytest.approx(
            want.energy_joules / (hi - lo), rel=0.01
        ), (r.deployment_id, r.ts_end_s)
        checked += 1
    return checked


def test_first_last_and_restart_intervals_match_truth() -> None:
    sc = load_scenario("nrp")
    clock = FakeClock(START)
    # Off the 30 s grid but on the emulator's 5 s update tick, so counter readings are exact.
    a0 = START + 5 * 3600 + 5.0
    a1 = a0 + 12 * SCRAPE_S  # the collector stops mid-interval ...
    b0 = a1 + 2 * SCRAPE_S  # ... and a new one starts 30 s later, also mid-interval
    b1 = b0 + 12 * SCRAPE_S
    with EmulatorServer(sc, clock=clock, start_s=START) as emu:
        first = _run(emu, clock, a0, a1)
        second = _run(emu, clock, b0, b1)
    deployments = {r.deployment_id for r in first}
    assert _check(sc, first, a0, a1) >= 6 * len(deployments)
    assert _check(sc, second, b0, b1) >= 6 * len(deployments)
    partial = [r for r in first if r.ts_end_s == (a0 // STEP_S + 1) * STEP_S]
    assert partial and all(r.interval_s < STEP_S for r in partial)
