"""The shared cache follows the data: bounded staleness, and stale at once on new data."""

from __future__ import annotations

import contextlib
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


def test_bounded_cache_drops_the_oldest_keys_with_their_locks() -> None:
    cache = TTLCache(60.0, max_items=3)
    for i in range(10):  # ten distinct request keys, e.g. ten ranges
        assert cache.get(f"k{i}", lambda i=i: i) == i
    assert sorted(cache._items) == ["k7", "k8", "k9"]  # the three newest
    assert set(cache._key_locks) <= {"k7", "k8", "k9"}  # nothing kept for the dropped keys


def test_byte_budget_keeps_the_newest_answers_within_it() -> None:
    cache = TTLCache(60.0, max_items=100, max_bytes=1000)
    for i in range(5):
        cache.get(f"k{i}", lambda: b"x" * 300)  # 5 x 300 bytes against a 1,000-byte budget
    assert sorted(cache._items) == ["k2", "k3", "k4"]  # 900 bytes: one more would be 1,200
    cache.get("big", lambda: b"y" * 1500)  # alone over the budget: served, not kept
    assert "big" not in cache._items and sum(len(v) for _, v in cache._items.values()) <= 1000


def test_a_failing_build_leaves_no_lock_behind() -> None:
    cache = TTLCache(60.0, max_items=8)

    def fail() -> int:
        raise LookupError("no such deployment")

    for i in range(20):
        with contextlib.suppress(LookupError):
            cache.get(f"missing{i}", fail)
    assert cache._items == {} and cache._key_locks == {}
