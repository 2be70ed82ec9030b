"""What every route needs: the store, the config, the clock and the shared cache."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

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


class JSONBytes(Response):
    """A response whose body is already-encoded JSON."""

    media_type = "application/json"


def json_response(obj: Any, status: int = 200) -> JSONBytes:
    """Encode `obj` and wrap it in a response."""
    return JSONBytes(encode(obj), status_code=status)


@dataclass
class WebContext:
    """The app's collaborators; `snapshot()` is shared through the TTL cache."""

    store: Any
    config: Any
    clock: Callable[[], float]
    cache: TTLCache

    def snapshot(self) -> Snapshot:
        """The current snapshot (rebuilt at most once per cache TTL)."""
        return self.cache.get(
            "snapshot", lambda: build_snapshot(self.store, self.config, self.clock())
        )

    def cached_json(self, key: str, make: Callable[[Snapshot], Any]) -> bytes:
        """`make(snapshot)` encoded, cached under `key` for the cache TTL."""
        return self.cache.get(key, self._encoder(make))

    def cached_json_nowait(self, key: str, make: Callable[[Snapshot], Any]) -> bytes | None:
        """Like `cached_json` but None instead of building inline (for the event loop)."""
        return self.cache.get_nowait(key, self._encoder(make))

    def _encoder(self, make: Callable[[Snapshot], Any]) -> Callable[[], bytes]:
        return lambda: encode(make(self.snapshot()))

    def freshness(self) -> Freshness:
        """Backend state and data age, read now (never cached)."""
        return read_freshness(self.store, self.config, self.clock())


__all__ = ["JSONBytes", "WebContext", "encode", "json_response"]
