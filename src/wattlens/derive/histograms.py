"""Request-length histograms -> per-interval, per-deployment bucket count increments.

vLLM exposes `vllm:request_prompt_tokens` and `vllm:request_generation_tokens` as cumulative
histograms (`_bucket{le=...}` counters). Each bucket series is differenced like any counter (a
drop is a reset: the new value counts from zero; a stream's first reading is its baseline), and
the increment is charged to the interval (ts_end_s - step_s, ts_end_s] holding the later reading.
Increments stay cumulative in `le` (a row counts requests of at most `le` tokens).

The samples of every bucket series of a batch are differenced together (one set of array
operations per batch, not per series: a fleet has thousands of bucket series), and increments
are kept as rows until drained, where those of one (deployment, interval, kind, le) are summed
in arrival order: the same sums, bit for bit, as adding them one by one as they come.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from wattlens.telemetry.labels import canonical, workload_of_pod
from wattlens.telemetry.metrics import LENGTH_HISTOGRAMS
from wattlens.telemetry.records import FlatSamples, SeriesKey, SeriesSet

_INFRA = frozenset({"instance", "job", "endpoint", "service"})
_KINDS = tuple(sorted(set(LENGTH_HISTOGRAMS.values())))  # kind id = rank in string order
_KIND_ID = {k: i for i, k in enumerate(_KINDS)}
_COLUMNS = ("deployment_id", "ts_end_s", "kind", "le", "count")
_MAX_REMEMBERED = 100_000  # series whose stream and deployment are remembered (then forgotten)

Stream = tuple[str, ...]
About = tuple[Stream, int, int, float]
"""A bucket series' stream (name and labels less infrastructure ones), deployment id, kind id
and `le`."""
Picked = tuple[Stream, int, int, float, np.ndarray, np.ndarray]


@dataclass
class LengthHistograms:
    """Stateful differencing of request-length bucket counters across batches."""

    step_s: float = 30.0
    _last: dict[Stream, tuple[float, float]] = field(default_factory=dict)
    # Per series key: (stream, deployment id, kind id, le), or None when it is not used.
    _series: dict[SeriesKey, About | None] = field(default_factory=dict)
    _dep_ids: dict[str, int] = field(default_factory=dict)
    _deps: list[str] = field(default_factory=list)
    # Increments not drained yet, in arrival order: (deployment id, ts_end_s, kind id, le, count).
    _rows: list[tuple[np.ndarray, ...]] = field(default_factory=list)

    def feed(self, batch: SeriesSet | FlatSamples) -> int:
        """Take the histogram bucket series of a batch; returns how many samples were used."""
        if isinstance(batch, FlatSamples):  # one scrape: only the bucket series are grouped
            keep = [i for i, k in enumerate(batch.keys) if k.name in LENGTH_HISTOGRAMS]
            batch = FlatSamples([batch.keys[i] for i in keep], batch.timestamps_s[keep],
                                batch.values[keep]).to_series_set()  # fmt: skip
        if len(self._series) > _MAX_REMEMBERED:
            self._series.clear()
        picked: list[Picked] = []
        for key, (t, v) in batch.series.items():
            if key.name not in LENGTH_HISTOGRAMS or t.size == 0:
                continue
            about = self._series.get(key, ())
            if about == ():
                about = self._series[key] = self._describe(key)
            if about is not None:
                picked.append((*about, t, v))
        if not picked:
            return 0
        if len({p[0] for p in picked}) < len(picked):
            # Two series of one stream (they differ in infrastructure labels only): the second
            # continues from the first's last reading, so they go one after the other.
            return sum(self._add([p]) for p in picked)
        return self._add(picked)

    def _describe(self, key: SeriesKey) -> About | None:
        dep, le = _deployment(key), key.label("le")
        if dep is None or le is None:
            return None
        stream = (key.name, *(f"{k}={x}" for k, x in key.labels if k not in _INFRA))
        dep_id = self._dep_ids.get(dep)
        if dep_id is None:
            dep_id = self._dep_ids[dep] = len(self._deps)
            self._deps.append(dep)
        return stream, dep_id, _KIND_ID[LENGTH_HISTOGRAMS[key.name]], float(le)

    def _add(self, picked: list[Picked]) -> int:
        """Difference series of distinct streams; returns the readings used (baselines too)."""
        n = len(picked)
        sizes = np.fromiter((p[4].size for p in picked), dtype=np.int64, count=n)
        t = np.concatenate([p[4] for p in picked])
        v = np.concatenate([p[5] for p in picked])
        seg = np.repeat(np.arange(n), sizes)
        ok = np.isfinite(v) & (v >= 0)
        prev = [self._last.get(p[0]) for p in picked]
        has_prev = np.fromiter((q is not None for q in prev), dtype=bool, count=n)
        if has_prev.any():
            prev_t = np.array([q[0] if q is not None else -math.inf for q in prev])
            ok &= ~has_prev[seg] | (t > prev_t[seg])
            # each stream's last reading goes in front of its new ones, as its baseline
            base_v = np.array([q[1] if q is not None else 0.0 for q in prev])
            t = np.concatenate([prev_t[has_prev], t[ok]])
            v = np.concatenate([base_v[has_prev], v[ok]])
            seg = np.concatenate([np.flatnonzero(has_prev), seg[ok]])
            order = np.argsort(seg, kind="stable")
            t, v, seg = t[order], v[order], seg[order]
        else:
            t, v, seg = t[ok], v[ok], seg[ok]
        if t.size == 0:
            return 0
        last = np.flatnonzero(np.append(seg[1:] != seg[:-1], True))
        for i, tl, vl in zip(seg[last].tolist(), t[last].tolist(), v[last].tolist(), strict=True):
            self._last[picked[i][0]] = (tl, vl)
        same = seg[1:] == seg[:-1]
        dv = v[1:] - v[:-1]
        inc = np.where(dv < 0, v[1:], dv)[same]  # a reset counts from zero
        ends = (np.ceil(t[1:] / self.step_s - 1e-9) * self.step_s)[same]
        s = seg[1:][same]
        if s.size:
            dep = np.fromiter((p[1] for p in picked), dtype=np.int64, count=n)
            kind = np.fromiter((p[2] for p in picked), dtype=np.int64, count=n)
            le = np.fromiter((p[3] for p in picked), dtype=np.float64, count=n)
            self._rows.append((dep[s], ends, kind[s], le[s], inc))
        return int(t.size)

    def drain(self, upto_s: float = math.inf) -> dict[str, list[object]]:
        """Columns deployment_id, ts_end_s, kind, le, count of the intervals ending by `upto_s`.

        A live collector drains only finished intervals: rows are written insert-or-replace, so
        an interval written while readings still arrive would lose its earlier part."""
        cols: dict[str, list[object]] = {c: [] for c in _COLUMNS}
        if not self._rows:
            return cols
        dep, end, kind, le, inc = (np.concatenate(c) for c in zip(*self._rows, strict=True))
        done = end <= upto_s
        self._rows = [] if done.all() else [tuple(c[~done] for c in (dep, end, kind, le, inc))]
        if not done.any():
            return cols
        dep, end, kind, le, inc = dep[done], end[done], kind[done], le[done], inc[done]
        rank = np.empty(len(self._deps), dtype=np.int64)
        rank[sorted(range(len(self._deps)), key=self._deps.__getitem__)] = np.arange(rank.size)
        order = np.lexsort((le, kind, end, rank[dep]))  # stable: arrival order within a key
        d, e, k, x = rank[dep][order], end[order], kind[order], le[order]
        first = np.ones(order.size, dtype=bool)
        first[1:] = (d[1:] != d[:-1]) | (e[1:] != e[:-1]) | (k[1:] != k[:-1]) | (x[1:] != x[:-1])
        group = np.cumsum(first) - 1
        count = np.zeros(int(group[-1]) + 1)
        np.add.at(count, group, inc[order])  # one by one, in arrival order
        heads = order[first]
        return {
            "deployment_id": [self._deps[i] for i in dep[heads].tolist()],
            "ts_end_s": end[heads].tolist(),
            "kind": [_KINDS[i] for i in kind[heads].tolist()],
            "le": le[heads].tolist(),
            "count": count.tolist(),
        }


def _deployment(key: SeriesKey) -> str | None:
    c = canonical(key.labels)
    workload = workload_of_pod(c.pod) if c.pod else None
    return f"{c.namespace}/{workload}" if c.namespace and workload else None


__all__ = ["LengthHistograms"]
