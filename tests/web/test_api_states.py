"""`/api/v2/fleet` says what the service knows: warming up, stored history only, no live data,
all idle or ok; never "idle" for a fleet it has no live figures for."""

from __future__ import annotations

from pathlib import Path

import httpx

from wattlens.app.collector import META_LAST_SUCCESS
from wattlens.config import Config
from wattlens.store import Store
from wattlens.web import create_app, serve_in_thread

from .plant import END_S, plant


def _state(store: Store, config: Config, now_s: float, *, live: bool) -> str:
    app = create_app(store=store, config=config, clock=lambda: now_s, cache_ttl_s=0.0, live=live)
    with serve_in_thread(app, "127.0.0.1", 0) as web:
        return str(httpx.get(f"{web.url}/api/v2/fleet", timeout=30).json()["state"])


def test_fleet_states(tmp_path: Path, config: Config) -> None:
    store, _ = plant(tmp_path / "w.duckdb")
    try:
        # History up to END_S; a collector that has not yet had a good cycle, an hour later.
        assert _state(store, config, END_S + 3600, live=True) == "warming_up"
        assert _state(store, config, END_S + 3600, live=False) == "stored_only"
        store.set_meta(META_LAST_SUCCESS, repr(END_S + 3500))
        assert _state(store, config, END_S + 3600, live=True) == "no_live_data"
        assert _state(store, config, END_S, live=True) in ("ok", "all_idle")
    finally:
        store.close()


def test_derived_answers_are_never_built_from_a_stale_snapshot() -> None:
    """After a quiet spell the snapshot is stale; a JSON answer rebuilt then must use a fresh
    one (`fresh`), not serve the stale data a second time."""
    import time

    from wattlens.web.snapshot import TTLCache

    cache = TTLCache(5.0)
    builds = iter(range(100))
    assert cache.get("snapshot", lambda: next(builds)) == 0
    assert cache.fresh("snapshot", lambda: next(builds)) == 0  # young: reused
    old, value = cache._items["snapshot"]
    cache._items["snapshot"] = (time.monotonic() - 60.0, value)  # a quiet minute has passed
    assert cache.get("snapshot", lambda: 99) == 0  # the plain read serves stale at once ...
    assert cache.fresh("snapshot", lambda: next(builds)) in (1, 99)  # ... a derived build waits
