"""Request-length histograms -> per-interval, per-deployment bucket count increments.

vLLM exposes `vllm:request_prompt_tokens` and `vllm:request_generation_tokens` as cumulative
histograms (`_bucket{le=...}` counters). Each bucket series is differenced like any counter (a
drop is a reset: the new value counts from zero; a stream's first reading is its baseline), and
the increment is charged to the interval (ts_end_s - step_s, ts_end_s] holding the later reading.
Increments stay cumulative in `le` (a row counts requests of at most `le` tokens).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from wattlens.telemetry.labels import canonical, workload_of_pod
from wattlens.telemetry.metrics import LENGTH_HISTOGRAMS
from wattlens.telemetry.records import FlatSamples, SeriesKey, SeriesSet

_INFRA = frozenset({"instance", "job", "endpoint", "service"})


@dataclass
class LengthHistograms:
    """Stateful differencing of request-length bucket counters across batches."""

    step_s: float = 30.0
    _last: dict[tuple[str, ...], tuple[float, float]] = field(default_factory=dict)
    _acc: dict[tuple[str, float, str, float], float] = field(default_factory=dict)

    def feed(self, batch: SeriesSet | FlatSamples) -> int:
        """Take the histogram bucket series of a batch; returns how many samples were used."""
        if isinstance(batch, FlatSamples):  # one scrape: only the bucket series are grouped
            keep = [i for i, k in enumerate(batch.keys) if k.name in LENGTH_HISTOGRAMS]
            batch = FlatSamples([batch.keys[i] for i in keep], batch.timestamps_s[keep],
                                batch.values[keep]).to_series_set()  # fmt: skip
        used = 0
        for key, (t, v) in batch.series.items():
            kind = LENGTH_HISTOGRAMS.get(key.name)
            if kind is None or t.size == 0:
                continue
            dep, le = _deployment(key), key.label("le")
            if dep is None or le is None:
                continue
            used += self._add(key, dep, kind, float(le), t, v)
        return used

    def _add(
        self, key: SeriesKey, dep: str, kind: str, le: float, t: np.ndarray, v: np.ndarray
    ) -> int:
        stream = (key.name, *(f"{k}={x}" for k, x in key.labels if k not in _INFRA))
        prev = self._last.get(stream)
        ok = np.isfinite(v) & (v >= 0)
        t, v = t[ok], v[ok]
        if prev is not None:
            keep = t > prev[0]
            t, v = np.concatenate([[prev[0]], t[keep]]), np.concatenate([[prev[1]], v[keep]])
        if t.size == 0:
            return 0
        self._last[stream] = (float(t[-1]), float(v[-1]))
        dv = np.diff(v)
        inc = np.where(dv < 0, v[1:], dv)  # a reset counts from zero
        ends = np.ceil(t[1:] / self.step_s - 1e-9) * self.step_s
        for end, x in zip(ends.tolist(), inc.tolist(), strict=True):
            k = (dep, end, kind, le)
            self._acc[k] = self._acc.get(k, 0.0) + x
        return int(t.size)

    def drain(self, upto_s: float = math.inf) -> dict[str, list[object]]:
        """Columns deployment_id, ts_end_s, kind, le, count of the intervals ending by `upto_s`.

        A live collector drains only finished intervals: rows are written insert-or-replace, so
        an interval written while readings still arrive would lose its earlier part."""
        cols: dict[str, list[object]] = {c: [] for c in ("deployment_id", "ts_end_s", "kind",
                                                         "le", "count")}  # fmt: skip
        done = sorted(k for k in self._acc if k[1] <= upto_s)
        for key in done:
            for c, x in zip(cols.values(), (*key, self._acc.pop(key)), strict=True):
                c.append(x)
        return cols


def _deployment(key: SeriesKey) -> str | None:
    c = canonical(key.labels)
    workload = workload_of_pod(c.pod) if c.pod else None
    return f"{c.namespace}/{workload}" if c.namespace and workload else None


__all__ = ["LengthHistograms"]
