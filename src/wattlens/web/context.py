"""What every route needs: the store, the config, the clock and the shared cache."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse

from wattlens.app.collector import META_LAST_SUCCESS
from wattlens.config import Config
from wattlens.store import StoreReader
from wattlens.web.params import check_catalog_name
from wattlens.web.snapshot import Freshness, Snapshot, TTLCache, build_snapshot, read_freshness


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def encode(obj: Any) -> bytes:
    """Compact standard JSON (NaN and infinities become null)."""
    return json.dumps(_finite(obj), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class JSONBytes(JSONResponse):
    """A JSON response whose body is usually already encoded (the cached fast path).

    A `JSONResponse` subclass so that FastAPI documents routes with `response_class=JSONBytes`
    as `application/json` answers (a plain `Response` is documented as a string), while bytes
    pass through `render` untouched: nothing is decoded or encoded twice.
    """

    def render(self, content: Any) -> bytes:
        """`content` as is when already bytes, else encoded with `encode`."""
        return content if isinstance(content, bytes) else encode(content)


def json_response(obj: Any, status: int = 200) -> JSONBytes:
    """Encode `obj` and wrap it in a response."""
    return JSONBytes(encode(obj), status_code=status)


DATA_CHECK_EVERY_S = 1.0  # how often a request may look whether the collector wrote new data
# Answers keyed by request parameters (series, ranges): a dashboard's worth of keys, and a byte
# budget so that long ranges at fine steps (up to params.MAX_POINTS points) cannot pile up.
ANSWER_CACHE_KEYS = 256
ANSWER_CACHE_BYTES = 16 * 2**20


def answer_cache(ttl_s: float) -> TTLCache:
    """The cache of answers keyed by request parameters (bounded in keys and bytes)."""
    return TTLCache(ttl_s, max_items=ANSWER_CACHE_KEYS, max_bytes=ANSWER_CACHE_BYTES)


@dataclass
class WebContext:
    """The app's collaborators; `snapshot()` is shared through the TTL cache.

    Cached answers follow the data: at most once a second a request reads the collector's last
    write mark, and a new one makes every cached answer stale (rebuilt in the background while
    the old one is served, for at most one more TTL). A value older than twice the TTL is never
    served (after a quiet spell the first answer is rebuilt, not a minute old).
    """

    store: StoreReader
    config: Config
    clock: Callable[[], float]
    cache: TTLCache
    # slow answers (the analysis, ~1 s): longer TTL, few keys kept
    slow_cache: TTLCache = field(default_factory=lambda: TTLCache(60.0, max_items=16))
    # answers keyed by request parameters: bounded in keys and bytes
    answers: TTLCache = field(default_factory=lambda: answer_cache(5.0))
    _static: dict[str, bytes] = field(default_factory=dict)
    live: bool = True  # a collector fills the store (False: `serve` of stored history only)
    data_check_every_s: float = DATA_CHECK_EVERY_S
    _data_mark: str | None = None
    _data_checked: float = -math.inf

    def __post_init__(self) -> None:
        for c in (self.cache, self.answers):
            if c.max_stale_s is None and c.ttl_s > 0:
                c.max_stale_s = 2.0 * c.ttl_s

    def _follow_data(self) -> None:
        """Mark cached answers stale when the collector has written since the last look."""
        if not self.live:
            return
        t = time.monotonic()
        if t - self._data_checked < self.data_check_every_s:
            return
        self._data_checked = t
        mark = self.store.get_meta(META_LAST_SUCCESS)
        if mark != self._data_mark:
            self._data_mark = mark
            self.cache.mark_stale()
            self.answers.mark_stale()

    def snapshot(self) -> Snapshot:
        """The current snapshot (rebuilt at most once per cache TTL, and after new data)."""
        self._follow_data()
        return self.cache.get("snapshot", self._build_snapshot)

    def cached_json(self, key: str, make: Callable[[Snapshot], Any]) -> bytes:
        """`make(snapshot)` encoded, cached under `key` for the cache TTL."""
        self._follow_data()
        return self.cache.get(key, self._encoder(make))

    def cached_json_nowait(self, key: str, make: Callable[[Snapshot], Any]) -> bytes | None:
        """Like `cached_json` but None instead of building inline (for the event loop)."""
        self._follow_data()
        return self.cache.get_nowait(key, self._encoder(make))

    def cached_answer(self, key: str, make: Callable[[], Any]) -> bytes:
        """`make()` encoded, cached under `key` (built from request parameters: validate them
        first) in the bounded answer cache, for the cache TTL; it reads the store, not the
        snapshot. Dashboards poll the same few series: one store read per key and TTL instead
        of one per request."""
        self._follow_data()
        return self.answers.get(key, lambda: encode(make()))

    def _encoder(self, make: Callable[[Snapshot], Any]) -> Callable[[], bytes]:
        # Derived answers are built from a fresh snapshot, never from a stale one.
        return lambda: encode(make(self.cache.fresh("snapshot", self._build_snapshot)))

    def _build_snapshot(self) -> Snapshot:
        return build_snapshot(self.store, self.config, self.clock())

    def cached_static(self, key: str, make: Callable[[], Any]) -> bytes:
        """`make()` encoded once for the process (catalog lists: fixed while it runs)."""
        if key not in self._static:
            self._static[key] = encode(make())
        return self._static[key]

    def analysis(self, range_s: float, frontier: str | None) -> bytes:
        """`analyze(store, range_s, include_charts=True)` encoded, cached per (range, frontier).

        `frontier` is a catalog frontier id (None: the analysis default); an unknown one is a
        CatalogError (404) naming the known ids.
        """

        from wattlens.analysis import AnalysisOptions, analyze  # scipy: loaded on first use
        from wattlens.catalog import get_frontier

        opts = AnalysisOptions.from_config(self.config)
        if frontier is not None and frontier.strip():
            spec = get_frontier(
                check_catalog_name(frontier.strip(), "frontier", "/api/v2/catalog/frontiers")
            )
            opts = opts.with_(frontier_spec=spec.id)
        key = f"analysis.{range_s!r}.{opts.frontier_spec}"
        return self.slow_cache.get(
            key,
            lambda: encode(analyze(self.store, range_s=range_s, options=opts, include_charts=True)),
        )

    def freshness(self) -> Freshness:
        """Backend state and data age, read now (never cached)."""
        return read_freshness(self.store, self.config, self.clock(), live=self.live)


__all__ = ["JSONBytes", "WebContext", "answer_cache", "encode", "json_response"]
