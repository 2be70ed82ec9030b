"""Series answers are cached per request parameters: one store read per key and TTL, bounded."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from wattlens.config import Config
from wattlens.store import Store
from wattlens.web import create_app

from .conftest import Served
from .plant import END_S


class _CountingStore:
    """The served store, counting series reads (every other read passes through)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.series_reads = 0

    def series(self, *args: Any, **kw: Any) -> Any:
        self.series_reads += 1
        return self._store.series(*args, **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_polled_series_read_the_store_once_per_key(served: Served, config: Config) -> None:
    store = _CountingStore(served.store)
    app = create_app(
        store=store,  # type: ignore[arg-type]  # duck-typed: the Store's reads, counted
        config=config,
        clock=lambda: END_S,
        cache_ttl_s=600.0,  # far longer than the test: every repeat is a hit
    )
    path = "/api/v2/deployments/nrp-llm/gemma/series"
    power = {"metric": "power_watts", "range": "2h", "step": "10m"}
    with TestClient(app) as http:
        first = http.get(path, params=power)
        again = [http.get(path, params=power) for _ in range(4)]  # five dashboards, one key
        assert store.series_reads == 1
        assert all(r.status_code == 200 and r.content == first.content for r in again)
        other = http.get(path, params={**power, "range": "3h"})  # another key: read once
        assert other.status_code == 200 and other.json()["range"] == "3h"
        assert store.series_reads == 2
        missing = http.get("/api/v2/deployments/nrp-llm/nothing/series", params=power)
        assert missing.status_code == 404  # checked before the cache: no key, no read
        assert store.series_reads == 2
    assert len(app.state.wattlens.answers) == 2
