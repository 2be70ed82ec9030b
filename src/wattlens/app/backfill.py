"""The start-up backfill: fill the store from a Prometheus-API backend between the last stored
interval and now, in this process or through a forked child (app.backfill_worker)."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

from wattlens.app.backfill_worker import BackfillWorker, Job
from wattlens.app.collector import Collector, PrometheusSource
from wattlens.config import Config
from wattlens.core.libc import libc_function
from wattlens.store import Store
from wattlens.telemetry.recorded import PREFIX, RecordedSource

_ANCHOR_METRICS = (
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    "vllm:generation_tokens_total",
    "sglang:generation_tokens_total",
    PREFIX + "power_watts",  # recorded series may be kept longer than the raw ones
)


# Each chunk is one request per metric name. Every series costs a little in each (its labels
# found, its key looked up, its samples handed along): 12 h chunks cost the child 0.94 CPU-s where
# 6 h cost 1.23 on 80 deployments x 1 d, Prometheus the same (issue #11). 24 h gained no more.
BACKFILL_CHUNK_S = 12 * 3600.0


def backfill(
    collector: Collector,
    source: PrometheusSource | RecordedSource,
    client: Any,
    *,
    now_s: float,
    max_back_s: float,
    progress: Callable[[float], None] | None = None,
    chunk_s: float = BACKFILL_CHUNK_S,
    worker: BackfillWorker | None = None,
) -> int:
    """Fill the store from the backend between the last stored sample and now.

    With a `worker` (forked at start), the child reads and derives the window and this process
    writes what it sends, then reads the last two steps itself (see app.backfill_worker).
    """
    # The oldest retained sample among the metrics every fleet exposes.
    earliest = client.earliest_timestamp(
        *(f'{{__name__="{name}"}}' for name in _ANCHOR_METRICS), now_s=now_s
    )
    step_s = collector.deriver.options.step_s
    window = backfill_window(
        now_s=now_s,
        last_stored_s=collector.store.last_ts(),
        max_back_s=max_back_s,
        earliest_s=earliest,
        step_s=step_s,
    )
    if window is None:
        return 0
    lo, hi = window
    written = 0
    if worker is not None and not worker.done:
        recorded = isinstance(source, RecordedSource)
        job = Job(str(client.base_url), recorded, lo, hi, chunk_s)
        through, written = worker.run(job, collector, progress)
        if through >= hi and isinstance(source, PrometheusSource):
            if worker.handoff is not None:  # continue from the child's state
                collector.derivation.restore(worker.handoff["derivation"])
                source.restore(worker.handoff["source"])
            else:  # read the last two steps again in the first live fetch (see below)
                source.resume(hi - 2 * step_s)
            _settle(collector.store)
            return written
        # This process's deriver starts fresh: it reads the last two steps again (counters
        # need a previous reading; a re-derived interval never replaces a more complete stored
        # one), here with the rest.
        lo = max(lo, min(through, hi) - 2 * step_s)

    def on_chunk(batch: Any, chunk_end: float) -> None:
        nonlocal written
        written += collector.ingest(batch, chunk_end - step_s)[1]
        if progress is not None:
            progress((chunk_end - lo) / (hi - lo))

    source.backfill(lo, hi, chunk_s, on_chunk)
    _settle(collector.store)
    return written


def backfill_window(
    *,
    now_s: float,
    last_stored_s: float | None,
    max_back_s: float,
    earliest_s: float | None,
    step_s: float,
) -> tuple[float, float] | None:
    """The span to backfill on start: from just before the last stored sample (or as far back as
    allowed), never before the backend's oldest sample; None when nothing is missing."""
    if earliest_s is None:
        return None  # the backend holds nothing we read
    lo = now_s - max_back_s
    if last_stored_s is not None:
        lo = max(lo, last_stored_s - 2 * step_s)  # overlap: the counters need a previous reading
    lo = max(lo, earliest_s)
    if now_s - lo <= step_s:
        return None
    return lo, now_s


def _settle(store: Store) -> None:
    """After a backfill: roll up, write the log into the file (DuckDB then frees the memory the
    upserts' index entries held), and return the freed heap."""
    store.rollup_pending()
    store.checkpoint()
    release_memory()


def release_memory() -> None:
    """Hand the heap a long job left free back to the OS (glibc keeps it otherwise: after a
    backfill that is a few hundred MB the service would hold while it idles)."""
    gc.collect()
    trim = libc_function("malloc_trim")
    if trim is not None:  # glibc only (musl, macOS: nothing to trim)
        trim(0)


def fork_backfill_worker(
    cfg: Config, prometheus: str | None, backfill_on_start: bool = True
) -> BackfillWorker | None:
    """The child that will read and derive the start-up backfill from a Prometheus-API backend
    (app.backfill_worker), forked now: call before the store opens or any thread starts. None
    when there is no backend or no backfill to do, or fork is unsafe here."""
    if not (prometheus or cfg.backend.prometheus_url) or not (
        backfill_on_start and cfg.backend.backfill
    ):
        return None
    return BackfillWorker.fork(cfg)


__all__ = ["backfill", "backfill_window", "fork_backfill_worker", "release_memory"]
