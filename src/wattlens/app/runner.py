"""Long-running jobs: the collector loop with backfill, clean stop on signal or after N seconds."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, Protocol

from wattlens.app.backfill import backfill, fork_backfill_worker, release_memory
from wattlens.app.backfill_worker import BackfillWorker
from wattlens.app.collector import (
    Collector,
    Failure,
    ScrapeSource,
    backend_source,
)
from wattlens.app.ops import make_deriver
from wattlens.app.settings import carbon_model, derive_options, prometheus_client, retention_policy
from wattlens.config import Config
from wattlens.core.errors import BackendError, ConfigError, InputError
from wattlens.core.validate import finite
from wattlens.derive.engine import DeriveOptions
from wattlens.store import SERVICE_THREADS, Store
from wattlens.telemetry.scrape import Scraper, ScrapeTarget
from wattlens.telemetry.sd import load_http_sd


def parse_scrape_arg(arg: str) -> Any:
    """`URL;label=value;...` -> ScrapeTarget."""

    url, *pairs = arg.split(";")
    labels = {}
    for p in pairs:
        k, sep, v = p.partition("=")
        if not sep or not k:
            raise InputError(
                f"scrape {arg!r}: label {p!r} is not name=value; e.g. URL;pod=x", field="scrape"
            )
        labels[k.strip()] = v.strip()
    if not url.startswith(("http://", "https://")):
        raise InputError(
            f"scrape {arg!r}: expected an http(s) URL, e.g. http://node:9400/metrics",
            field="scrape",
        )
    return ScrapeTarget(url=url, labels=labels)


def scrape_targets(cfg: Config, scrape: Sequence[str]) -> list[Any]:
    """Static targets from the command line and the config."""

    targets = [parse_scrape_arg(s) for s in scrape]
    targets += [ScrapeTarget(url=t.url, labels=dict(t.labels)) for t in cfg.scrape.targets]
    return targets


def scrape_source(
    targets: Sequence[ScrapeTarget], sd_url: str | None, *, timeout_s: float
) -> ScrapeSource:
    """A direct-scrape source over static targets plus HTTP-SD (re-read every 30 s)."""

    discovered = load_http_sd(sd_url) if sd_url else []  # a bad SD URL fails at start, clearly
    scraper = Scraper([*targets, *discovered], timeout_s=timeout_s)
    discover = (lambda: load_http_sd(sd_url)) if sd_url else None
    return ScrapeSource(scraper, discover=discover, static_targets=list(targets), sd_url=sd_url)


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


def scrape_collector(
    cfg: Config,
    store: Store,
    targets: Sequence[ScrapeTarget],
    sd_url: str | None,
    *,
    options: DeriveOptions | None = None,
) -> Collector:
    """A collector scraping exporters directly (and re-reading HTTP-SD), wired from the config;
    `options` overrides the config's derivation knobs (the demo's step)."""
    deriver = make_deriver(options or derive_options(cfg), carbon_model(cfg))
    source = scrape_source(targets, sd_url, timeout_s=cfg.backend.timeout_s)
    return Collector(store, deriver, source, retention=retention_policy(cfg))


def build_collector(
    cfg: Config,
    store: Store,
    *,
    prometheus: str | None,
    scrape: Sequence[str],
    sd: str | None,
    backfill_on_start: bool = True,
    progress: Callable[[], AbstractContextManager[Callable[[float], None]]] | None = None,
    tolerate_down: bool = False,
    worker: BackfillWorker | None = None,
) -> Collector:
    """A collector over the configured source; backfills the store first when a backend is set.

    Args:
        progress: makes a progress context (yielding `tick(fraction)`) shown during backfill.
        tolerate_down: a backend down at start is recorded as a failure (and the backfill
            deferred to the first cycle that reaches it) instead of raised.
        worker: a child forked at start (`fork_backfill_worker`) that reads and derives the
            backfill; without one, or once it has run, this process does.
    """

    url = prometheus or cfg.backend.prometheus_url
    targets = [] if url else scrape_targets(cfg, scrape)
    sd_url = None if url else (sd or cfg.scrape.sd_url or None)
    if not url and not targets and not sd_url:
        raise ConfigError(
            "nothing to collect from: give a Prometheus URL, scrape targets or an HTTP-SD URL: "
            "backend.prometheus_url, scrape.targets or scrape.sd_url in wattlens.toml"
        )
    if not url:
        return scrape_collector(cfg, store, targets, sd_url)
    deriver = make_deriver(derive_options(cfg), carbon_model(cfg))
    client = prometheus_client(cfg, url)
    psource = backend_source(client, use_recorded=cfg.backend.use_recorded,
                             overlap_s=cfg.scrape.interval_s)  # fmt: skip
    collector = Collector(store, deriver, psource, retention=retention_policy(cfg))

    def fill(tick: Callable[[float], None] | None = None) -> None:
        backfill(
            collector,
            psource,
            client,
            now_s=time.time() - cfg.scrape.interval_s,
            max_back_s=cfg.backend.backfill_max_s or float("inf"),  # None: all it has
            progress=tick,
            worker=worker,
        )

    wants_backfill = backfill_on_start and cfg.backend.backfill
    try:
        client.ping()
    except BackendError as e:
        if not tolerate_down:
            raise  # `collect`: unreachable at start is a user error, said once, clearly
        # `serve`: start anyway, say so, and backfill on the first cycle that reaches it
        collector.record_failures([Failure(psource.target, str(e))], time.time())
        collector.before_next_cycle = fill if wants_backfill else None
        return collector
    if wants_backfill:
        with progress() if progress else nullcontext(None) as tick:
            fill(tick)
    return collector


def check_seconds(seconds: float | None) -> None:
    """A run length (`seconds`) is None (until stopped) or a finite number of seconds >= 0."""
    if seconds is not None:
        finite(seconds, "seconds", lo=0.0, example="60")


def run_collector(
    cfg: Config,
    *,
    db: Path,
    prometheus: str | None,
    scrape: Sequence[str],
    sd: str | None,
    seconds: float | None,
    backfill_on_start: bool = True,
    on_cycle: Callable[[Any], None] | None = None,
    progress: Callable[[], AbstractContextManager[Callable[[float], None]]] | None = None,
) -> None:
    """Collect until stopped (signal) or for `seconds`, then flush and close the store.

    Raises:
        BackendError: no target was ever reachable (naming each one and why).
    """

    check_seconds(seconds)
    worker = fork_backfill_worker(cfg, prometheus, backfill_on_start)  # before any thread
    try:
        with Store.open(db, threads=SERVICE_THREADS) as store:
            store.announce_writer("collect")
            collector = build_collector(
                cfg, store, prometheus=prometheus, scrape=scrape, sd=sd,
                backfill_on_start=backfill_on_start, progress=progress, worker=worker,
            )  # fmt: skip
            if worker is not None and collector.before_next_cycle is None:
                worker.close()  # backfilled, or nothing to fill
            run_loop(collector, interval_s=cfg.scrape.interval_s, seconds=seconds,
                     on_cycle=on_cycle)  # fmt: skip
            if not collector.ever_received and collector.failing:
                causes = "; ".join(f.describe() for f in collector.failing.values())
                raise BackendError(f"no target was ever reachable: {causes}")
    finally:
        if worker is not None:
            worker.close()


def run_service(
    cfg: Config,
    *,
    db: Path,
    start_web: StartWeb,
    prometheus: str | None,
    scrape: Sequence[str],
    sd: str | None,
    seconds: float | None,
    on_ready: Callable[[str], None] | None = None,
    progress: Callable[[], AbstractContextManager[Callable[[float], None]]] | None = None,
    make_collector: Callable[[Store], Collector] | None = None,
    on_cycle: Callable[[Any], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """`wattlens serve`: the web app (started by `start_web`) over the store while the collector
    fills it. The app is up before the start-up backfill runs, and a backend that is down at
    start is reported, not fatal. With no source at all it serves the stored history alone
    (read-only, `live=False`: the pages say no live collection runs). `make_collector` replaces
    the configured source (`serve --nvml`: `app.nvml.run_nvml_service`)."""
    check_seconds(seconds)
    if make_collector is None and not has_source(cfg, prometheus, scrape, sd):
        _serve_stored(cfg, db, start_web, seconds, on_ready)
        return
    # forked before the store opens and the web thread starts (app.backfill_worker)
    worker = None if make_collector else fork_backfill_worker(cfg, prometheus)
    try:
        with Store.open(db, threads=SERVICE_THREADS) as store:
            web = start_web(store, cfg, True)
            store.announce_writer("serve", web.url)
            try:
                if on_ready is not None:
                    on_ready(web.url)
                collector = make_collector(store) if make_collector else build_collector(
                    cfg, store, prometheus=prometheus, scrape=scrape, sd=sd, progress=progress,
                    tolerate_down=True, worker=worker,
                )  # fmt: skip
                if worker is not None and collector.before_next_cycle is None:
                    worker.close()  # backfilled, or nothing to fill: the child exits
                run_loop(collector, interval_s=cfg.scrape.interval_s, seconds=seconds,
                         on_cycle=on_cycle, stop=stop)  # fmt: skip
            finally:
                web.stop()
    finally:
        if worker is not None:
            worker.close()


def has_source(cfg: Config, prometheus: str | None, scrape: Sequence[str], sd: str | None) -> bool:
    """Whether a telemetry source is given (options) or configured (wattlens.toml)."""
    return bool(
        prometheus or cfg.backend.prometheus_url or scrape or cfg.scrape.targets
        or sd or cfg.scrape.sd_url
    )  # fmt: skip


def _serve_stored(
    cfg: Config,
    db: Path,
    start_web: StartWeb,
    seconds: float | None,
    on_ready: Callable[[str], None] | None,
) -> None:
    if not db.exists():
        raise ConfigError(
            f"{db} does not exist and no source is configured: give a source "
            "(backend.prometheus_url, scrape.targets or scrape.sd_url) or an existing store file"
        )
    stop = threading.Event()
    with Store.open(db, read_only=True) as store:
        web = start_web(store, cfg, False)
        try:
            if on_ready is not None:
                on_ready(web.url)
            with stop_on_signals(stop):
                stop.wait(seconds)
        finally:
            web.stop()


class WebHandle(Protocol):
    """A running web server: where it listens and how to stop it (the web layer provides it)."""

    url: str

    def stop(self) -> None:
        """Stop serving."""


# (store, config, live) -> a running web app; injected so app/ never imports web/.
StartWeb = Callable[[Any, Any, bool], WebHandle]


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


__all__ = [
    "StartWeb",
    "has_source",
    "WebHandle",
    "backfill",
    "parse_scrape_arg",
    "release_memory",
    "run_collector",
    "build_collector",
    "fork_backfill_worker",
    "check_seconds",
    "run_loop",
    "run_service",
    "scrape_collector",
    "scrape_source",
    "scrape_targets",
]
