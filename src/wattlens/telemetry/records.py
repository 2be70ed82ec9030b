"""Record types where telemetry readers meet their consumers. Readers import nothing else.

Every reader (Prometheus API, exporter scrape, OpenMetrics / range-JSON import) produces a
`SeriesSet`: raw samples grouped by series, as exposed (metric names and labels untouched).
Label variants are resolved later by `telemetry.labels`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

Labels = tuple[tuple[str, str], ...]
"""Label pairs sorted by name; hashable so a series key can index dicts."""


def make_labels(labels: Mapping[str, str]) -> Labels:
    """Sorted, hashable label tuple from a mapping (drops `__name__`)."""
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))


class SeriesKey(NamedTuple):
    """Identity of one time series: metric name as exposed plus its labels."""

    name: str
    labels: Labels

    def label(self, name: str, default: str | None = None) -> str | None:
        """Value of one label, or `default`."""
        for k, v in self.labels:
            if k == name:
                return v
        return default

    def label_dict(self) -> dict[str, str]:
        """Labels as a dict."""
        return dict(self.labels)


class Sample(NamedTuple):
    """One sample of one series."""

    key: SeriesKey
    timestamp_s: float
    value: float


@dataclass
class SeriesSet:
    """Raw samples by series: key -> (timestamps_s, values), float64 arrays sorted by time."""

    series: dict[SeriesKey, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @classmethod
    def from_samples(cls, samples: Iterable[Sample]) -> SeriesSet:
        """Group loose samples into sorted per-series arrays."""
        ts: dict[SeriesKey, list[float]] = {}
        vs: dict[SeriesKey, list[float]] = {}
        for s in samples:
            ts.setdefault(s.key, []).append(s.timestamp_s)
            vs.setdefault(s.key, []).append(s.value)
        out = cls()
        for key, t in ts.items():
            out.add(key, np.asarray(t, dtype=np.float64), np.asarray(vs[key], dtype=np.float64))
        return out

    def add(self, key: SeriesKey, timestamps_s: np.ndarray, values: np.ndarray) -> None:
        """Add (or extend) a series; keeps time order and drops duplicate timestamps."""
        t = np.asarray(timestamps_s, dtype=np.float64)
        v = np.asarray(values, dtype=np.float64)
        if key in self.series:
            t0, v0 = self.series[key]
            t = np.concatenate([t0, t])
            v = np.concatenate([v0, v])
        order = np.argsort(t, kind="stable")
        t, v = t[order], v[order]
        if t.size > 1:
            keep = np.ones(t.size, dtype=bool)
            keep[1:] = t[1:] != t[:-1]
            t, v = t[keep], v[keep]
        self.series[key] = (t, v)

    def merge(self, other: SeriesSet) -> None:
        """Add every series of `other` into this set."""
        for key, (t, v) in other.series.items():
            self.add(key, t, v)

    def names(self) -> set[str]:
        """Metric names present."""
        return {k.name for k in self.series}

    def sample_count(self) -> int:
        """Total number of samples."""
        return int(sum(t.size for t, _ in self.series.values()))

    def time_range(self) -> tuple[float, float] | None:
        """(first, last) timestamp over all series, or None when empty."""
        if not self.series:
            return None
        lo = min(float(t[0]) for t, _ in self.series.values() if t.size)
        hi = max(float(t[-1]) for t, _ in self.series.values() if t.size)
        return lo, hi

    def __iter__(self) -> Iterator[SeriesKey]:
        return iter(self.series)

    def __len__(self) -> int:
        return len(self.series)


@dataclass
class FlatSamples:
    """At most one sample per series (one scrape): keys with aligned timestamp and value arrays.

    Cheaper than a `SeriesSet` when every series has a single sample.
    """

    keys: list[SeriesKey]
    timestamps_s: np.ndarray
    values: np.ndarray

    def to_series_set(self) -> SeriesSet:
        """The same samples grouped by series."""
        out = SeriesSet()
        for i, key in enumerate(self.keys):
            out.add(key, self.timestamps_s[i : i + 1], self.values[i : i + 1])
        return out

    def __len__(self) -> int:
        return len(self.keys)


__all__ = ["FlatSamples", "Labels", "Sample", "SeriesKey", "SeriesSet", "make_labels"]
