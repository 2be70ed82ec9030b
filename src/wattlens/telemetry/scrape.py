"""Scrape exporters directly (dcgm-exporter, vLLM, SGLang) over HTTP, like Prometheus does.

Speed matters (a 1,000-GPU fleet every cycle): each line's `name{labels` text is looked up in
a per-target cache, so a series is parsed (and validated with prometheus_client's parser) only
the first time it is seen, lines of unwanted metrics are skipped after one look at their name,
and later scrapes only convert the value and timestamp. Empty label values are dropped, as
Prometheus stores them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from wattlens.core.errors import InputError
from wattlens.telemetry.metrics import COLLECTED_METRICS
from wattlens.telemetry.records import FlatSamples, SeriesKey, SeriesSet

ACCEPT = "text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1"
_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABELS = r'\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\}'
_NAME_RE = re.compile(_NAME)
# name, label text, then value [timestamp] [# exemplar]
_SAMPLE = re.compile(rf"({_NAME})({_LABELS})?[ \t]+(\S+(?:[ \t]+\S+)*)[ \t]*")
EXPECTED = "expected `name{labels} value [timestamp]`"

__all__ = ["ScrapeResult", "ScrapeTarget", "Scraper", "parse_exposition"]


@dataclass(frozen=True)
class ScrapeTarget:
    """One exporter endpoint and the labels attached to everything scraped from it."""

    url: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass
class ScrapeResult:
    """One scrape cycle: one sample per series, per-target errors, wall time."""

    samples: FlatSamples
    errors: list[tuple[ScrapeTarget, str]]
    duration_s: float

    @property
    def series(self) -> SeriesSet:
        """The samples grouped by series (built on demand)."""
        return _to_series(self.samples.keys, self.samples.timestamps_s.tolist(),
                          self.samples.values.tolist())  # fmt: skip


def _validated_labels(name: str, label_text: str, line: str, where: str) -> dict[str, str]:
    """Labels of a new series, parsed by prometheus_client (the validating parser)."""
    if not label_text:
        return {}
    try:
        fams = list(text_string_to_metric_families(f"{name}{label_text} 0\n"))
        return dict(fams[0].samples[0].labels)
    except (ValueError, IndexError, KeyError) as e:
        raise InputError(f"{where}: invalid labels in {line!r} ({e}) — {EXPECTED}") from e


def _apply_target_labels(
    exposed: Mapping[str, str], target: Mapping[str, str], honor_labels: bool
) -> tuple[tuple[str, str], ...]:
    """Merge target labels the way Prometheus does (`exported_` prefix on clashes)."""
    out = {k: v for k, v in exposed.items() if v != ""}
    for k, v in target.items():
        if k in out and not honor_labels:
            new = "exported_" + k
            while new in out:  # Prometheus keeps prefixing until the name is free
                new = "exported_" + new
            out[new] = out.pop(k)
        if honor_labels and k in out:
            continue
        if v != "":
            out[k] = v
    return tuple(sorted(out.items()))


_UNWANTED = SeriesKey("", ())  # cache marker: a series whose name is not wanted


class _Parser:
    """Exposition parser with a per-source cache: raw `name{labels` text -> series key.

    Hot path per line: one `partition("} ")`, one dict lookup, one `split()`, `float()`s.
    A line the cache does not know goes through a strict regex and prometheus_client's parser
    once; after that only its value and timestamp are read.
    """

    def __init__(
        self,
        wanted: frozenset[str] | None,
        target_labels: Mapping[str, str] | None = None,
        honor_labels: bool = False,
    ) -> None:
        self.wanted = wanted
        self.target_labels = dict(target_labels or {})
        self.honor_labels = honor_labels
        self.cache: dict[str, SeriesKey] = {}
        self._cache_limit = 4096

    def _new_line(self, line: str, where: str) -> tuple[SeriesKey, str]:
        """Key (or _UNWANTED) and the value/timestamp text of a line not seen before."""
        head, sep, _ = line.partition("} ")
        if not sep:
            head = line.partition(" ")[0]
        name_m = _NAME_RE.match(line)
        if name_m is not None and self.wanted is not None and name_m.group() not in self.wanted:
            self.cache[head] = _UNWANTED  # every line with this head has this name
            return _UNWANTED, ""
        m = _SAMPLE.fullmatch(line)
        if m is None:
            raise InputError(f"{where}: malformed sample: {line!r} — {EXPECTED}")
        name, label_text, tail = m.group(1), m.group(2) or "", m.group(3)
        exposed = _validated_labels(name, label_text, line, where)
        key = SeriesKey(name, _apply_target_labels(exposed, self.target_labels, self.honor_labels))
        if (head + "}" if sep else head) == name + label_text:  # the fast split agrees
            self.cache[head] = key
        return key, tail

    def parse(
        self,
        text: str,
        *,
        source: str,
        now_s: float,
        openmetrics: bool,
        keys: list[SeriesKey],
        ts: list[float],
        vals: list[float],
    ) -> None:
        """Append one (key, timestamp, value) per sample of a wanted metric."""
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        if len(self.cache) > self._cache_limit:
            self.cache = {}  # series churn (pod restarts): forget label texts no longer seen
        get = self.cache.get
        div = 1.0 if openmetrics else 1000.0  # OpenMetrics timestamps: s; text 0.0.4: ms
        lines = text.split("\n")
        for i, line in enumerate(lines):
            if not line or line[0] == "#":
                continue
            head, sep, tail = line.partition("} ")
            if not sep:
                head, _, tail = line.partition(" ")
            key = get(head)
            if key is None:
                key, tail = self._new_line(line, f"{source}:{i + 1}")
            if key is _UNWANTED:
                continue
            parts = tail.split()
            try:
                if len(parts) == 1:
                    t, v = now_s, float(parts[0])
                elif len(parts) == 2:
                    t, v = float(parts[1]) / div, float(parts[0])
                else:
                    t, v = self._with_exemplar(parts, now_s, div)
            except (ValueError, IndexError) as e:
                raise InputError(
                    f"{source}:{i + 1}: bad value or timestamp: {line!r} — {EXPECTED}"
                ) from e
            keys.append(key)
            ts.append(t)
            vals.append(v)
        self._cache_limit = 2 * len(lines) + 4096

    @staticmethod
    def _with_exemplar(parts: list[str], now_s: float, div: float) -> tuple[float, float]:
        """`value [timestamp] # {labels} value [timestamp]` (OpenMetrics exemplar) or error."""
        cut = parts.index("#")  # ValueError when there is no exemplar: a malformed line
        if cut == 1:
            return now_s, float(parts[0])
        if cut == 2:
            return float(parts[1]) / div, float(parts[0])
        raise ValueError("too many fields")


def _to_series(keys: list[SeriesKey], ts: list[float], vals: list[float]) -> SeriesSet:
    t_arr = np.asarray(ts, dtype=np.float64)
    v_arr = np.asarray(vals, dtype=np.float64)
    # A repeated series within a cycle keeps its first sample (inserting in reverse order).
    index = {key: i for i, key in reversed(list(enumerate(keys)))}
    # Views into two shared arrays: far cheaper than SeriesSet.add per one-sample series.
    return SeriesSet({key: (t_arr[i : i + 1], v_arr[i : i + 1]) for key, i in index.items()})


def _to_flat(keys: list[SeriesKey], ts: list[float], vals: list[float]) -> FlatSamples:
    """One sample per series; a series repeated within a cycle keeps its first sample."""
    t_arr = np.asarray(ts, dtype=np.float64)
    v_arr = np.asarray(vals, dtype=np.float64)
    if len(set(keys)) != len(keys):
        index = {key: i for i, key in reversed(list(enumerate(keys)))}
        keep = np.fromiter(sorted(index.values()), dtype=np.int64, count=len(index))
        return FlatSamples([keys[i] for i in keep.tolist()], t_arr[keep], v_arr[keep])
    return FlatSamples(keys, t_arr, v_arr)


def parse_exposition(
    text: str,
    *,
    source: str = "<text>",
    now_s: float | None = None,
    wanted: frozenset[str] | None = COLLECTED_METRICS,
    openmetrics: bool | None = None,
    target_labels: Mapping[str, str] | None = None,
    honor_labels: bool = False,
) -> SeriesSet:
    """Parse one exposition body (Prometheus text 0.0.4 or OpenMetrics) into a `SeriesSet`.

    Args:
        openmetrics: timestamps in seconds (True) or ms (False); None detects `# EOF`.
    """
    if openmetrics is None:
        openmetrics = text.rstrip().endswith("# EOF")
    keys: list[SeriesKey] = []
    ts: list[float] = []
    vals: list[float] = []
    _Parser(wanted, target_labels, honor_labels).parse(
        text,
        source=source,
        now_s=time.time() if now_s is None else now_s,
        openmetrics=openmetrics,
        keys=keys,
        ts=ts,
        vals=vals,
    )
    return _to_series(keys, ts, vals)


class Scraper:
    """Scrapes many targets concurrently; a dead or broken target is reported, not raised."""

    def __init__(
        self,
        targets: Iterable[ScrapeTarget],
        *,
        client: httpx.Client | None = None,
        timeout_s: float = 10,
        wanted: frozenset[str] | None = COLLECTED_METRICS,
        honor_labels: bool = False,
        max_workers: int = 16,
    ) -> None:
        self.targets = list(targets)
        self._own_client = client is None
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(timeout_s), headers={"Accept": ACCEPT}
        )
        self._timeout_s = timeout_s
        self._wanted = wanted
        self._honor_labels = honor_labels
        self._parsers = [_Parser(wanted, t.labels, honor_labels) for t in self.targets]
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(self.targets))))

    def set_targets(self, targets: Iterable[ScrapeTarget]) -> None:
        """Replace the target list (after service discovery), keeping parse caches of the
        targets that stay."""
        old = {(t.url, tuple(sorted(t.labels.items()))): p
               for t, p in zip(self.targets, self._parsers, strict=True)}  # fmt: skip
        self.targets = list(targets)
        self._parsers = [
            old.get((t.url, tuple(sorted(t.labels.items()))))
            or _Parser(self._wanted, t.labels, self._honor_labels)
            for t in self.targets
        ]

    def _fetch(self, target: ScrapeTarget) -> tuple[str, bool] | str:
        """(body, is_openmetrics) or an error message."""
        try:
            r = self._client.get(target.url, headers={"Accept": ACCEPT}, timeout=self._timeout_s)
        except httpx.HTTPError as e:
            return f"cannot reach {target.url}: {type(e).__name__}: {e}".rstrip(": ")
        if r.status_code != 200:
            return f"{target.url} answered HTTP {r.status_code}: {r.text[:120]!r}"
        ctype = r.headers.get("content-type", "")
        return r.text, ctype.startswith("application/openmetrics-text")

    def scrape(self, now_s: float | None = None) -> ScrapeResult:
        """Scrape every target once; samples without a timestamp get `now_s` (default now)."""
        started = time.perf_counter()
        now = time.time() if now_s is None else now_s
        keys: list[SeriesKey] = []
        ts: list[float] = []
        vals: list[float] = []
        errors: list[tuple[ScrapeTarget, str]] = []
        fetched = self._pool.map(self._fetch, self.targets)
        for target, parser, got in zip(self.targets, self._parsers, fetched, strict=True):
            if isinstance(got, str):
                errors.append((target, got))
                continue
            body, is_om = got
            mark = len(vals)
            try:
                parser.parse(
                    body,
                    source=target.url,
                    now_s=now,
                    openmetrics=is_om,
                    keys=keys,
                    ts=ts,
                    vals=vals,
                )
            except InputError as e:
                del keys[mark:], ts[mark:], vals[mark:]  # a broken body adds nothing
                errors.append((target, str(e)))
        flat = _to_flat(keys, ts, vals)
        return ScrapeResult(flat, errors, time.perf_counter() - started)

    def close(self) -> None:
        """Stop the worker threads and close the client if this scraper created it."""
        self._pool.shutdown(wait=True)
        if self._own_client:
            self._client.close()

    def __enter__(self) -> Scraper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
