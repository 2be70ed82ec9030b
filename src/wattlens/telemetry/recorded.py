"""The recorded series of `wattlens rules`, read back as raw-like series (issue 15).

One home for their names: `integrations.rules` generates `PREFIX + <metric>` and this module
reads the same names. When the backend evaluates the rules it already holds per-deployment power
and token rates (`wattlens:deployment_power_watts`, `..._prompt_tokens_per_s`,
`..._generation_tokens_per_s`); `RecordedSource` reads those few series instead of every raw
DCGM and engine series and turns each rate back into a counter (Σ rate x time since the previous
evaluation: a recorded rate covers the window before its evaluation), under the raw names the
derivation reads: `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION` (mJ) with one synthetic GPU per
deployment (`UUID="recorded:<deployment>"`), `vllm:prompt_tokens_total` and
`vllm:generation_tokens_total`, on pod `<workload>-0` (which maps back to the workload).

What this gives up against the raw path: GPU count, GPU model and the engine's activity gauges
(KV cache, queue) are not in the recorded series; a gap of more than `max_gap_s` between two
evaluations adds nothing (the backend did not evaluate the rules then).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from wattlens.core.units import joules_from_millijoules
from wattlens.telemetry.records import SeriesKey, SeriesSet, make_labels

log = logging.getLogger(__name__)
PREFIX = "wattlens:deployment_"
NEEDED = ("power_watts", "prompt_tokens_per_s", "generation_tokens_per_s")
LOOKBACK = "1h"  # rules evaluated within the last hour count as present
# recorded rate -> (raw counter it stands for, counter units per rate unit x second)
AS_COUNTER = {
    "power_watts": ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 1.0 / joules_from_millijoules(1.0)),
    "prompt_tokens_per_s": ("vllm:prompt_tokens_total", 1.0),
    "generation_tokens_per_s": ("vllm:generation_tokens_total", 1.0),
}


class RecordedClient(Protocol):
    """What is used of `telemetry.promapi.PrometheusClient`."""

    base_url: Any

    def instant(
        self, query: str, time_s: float | None = None
    ) -> list[tuple[dict[str, str], float, float]]:
        """Instant vector query."""
        ...

    def raw(self, selector: str, start_s: float, end_s: float, *, chunk_s: float = ...) -> Any:
        """Raw samples of a selector."""
        ...


@dataclass(frozen=True, slots=True)
class RecordedDetection:
    """Which `wattlens:deployment_*` series the backend holds."""

    backend: str
    present: tuple[str, ...]  # names without the prefix, sorted
    series_count: int

    @property
    def missing(self) -> tuple[str, ...]:
        """Needed names the backend does not hold."""
        return tuple(n for n in NEEDED if n not in self.present)

    @property
    def usable(self) -> bool:
        """Power and both token rates are recorded: energy and tokens can be read back."""
        return not self.missing

    def message(self) -> str:
        """The log line: what was found and what wattlens does with it."""
        if self.usable:
            return (f"{self.backend} holds the wattlens recorded series ({len(self.present)} "
                    f"names, {self.series_count} series): per-deployment power, energy and "
                    "tokens can be read from them instead of the raw series")  # fmt: skip
        if not self.present:
            return (f"{self.backend} holds no wattlens recorded series: reading the raw series "
                    "(load `wattlens rules` into the backend to let it do the work)")  # fmt: skip
        return (f"{self.backend} holds some wattlens recorded series but not "
                f"{', '.join(PREFIX + n for n in self.missing)}: reading the raw series "
                "(regenerate and reload `wattlens rules`)")  # fmt: skip


def detect_recorded(
    client: RecordedClient, at_s: float | None = None, lookback: str = LOOKBACK
) -> RecordedDetection:
    """Ask the backend which recorded series it holds (any sample in the `lookback` before
    `at_s`, default now; one instant query), and log it."""
    sel = f'{{__name__=~"{PREFIX}.+"}}'
    rows = client.instant(f"count by (__name__) (last_over_time({sel}[{lookback}]))", at_s)
    counts = {r[0].get("__name__", "").removeprefix(PREFIX): int(r[2]) for r in rows}
    found = RecordedDetection(str(client.base_url), tuple(sorted(counts)), sum(counts.values()))
    log.info("recorded series: %s", found.message())
    return found


def deployment_of(key: SeriesKey) -> tuple[str, str, str]:
    """(deployment, namespace, workload) of a recorded series."""
    ns, wl = key.label("namespace") or "", key.label("workload") or ""
    return key.label("deployment") or f"{ns}/{wl}", ns, wl


class RecordedSource:
    """The recorded rates as raw-like counters: the collector's source when the backend holds
    them (same `fetch`/`backfill` as `app.collector.PrometheusSource`)."""

    def __init__(self, client: RecordedClient, *, max_gap_s: float = 900.0) -> None:
        self._client = client
        self._max_gap_s = max_gap_s
        self._cursor: float | None = None
        self._last: dict[SeriesKey, tuple[float, float]] = {}  # recorded key -> (t, counter)
        self.description = f"Prometheus API at {client.base_url} (wattlens recorded series)"
        self.target = str(client.base_url)

    def fetch(self, now_s: float) -> tuple[SeriesSet, list[Any]]:
        """The recorded samples since the last fetch, as counters."""
        start = now_s - 900.0 if self._cursor is None else self._cursor - 300.0
        batch = self._read(start, now_s, max(60.0, now_s - start))
        self._cursor = max(now_s, self._cursor or now_s)
        return batch, []

    def backfill(
        self,
        start_s: float,
        end_s: float,
        chunk_s: float,
        on_chunk: Callable[[SeriesSet, float], None],
    ) -> None:
        """Fetch [start, end] chunk by chunk, in time order, handing each to `on_chunk`."""
        lo = start_s
        while lo < end_s:
            hi = min(lo + chunk_s, end_s)
            on_chunk(self._read(lo, hi, chunk_s), hi)
            lo = hi
        self._cursor = end_s

    def _read(self, start_s: float, end_s: float, chunk_s: float) -> SeriesSet:
        out = SeriesSet()
        for name, (raw_name, per_unit) in AS_COUNTER.items():
            got = self._client.raw(f'{{__name__="{PREFIX}{name}"}}', start_s, end_s,
                                   chunk_s=chunk_s)  # fmt: skip
            for key, (t, v) in got.series.items():
                t, counter = self._as_counter(key, np.asarray(t), np.asarray(v) * per_unit)
                if t.size:
                    out.add(SeriesKey(raw_name, _raw_labels(key, raw_name)), t, counter)
        return out

    def _as_counter(
        self, key: SeriesKey, t: np.ndarray, rate: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        prev = self._last.get(key)
        if prev is not None:
            keep = t > prev[0]
            t, rate = t[keep], rate[keep]
        if not t.size:
            return t, rate
        t0, c0 = prev if prev is not None else (t[0], 0.0)
        dt = np.diff(np.concatenate([[t0], t]))
        ok = np.isfinite(rate) & (dt <= self._max_gap_s)
        counter = c0 + np.cumsum(np.where(ok, rate * dt, 0.0))
        self._last[key] = (float(t[-1]), float(counter[-1]))
        return t, counter


def _raw_labels(key: SeriesKey, raw_name: str) -> Any:
    dep, ns, wl = deployment_of(key)
    labels = {"namespace": ns, "pod": f"{wl}-0"}  # `-0`: maps back to the workload
    if raw_name.startswith("DCGM"):
        labels |= {"gpu": "0", "UUID": f"recorded:{dep}", "Hostname": "recorded"}
    return make_labels(labels)


__all__ = [
    "AS_COUNTER",
    "LOOKBACK",
    "NEEDED",
    "PREFIX",
    "RecordedDetection",
    "RecordedSource",
    "deployment_of",
    "detect_recorded",
]
