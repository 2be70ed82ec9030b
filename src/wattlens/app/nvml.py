"""`wattlens collect --nvml`: local GPUs through NVML feeding the same derivation and store.

GPUs are mapped to one engine with `deployment` (a single-engine node: `NAMESPACE/NAME` or
`NAME`); without it each GPU's compute processes are mapped to their Kubernetes pod through
procfs (cgroup, HOSTNAME, service-account namespace: `telemetry.nvml.pod_of_process`), and GPUs
with no pod process are collected unallocated.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wattlens.app.collector import Collector
from wattlens.app.ops import make_deriver
from wattlens.app.runner import check_seconds, run_loop
from wattlens.app.settings import carbon_model, derive_options, retention_policy
from wattlens.config import Config
from wattlens.store import Store
from wattlens.telemetry.nvml import NvmlGpus, NvmlSource


def nvml_collector(
    cfg: Config,
    store: Store,
    gpus: NvmlGpus,
    *,
    deployment: str | None = None,
    hostname: str | None = None,
    clock: Callable[[], float] = time.time,
) -> Collector:
    """A collector over the local GPUs' NVML counters."""
    deriver = make_deriver(derive_options(cfg), carbon_model(cfg))
    source = NvmlSource(gpus, deployment=deployment, hostname=hostname)
    return Collector(store, deriver, source, retention=retention_policy(cfg), clock=clock)


def run_nvml_collector(
    cfg: Config,
    *,
    db: Path,
    deployment: str | None,
    seconds: float | None,
    on_cycle: Callable[[Any], None] | None = None,
    nvml: Any = None,
) -> None:
    """Collect from NVML until stopped (signal) or for `seconds`, then flush and close."""
    check_seconds(seconds)
    with NvmlGpus(nvml) as gpus, Store.open(db) as store:
        store.announce_writer("collect")
        collector = nvml_collector(cfg, store, gpus, deployment=deployment)
        run_loop(collector, interval_s=cfg.scrape.interval_s, seconds=seconds, on_cycle=on_cycle)


__all__ = ["nvml_collector", "run_nvml_collector"]
