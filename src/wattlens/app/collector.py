"""The collector: telemetry source -> Deriver -> Store, cycle by cycle, with backfill on start.

Sources share one small protocol: `fetch(now_s) -> (SeriesSet, errors)`. A Prometheus-API source
reads raw samples since the last fetch, so the live path and the backfill path are the same code.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from wattlens.app.derivation import Derivation, Derived
from wattlens.core.errors import BackendError, ConfigError, WattlensError
from wattlens.derive.engine import Deriver
from wattlens.store import Store
from wattlens.store.lengths import write_length_buckets
from wattlens.telemetry.metrics import COLLECTED_METRICS
from wattlens.telemetry.recorded import RecordedSource, detect_recorded
from wattlens.telemetry.records import FlatSamples, SeriesSet

META_LAST_SUCCESS = "collector.last_success_s"
META_LAST_ERROR = "collector.last_error"
META_LAST_ERROR_AT = "collector.last_error_s"
META_SOURCE = "collector.source"
META_FAILURES = "collector.failures"  # JSON: [{"target", "cause", "since_s"}] failing now

log = logging.getLogger(__name__)


class Failure(NamedTuple):
    """One target (URL) that failed in a cycle, and why."""

    target: str
    cause: str

    def describe(self) -> str:
        """One line naming the target and the cause (the target once)."""
        return self.cause if self.target in self.cause else f"{self.target}: {self.cause}"


def wanted_selector() -> str:
    """PromQL selector for every metric wattlens reads (names are fixed, not user input)."""
    names = "|".join(sorted(n.replace(".", r"\\.") for n in COLLECTED_METRICS))
    return f'{{__name__=~"{names}"}}'


def _name_selector(name: str) -> str:
    """PromQL selector of one metric name (names with ':' need the __name__ form)."""
    return f'{{__name__="{name}"}}'


class Source(Protocol):
    """Where raw samples come from."""

    description: str
    target: str  # what a source-wide failure is reported against (the backend URL)

    def fetch(self, now_s: float) -> tuple[SeriesSet | FlatSamples, list[Failure]]:
        """New raw samples up to now_s, plus one `Failure` per failed target."""


class ScrapeSource:
    """Direct scrape of exporter endpoints (no Prometheus), optionally re-discovering targets.

    `discover` (e.g. HTTP-SD) is called every `refresh_s` so restarted pods are followed; a
    failed discovery keeps the previous targets.
    """

    def __init__(
        self,
        scraper: Any,
        *,
        discover: Callable[[], list[Any]] | None = None,
        refresh_s: float = 30.0,
        static_targets: list[Any] | None = None,
        sd_url: str | None = None,
    ) -> None:
        self._scraper = scraper
        self.sd_url = sd_url
        self._discover = discover
        self._refresh_s = refresh_s
        self._static = list(static_targets or [])
        self._last_refresh = -math.inf
        self.description = f"scrape of {len(scraper.targets)} target(s)"
        self.target = "scrape"

    def fetch(self, now_s: float) -> tuple[FlatSamples, list[Failure]]:
        """Scrape every target once."""
        errors: list[Failure] = []
        if self._discover is not None and now_s - self._last_refresh >= self._refresh_s:
            try:
                self._scraper.set_targets(self._static + list(self._discover()))
                self._last_refresh = now_s
            except WattlensError as e:
                errors.append(Failure(self.sd_url or "service discovery", str(e)))
        res = self._scraper.scrape(now_s)
        return res.samples, errors + [Failure(tgt.url, msg) for tgt, msg in res.errors]


class PrometheusSource:
    """Raw samples from a Prometheus-API backend (Prometheus or VictoriaMetrics).

    Each fetch reads up to `now` (no lag) and re-reads the last `overlap_s` seconds, so a sample
    the backend ingests late (a slow scrape is stored under its start time) is still read; every
    sample at or before the newest one already handed out for its series is dropped, so nothing
    is counted twice.
    """

    def __init__(
        self, client: Any, *, start_s: float | None = None, overlap_s: float = 0.0
    ) -> None:
        self._client = client
        self._cursor = start_s
        self._overlap_s = overlap_s
        self._last_t: dict[Any, float] = {}  # series key -> newest timestamp handed out
        self.description = f"Prometheus API at {client.base_url}"
        self.target = str(client.base_url)

    def fetch(self, now_s: float) -> tuple[SeriesSet, list[Failure]]:
        """Every raw sample up to now_s not handed out before."""
        end = now_s
        start = end - 60.0 if self._cursor is None else self._cursor - self._overlap_s
        if end <= start:
            return SeriesSet(), []
        out = self._client.raw(wanted_selector(), start, end, chunk_s=max(60.0, end - start))
        self._cursor = max(end, self._cursor or end)
        batch = self._unseen(out)
        if len(self._last_t) > 2 * len(out.series) + 1000:  # series gone (old pods): forget them
            self._last_t = {k: t for k, t in self._last_t.items() if t > start}
        return batch, []

    def state(self) -> dict[str, Any]:
        """Where this source stands (for a process that continues it: app.backfill_worker):
        its cursor, each series' newest sample handed out, and the client's known series."""
        return {"cursor": self._cursor, "last_t": self._last_t, "keys": self._client.known_keys}

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from another source's `state` (same backend)."""
        self._cursor = state["cursor"]
        self._last_t = state["last_t"]
        self._client.known_keys = state["keys"]

    def resume(self, from_s: float) -> None:
        """Make the next fetch read from `from_s` on (after a backfill done elsewhere: a fresh
        deriver needs the counters' readings just before the buckets it is to finish)."""
        self._cursor = from_s + self._overlap_s

    def _unseen(self, batch: SeriesSet) -> SeriesSet:
        """`batch` less the samples at or before each series' newest one handed out."""
        out = SeriesSet()
        last = self._last_t
        for key, (t, v) in batch.series.items():
            prev = last.get(key)
            if prev is not None and t.size and t[0] <= prev:
                keep = t > prev
                t, v = t[keep], v[keep]
            if t.size:
                last[key] = float(t[-1])
                out.series[key] = (t, v)
        return out

    def _present_names(self, start_s: float, end_s: float) -> list[str]:
        """The metric names wattlens reads that have series in [start_s, end_s], from one label
        values request (the backend's index; a superset where it answers per block or day): a
        vLLM fleet exposes none of the SGLang names, about half the list, and a request per
        chunk for each would come back empty. Every name where the backend cannot say."""
        names = sorted(COLLECTED_METRICS)
        label_values = getattr(self._client, "label_values", None)  # PrometheusClient's
        if label_values is None:
            return names
        try:
            got = label_values("__name__", wanted_selector(), start_s, end_s)
        except BackendError as e:
            log.info("backfill: reading every metric name (label values failed: %s)", e)
            return names
        if not got:  # nothing, or not the list asked for: ask for every name
            return names
        present = set(got)
        return [n for n in names if n in present]

    def backfill(
        self,
        start_s: float,
        end_s: float,
        chunk_s: float,
        on_chunk: Callable[[SeriesSet, float], None],
    ) -> None:
        """Fetch [start, end] chunk by chunk, in time order, handing each to `on_chunk`.

        Each chunk is read one metric name at a time: a response (and the JSON objects parsed
        from it) is then a fraction of the chunk, which keeps the peak heap, and so the memory
        the process keeps after the backfill, small while chunks stay long (few requests).
        """
        names = self._present_names(start_s, end_s)
        lo = start_s
        while lo < end_s:
            hi = min(lo + chunk_s, end_s)
            batch = SeriesSet()
            for name in names:
                got = self._client.raw(_name_selector(name), lo, hi, chunk_s=chunk_s)
                batch.series.update(got.series)  # names differ, so keys never collide
            on_chunk(self._unseen(batch), hi)
            lo = hi
        self._cursor = end_s


def backend_source(
    client: Any, *, use_recorded: str, overlap_s: float
) -> PrometheusSource | RecordedSource:
    """The Prometheus-API source: the recorded series of `wattlens rules` when `use_recorded`
    allows it ("auto": when the backend holds them; "always") and the raw series otherwise; one
    log line says which."""
    raw = PrometheusSource(client, overlap_s=overlap_s)
    if use_recorded == "never":
        return raw
    try:
        found = detect_recorded(client)
    except BackendError as e:
        if use_recorded == "always":
            raise
        log.info("collector: reading the raw series (recorded series not checked: %s)", e)
        return raw
    if found.usable:
        log.info("collector: reading the wattlens recorded series from %s (use_recorded=%s)",
                 client.base_url, use_recorded)  # fmt: skip
        return RecordedSource(client)
    if use_recorded == "always":
        raise ConfigError(f'backend.use_recorded = "always", but {found.message()}')
    log.info("collector: reading the raw series (%s)", found.message())
    return raw


@dataclass
class CycleStats:
    """What one collection cycle did."""

    samples: int = 0
    records: int = 0
    errors: list[str] = field(default_factory=list)
    cpu_s: float = 0.0  # whole process, HTTP client threads included
    main_thread_cpu_s: float = 0.0  # parsing, derivation and the store write
    committed_through_s: float | None = None  # newest interval end written in this cycle


class Collector:
    """Runs collection cycles against a store (which it owns for writing)."""

    def __init__(
        self,
        store: Store,
        deriver: Deriver,
        source: Source,
        *,
        retention: Any | None = None,
        clock: Callable[[], float] = time.time,
        lag_s: float | None = None,
        retention_every_s: float = 300.0,
    ) -> None:
        self.store = store
        self.derivation = Derivation(deriver)
        self.deriver = deriver
        self.lengths = self.derivation.lengths  # request-length buckets
        self.source = source
        self.retention = retention
        self._clock = clock
        step = deriver.options.step_s
        # A bucket is written once every stream has reported past its end.
        self._lag_s = step if lag_s is None else lag_s
        self._retention_every_s = retention_every_s
        self._last_retention = -math.inf
        self.committed_through_s: float | None = None
        self.failing: dict[str, Failure] = {}  # target -> failure, while it keeps failing
        self._since: dict[str, float] = {}  # target -> first failure of the current streak
        self.ever_received = False  # any sample at all since start
        # Work the first cycle that reaches the backend does first (a deferred backfill).
        self.before_next_cycle: Callable[[], None] | None = None
        store.set_meta(META_SOURCE, source.description)
        store.set_meta(META_FAILURES, "[]")

    def ingest(
        self, batch: SeriesSet | FlatSamples, watermark_s: float, *, provisional: bool = False
    ) -> tuple[int, int]:
        """Feed a batch, write finished buckets; returns (samples used, records written).

        With `provisional`, the open buckets after the watermark are written too (energy and
        tokens cut to the span both cover), so the newest figures are never a step behind; they
        are rewritten once complete.
        """
        derived = self.derivation.run(batch, watermark_s, provisional=provisional)
        self.committed_through_s = derived.committed_through_s
        return derived.used, self.write(derived)

    def write(self, derived: Derived) -> int:
        """Write what `Derivation.run` made (here or in a backfill worker) in one transaction;
        returns the interval rows written."""
        rows = int(derived.columns["ts_end_s"].size)
        if rows or derived.deployments is not None or derived.lengths["ts_end_s"].size:
            with self.store.transaction():
                if derived.deployments is not None:
                    self.store.upsert_deployments(derived.deployments, derived.seen_s)
                if rows:
                    # no record objects; one row per (deployment, bucket) by construction
                    self.store.write_intervals_columns(derived.columns, unique_keys=True)
                write_length_buckets(self.store, derived.lengths)
        return rows

    def cycle(self) -> CycleStats:
        """One fetch-derive-write cycle; backend failures are recorded, never raised."""
        cpu0, main0 = time.process_time(), time.thread_time()
        now = self._clock()
        stats = CycleStats()
        try:
            if self.before_next_cycle is not None:
                self.before_next_cycle()
                self.before_next_cycle = None
            batch, failures = self.source.fetch(now)
        except BackendError as e:
            self._track([Failure(self.source.target, str(e))], now)
            stats.errors.append(str(e))
            stats.cpu_s = time.process_time() - cpu0
            return stats
        stats.samples, stats.records = self.ingest(batch, now - self._lag_s, provisional=True)
        stats.committed_through_s = self.committed_through_s
        stats.errors = [f.describe() for f in failures]
        self._track(failures, now)
        if len(batch):
            self.ever_received = True
            self.store.set_meta(META_LAST_SUCCESS, repr(now))
        if self.retention is not None and now - self._last_retention >= self._retention_every_s:
            self.store.apply_retention(now, self.retention)
            self._last_retention = now
        stats.cpu_s = time.process_time() - cpu0
        stats.main_thread_cpu_s = time.thread_time() - main0
        return stats

    def record_failures(self, failures: list[Failure], now: float) -> None:
        """Record failures seen outside a cycle (e.g. the backend down at start)."""
        self._track(failures, now)

    def _track(self, failures: list[Failure], now: float) -> None:
        """Name each failing target (URL, cause, since when) in the log and the store meta."""
        now_failing = {f.target: f for f in failures}
        for target, f in now_failing.items():
            if target not in self.failing:
                self._since[target] = now
                log.warning("collection failing: %s", f.describe())
        for target in set(self.failing) - set(now_failing):
            log.warning("collection recovered: %s", target)
            self._since.pop(target, None)
        if now_failing != self.failing or failures:
            body = [{"target": t, "cause": f.cause[:500], "since_s": self._since[t]}
                    for t, f in sorted(now_failing.items())]  # fmt: skip
            self.store.set_meta(META_FAILURES, json.dumps(body))
        self.failing = now_failing
        if failures:
            message = "; ".join(f.describe() for f in failures)
            self.store.set_meta(META_LAST_ERROR, message[:500])
            self.store.set_meta(META_LAST_ERROR_AT, repr(now))

    def flush(self) -> int:
        """Write every pending bucket (on shutdown)."""
        infos, records = self.deriver.drain(math.inf)
        lengths = self.lengths.drain()
        if records or lengths["ts_end_s"]:
            with self.store.transaction():
                self.store.upsert_deployments(infos, self._clock())
                self.store.write_intervals(records)
                write_length_buckets(self.store, lengths)
        return len(records)


__all__ = [
    "META_FAILURES",
    "Collector",
    "CycleStats",
    "Derivation",
    "Derived",
    "Failure",
    "PrometheusSource",
    "ScrapeSource",
    "Source",
    "backend_source",
    "wanted_selector",
]
