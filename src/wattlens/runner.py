"""Long-running jobs: the collector loop with backfill, clean stop on signal or after N seconds."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from wattlens.errors import ConfigError, InputError
from wattlens.fleet.collector import (
    Collector,
    PrometheusSource,
    ScrapeSource,
    backfill_window,
    wanted_selector,
)


def parse_scrape_arg(arg: str) -> Any:
    """`URL;label=value;...` -> ScrapeTarget."""
    from wattlens.telemetry.scrape import ScrapeTarget

    url, *pairs = arg.split(";")
    labels = {}
    for p in pairs:
        k, sep, v = p.partition("=")
        if not sep or not k:
            raise InputError(f"--scrape {arg!r}: label {p!r} is not name=value; e.g. URL;pod=x")
        labels[k.strip()] = v.strip()
    if not url.startswith(("http://", "https://")):
        raise InputError(
            f"--scrape {arg!r}: expected an http(s) URL, e.g. http://node:9400/metrics"
        )
    return ScrapeTarget(url=url, labels=labels)


def scrape_targets(cfg: Any, scrape: Sequence[str], sd: str | None) -> list[Any]:
    """Targets from the command line, the config and HTTP-SD."""
    from wattlens.telemetry.scrape import ScrapeTarget
    from wattlens.telemetry.sd import load_http_sd

    targets = [parse_scrape_arg(s) for s in scrape]
    targets += [ScrapeTarget(url=t.url, labels=dict(t.labels)) for t in cfg.scrape.targets]
    sd_url = sd or cfg.scrape.sd_url
    if sd_url:
        targets += load_http_sd(sd_url)
    return targets


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Set `stop` on SIGINT/SIGTERM while inside (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for s in old:
        signal.signal(s, lambda *_: stop.set())
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def backfill(
    collector: Collector,
    source: PrometheusSource,
    client: Any,
    *,
    now_s: float,
    max_back_s: float,
    progress: Callable[[float], None] | None = None,
    chunk_s: float = 6 * 3600.0,
) -> int:
    """Fill the store from the backend between the last stored sample and now."""
    earliest = client.earliest_timestamp(wanted_selector())
    window = backfill_window(
        now_s=now_s,
        last_stored_s=collector.store.last_ts(),
        max_back_s=max_back_s,
        earliest_s=earliest,
        step_s=collector.deriver.options.step_s,
    )
    if window is None:
        return 0
    lo, hi = window
    written = 0

    def on_chunk(batch: Any, chunk_end: float) -> None:
        nonlocal written
        written += collector.ingest(batch, chunk_end - collector.deriver.options.step_s)[1]
        if progress is not None:
            progress((chunk_end - lo) / (hi - lo))

    source.backfill(lo, hi, chunk_s, on_chunk)
    collector.store.rollup_pending()
    return written


def run_collector(
    cfg: Any,
    *,
    db: Path,
    prometheus: str | None,
    scrape: Sequence[str],
    sd: str | None,
    seconds: float | None,
    backfill_on_start: bool = True,
    on_cycle: Callable[[Any], None] | None = None,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Collect until stopped (signal) or for `seconds`, then flush and close the store."""
    from wattlens.fleet.ops import make_deriver
    from wattlens.settings import carbon_model, derive_options, prometheus_client, retention_policy
    from wattlens.store import Store

    url = prometheus or cfg.backend.prometheus_url
    targets = [] if url else scrape_targets(cfg, scrape, sd)
    if not url and not targets:
        raise ConfigError(
            "nothing to collect from: give --prometheus URL or --scrape URL, or set "
            "backend.prometheus_url or scrape.targets in wattlens.toml"
        )
    deriver = make_deriver(derive_options(cfg), carbon_model(cfg))
    with Store.open(db) as store:
        if url:
            client = prometheus_client(cfg, url)
            client.ping()  # unreachable at start is a user error: say so once, clearly
            source: Any = PrometheusSource(client, lag_s=cfg.scrape.interval_s)
            collector = Collector(store, deriver, source, retention=retention_policy(cfg))
            if backfill_on_start and cfg.backend.backfill:
                backfill(
                    collector,
                    source,
                    client,
                    now_s=time.time() - cfg.scrape.interval_s,
                    max_back_s=cfg.backend.backfill_max_s or float("inf"),  # None: all it has
                    progress=progress,
                )
        else:
            from wattlens.telemetry.scrape import Scraper

            source = ScrapeSource(Scraper(targets, timeout_s=cfg.backend.timeout_s))
            collector = Collector(store, deriver, source, retention=retention_policy(cfg))
        run_loop(collector, interval_s=cfg.scrape.interval_s, seconds=seconds, on_cycle=on_cycle)


def run_loop(
    collector: Collector,
    *,
    interval_s: float,
    seconds: float | None,
    on_cycle: Callable[[Any], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Cycle until `stop` is set, a signal arrives or `seconds` pass; then flush."""
    stop = stop or threading.Event()
    deadline = None if seconds is None else time.monotonic() + seconds
    with stop_on_signals(stop):
        while not stop.is_set():
            started = time.monotonic()
            stats = collector.cycle()
            collector.store.rollup_pending()
            if on_cycle is not None:
                on_cycle(stats)
            wait = max(0.0, interval_s - (time.monotonic() - started))
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - time.monotonic()))
                if time.monotonic() >= deadline:
                    break
            stop.wait(wait)
    collector.flush()
    collector.store.rollup_pending()


__all__ = ["backfill", "parse_scrape_arg", "run_collector", "run_loop", "scrape_targets"]
