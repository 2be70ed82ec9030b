"""The start-up backfill: fill the store from a Prometheus-API backend between the last stored
interval and now, in this process or through a forked child (app.backfill_worker)."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable
from typing import Any

from wattlens.app.backfill_worker import BackfillWorker, Job
from wattlens.app.collector import Collector, PrometheusSource, backfill_window
from wattlens.config import Config
from wattlens.store import Store
from wattlens.telemetry.recorded import PREFIX, RecordedSource

_ANCHOR_METRICS = (
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    "vllm:generation_tokens_total",
    "sglang:generation_tokens_total",
    PREFIX + "power_watts",  # recorded series may be kept longer than the raw ones
)


_HORIZON_S = 5 * 365 * 86400.0  # how far back the oldest sample is looked for
_RESOLUTION_S = 600.0  # the bisection stops at this window, then reads its raw samples


def _earliest(client: Any, now_s: float) -> float | None:
    """Oldest retained sample among the metrics every fleet exposes.

    Bisects on "any sample in (lo, mid]" (keeping "no sample <= lo"), asking about every anchor
    metric in one query a step (`count(count_over_time(a[w])) or count(...b...)`: one name per
    `_over_time`, since those drop names and would collide across metrics), then reads the raw
    samples of the last window: about 20 queries, not 20 per metric present.
    """
    hi_ms = round(now_s * 1000)
    lo_ms = hi_ms - round(_HORIZON_S * 1000)

    def any_in(a_ms: int, b_ms: int) -> bool:
        q = " or ".join(
            f'count(count_over_time({{__name__="{name}"}}[{b_ms - a_ms}ms]))'
            for name in _ANCHOR_METRICS
        )
        return bool(client.instant(q, b_ms / 1000.0))

    if not any_in(lo_ms, hi_ms):
        return None
    while hi_ms - lo_ms > round(_RESOLUTION_S * 1000):
        mid = (lo_ms + hi_ms) // 2
        if any_in(lo_ms, mid):
            hi_ms = mid
        else:
            lo_ms = mid
    names = "|".join(_ANCHOR_METRICS)
    got = client.instant_raw(f'{{__name__=~"{names}"}}', (hi_ms - lo_ms) / 1000.0, hi_ms / 1000.0)
    found = [float(t[0]) for t, _ in got.series.values() if t.size]
    return min(found) if found else None


def backfill(
    collector: Collector,
    source: PrometheusSource | RecordedSource,
    client: Any,
    *,
    now_s: float,
    max_back_s: float,
    progress: Callable[[float], None] | None = None,
    chunk_s: float = 6 * 3600.0,
    worker: BackfillWorker | None = None,
) -> int:
    """Fill the store from the backend between the last stored sample and now.

    With a `worker` (forked at start), the child reads and derives the window and this process
    writes what it sends, then reads the last two steps itself (see app.backfill_worker).
    """
    earliest = _earliest(client, now_s)
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
        # This process's deriver starts fresh: it reads the last two steps again (counters
        # need a previous reading; a re-derived interval never replaces a more complete stored
        # one), in the first live fetch when the child finished, else here with the rest.
        if through >= hi and isinstance(source, PrometheusSource):
            source.resume(hi - 2 * step_s)
            _settle(collector.store)
            return written
        lo = max(lo, min(through, hi) - 2 * step_s)

    def on_chunk(batch: Any, chunk_end: float) -> None:
        nonlocal written
        written += collector.ingest(batch, chunk_end - step_s)[1]
        if progress is not None:
            progress((chunk_end - lo) / (hi - lo))

    source.backfill(lo, hi, chunk_s, on_chunk)
    _settle(collector.store)
    return written


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
    libc = ctypes.util.find_library("c")
    if libc is None:
        return
    try:
        trim = ctypes.CDLL(libc).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return
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


__all__ = ["backfill", "fork_backfill_worker", "release_memory"]
