"""`wattlens demo`: the embedded default. An emulated fleet, a collector scraping it, a few days of
pre-generated history, and the dashboard, all in one process.

The scenario's start time is kept in the store, so a restarted demo continues the same timeline
and its history resumes where it stopped.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wattlens.app.runner import StartWeb, check_seconds, run_loop, scrape_collector
from wattlens.catalog import get_gpu
from wattlens.config import Config, load_config
from wattlens.core.validate import finite
from wattlens.derive.engine import DeriveOptions
from wattlens.emulator import EmulatorServer, history_series, load_scenario
from wattlens.store import Store
from wattlens.telemetry.metrics import COLLECTED_METRICS

META_DEMO_START = "demo.scenario_start_s"
META_DEMO_SCENARIO = "demo.scenario"
DEMO_STEP_S = 30.0
DEMO_SCRAPE_S = 10.0


def check_scenario_against_catalog(scenario: Any) -> None:
    """Fail fast (CatalogError naming the name) on GPUs the catalog does not know."""

    for d in scenario.deployments:
        get_gpu(d.gpu)


def seed_history(
    collector: Any,
    scenario: Any,
    *,
    start_s: float,
    scenario_start_s: float,
    now_s: float,
    progress: Callable[[float], None] | None = None,
) -> int:
    """Feed the emulator's history for (start_s, now_s] through the collector, a day at a time."""

    step = collector.deriver.options.step_s
    written = 0
    lo = start_s
    while lo < now_s:
        hi = min(lo + 86400.0, now_s)
        batch = history_series(
            scenario,
            start_s=lo,
            end_s=hi,
            step_s=step,
            start_of_scenario_s=scenario_start_s,
            wanted=COLLECTED_METRICS,
        )
        written += collector.ingest(batch, hi - step)[1]
        if progress is not None:
            progress((hi - start_s) / max(1.0, now_s - start_s))
        lo = hi + step
    collector.store.rollup_pending()
    return written


def run_demo(
    *,
    seconds: float | None,
    db: Path,
    scenario: str,
    history_days: float,
    start_web: StartWeb | None = None,
    config: Config | None = None,
    on_ready: Callable[[str], None] | None = None,
    progress: Callable[[float], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run the demo until stopped (signal), or for `seconds`."""

    finite(history_days, "history_days", lo=0.0, hi=3650.0, example="3 (days)")
    check_seconds(seconds)
    cfg = config or load_config()
    sc = load_scenario(scenario)
    check_scenario_against_catalog(sc)
    now = time.time()
    with Store.open(db) as store:
        store.announce_writer("demo")  # the URL follows once the dashboard is up
        stored_start = store.get_meta(META_DEMO_START)
        if stored_start is not None and store.get_meta(META_DEMO_SCENARIO) == sc.name:
            scenario_start = float(stored_start)  # resume the same timeline
        else:
            scenario_start = math.floor((now - history_days * 86400.0) / DEMO_STEP_S) * DEMO_STEP_S
            store.set_meta(META_DEMO_START, repr(scenario_start))
            store.set_meta(META_DEMO_SCENARIO, sc.name)
        with EmulatorServer(sc, host="127.0.0.1", port=0, start_s=scenario_start) as emu:
            last = store.last_ts()
            start = scenario_start if last is None else max(scenario_start, last - 2 * DEMO_STEP_S)
            collector = scrape_collector(
                cfg, store, [], f"{emu.url}/sd", options=DeriveOptions(step_s=DEMO_STEP_S)
            )
            seed_history(
                collector,
                sc,
                start_s=start,
                scenario_start_s=scenario_start,
                now_s=time.time(),
                progress=progress,
            )
            web = None if start_web is None else start_web(store, cfg, True)
            store.announce_writer("demo", web.url if web else None)
            try:
                if on_ready is not None:
                    on_ready(web.url if web else "")
                run_loop(collector, interval_s=DEMO_SCRAPE_S, seconds=seconds, stop=stop)
            finally:
                if web is not None:
                    web.stop()


__all__ = ["check_scenario_against_catalog", "run_demo", "seed_history"]
