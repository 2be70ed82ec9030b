"""The shared cache follows the data: bounded staleness, and stale at once on new data."""

from __future__ import annotations

import threading
import time

from wattlens.web.snapshot import TTLCache


def test_a_value_older_than_max_stale_is_rebuilt_inline() -> None:
    cache = TTLCache(5.0, max_stale_s=10.0)
    builds = iter(range(100))
    assert cache.get("k", lambda: next(builds)) == 0
    _, value = cache._items["k"]
    cache._items["k"] = (time.monotonic() - 60.0, value)  # a quiet minute
    assert cache.get_nowait("k", lambda: next(builds)) is None  # never served that old
    assert cache.get("k", lambda: next(builds)) == 1  # built inline, fresh


def test_mark_stale_serves_the_old_value_once_while_rebuilding() -> None:
    cache = TTLCache(5.0, max_stale_s=10.0)
    assert cache.get("k", lambda: "old") == "old"
    assert cache.get("k", lambda: "unused") == "old"  # young: reused
    rebuilt = threading.Event()

    def make() -> str:
        rebuilt.set()
        return "new"

    cache.mark_stale()
    assert cache.get_nowait("k", make) == "old"  # served at once ...
    assert rebuilt.wait(10)  # ... while one background rebuild runs
    deadline = time.monotonic() + 10
    while cache.get_nowait("k", make) != "new":
        assert time.monotonic() < deadline, "the rebuilt value never arrived"
