"""`wattlens collect --nvml`, `serve --nvml`: local GPUs through NVML feeding the same store.

GPUs are mapped to one engine with `deployment` (a single-engine node: `NAMESPACE/NAME` or
`NAME`); without it each GPU's compute processes are mapped to their Kubernetes pod through
procfs (cgroup, HOSTNAME, service-account namespace: `telemetry.nvml.pod_of_process`), and GPUs
with no pod process are collected unallocated. Engine token counters come from `--scrape`
targets, scraped in the same cycle (`CombinedSource`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from wattlens.app.collector import Collector, Failure
from wattlens.app.ops import make_deriver
from wattlens.app.runner import (
    StartWeb,
    check_seconds,
    run_loop,
    run_service,
    scrape_source,
    scrape_targets,
)
from wattlens.app.settings import carbon_model, derive_options, retention_policy
from wattlens.config import Config
from wattlens.store import Store
from wattlens.telemetry.nvml import NvmlGpus, NvmlSource
from wattlens.telemetry.records import FlatSamples, SeriesSet


class CombinedSource:
    """NVML for the GPUs plus a scrape of the engines' `/metrics`, as one source."""

    def __init__(self, *sources: Any) -> None:
        self.sources = sources
        self.description = " + ".join(s.description for s in sources)
        self.target = sources[0].target

    def fetch(self, now_s: float) -> tuple[FlatSamples, list[Failure]]:
        """Every source once; their samples side by side."""
        keys: list[Any] = []
        ts: list[np.ndarray] = []
        vs: list[np.ndarray] = []
        failures: list[Failure] = []
        for src in self.sources:
            batch, failed = src.fetch(now_s)
            flat = batch if isinstance(batch, FlatSamples) else _flatten(batch)
            keys += flat.keys
            ts.append(flat.timestamps_s)
            vs.append(flat.values)
            failures += failed
        return FlatSamples(keys, np.concatenate(ts), np.concatenate(vs)), failures


def _flatten(ss: SeriesSet) -> FlatSamples:
    keys = [k for k, (t, _) in ss.series.items() for _ in range(t.size)]
    t = [np.asarray(t) for t, _ in ss.series.values()]
    v = [np.asarray(v) for _, v in ss.series.values()]
    return FlatSamples(keys, np.concatenate(t or [np.zeros(0)]), np.concatenate(v or [np.zeros(0)]))


def nvml_collector(
    cfg: Config,
    store: Store,
    gpus: NvmlGpus,
    *,
    deployment: str | None = None,
    hostname: str | None = None,
    scrape: Sequence[str] = (),
    clock: Callable[[], float] = time.time,
) -> Collector:
    """A collector over the local GPUs' NVML counters (plus engine `/metrics` to scrape)."""
    deriver = make_deriver(derive_options(cfg), carbon_model(cfg))
    source: Any = NvmlSource(gpus, deployment=deployment, hostname=hostname)
    targets = scrape_targets(cfg, scrape) if scrape else []
    if targets:
        source = CombinedSource(
            source, scrape_source(targets, None, timeout_s=cfg.backend.timeout_s)
        )
    return Collector(store, deriver, source, retention=retention_policy(cfg), clock=clock)


def run_nvml_collector(
    cfg: Config,
    *,
    db: Path,
    deployment: str | None,
    seconds: float | None,
    scrape: Sequence[str] = (),
    on_cycle: Callable[[Any], None] | None = None,
    nvml: Any = None,
) -> None:
    """Collect from NVML until stopped (signal) or for `seconds`, then flush and close."""
    check_seconds(seconds)
    with NvmlGpus(nvml) as gpus, Store.open(db) as store:
        store.announce_writer("collect")
        collector = nvml_collector(cfg, store, gpus, deployment=deployment, scrape=scrape)
        run_loop(collector, interval_s=cfg.scrape.interval_s, seconds=seconds, on_cycle=on_cycle)


def run_nvml_service(
    cfg: Config,
    *,
    db: Path,
    start_web: StartWeb,
    deployment: str | None,
    seconds: float | None,
    scrape: Sequence[str] = (),
    on_ready: Callable[[str], None] | None = None,
    on_cycle: Callable[[Any], None] | None = None,
    stop: threading.Event | None = None,
    nvml: Any = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """`wattlens serve --nvml`: the web app over the store while the NVML collector fills it."""
    check_seconds(seconds)
    with NvmlGpus(nvml) as gpus:

        def make(store: Store) -> Collector:
            return nvml_collector(cfg, store, gpus, deployment=deployment, scrape=scrape,
                                  clock=clock)  # fmt: skip

        run_service(cfg, db=db, start_web=start_web, prometheus=None, scrape=(), sd=None,
                    seconds=seconds, on_ready=on_ready, make_collector=make, on_cycle=on_cycle,
                    stop=stop)  # fmt: skip


__all__ = ["CombinedSource", "nvml_collector", "run_nvml_collector", "run_nvml_service"]
