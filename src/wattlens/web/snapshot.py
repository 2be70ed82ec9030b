"""One read of the store per refresh: the live, 24 h and 7 d figures every view is built from.

Building a `Snapshot` runs six queries; the app keeps the last one for `ttl_s` seconds
(monotonic time) in a `TTLCache` so a burst of API calls, the dashboard and `/metrics` all share
it. Freshness (`/readyz`) is read fresh on every call, never cached.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from wattlens.app.collector import (
    META_FAILURES,
    META_LAST_ERROR,
    META_LAST_ERROR_AT,
    META_LAST_SUCCESS,
    META_SOURCE,
)
from wattlens.app.settings import carbon_model
from wattlens.app.views import snapshot_rows
from wattlens.config import Config
from wattlens.core.durations import iso
from wattlens.core.metrics import WINDOW_METRICS, compute_many
from wattlens.core.units import SECONDS_PER_DAY
from wattlens.store import Aggregate, StoredDeployment, StoreReader
from wattlens.store.aggregate import row_totals

log = logging.getLogger(__name__)

DAY_S = SECONDS_PER_DAY
WEEK_S = 7 * SECONDS_PER_DAY
MIN_STALE_AFTER_S = 300.0  # never call data stale before 5 minutes, whatever the step


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the views need, read at one instant `now_s`."""

    now_s: float
    deployments: list[StoredDeployment]
    live: dict[str, dict[str, Any]]  # deployment_id -> app.views.snapshot_rows row
    day: dict[str, Aggregate]  # all rows of the last 24 h (decode speed, intensity fallback)
    day_totals: dict[str, dict[str, Any]]  # store.totals over 24 h (active-only sums)
    week_totals: dict[str, dict[str, Any]]
    day_active: dict[str, dict[str, Any]]  # active_averages of day_totals, per deployment
    week_active: dict[str, dict[str, Any]]
    day_decode_tokens_per_s: dict[str, float | None]  # per-request decode speed over 24 h
    last_data_s: float | None  # end of the newest stored interval, capped at the last read


def build_snapshot(store: StoreReader, config: Config, now_s: float) -> Snapshot:
    """Read deployments, live aggregates and 24 h / 7 d totals as of `now_s`.

    The windows end with the interval holding the collector's last read, so its newest, still
    open interval (its end lies ahead; `interval_s` says how much of it is covered) is part of
    every figure.
    `updated_at` is never later than the collector's last read of the backend.
    """
    thr = config.thresholds.min_tokens_per_s_for_ratio
    through = _float(store.get_meta(META_LAST_SUCCESS))
    step = config.collect.step_s
    end_s = now_s if through is None else math.ceil(max(min(through, now_s), 0.0) / step) * step
    end_s = max(end_s, now_s)
    deps = store.deployments()
    live_aggs = store.latest(config.collect.live_window_s, end_s)
    rows = snapshot_rows(
        [d.info for d in deps], live_aggs, min_tokens_per_s=thr, carbon=carbon_model(config)
    )
    for row in rows:
        agg = live_aggs.get(row["deployment"])
        if agg is not None:
            row["updated_at"] = iso(_as_of(agg.last_ts_end_s, through))
    day = store.latest(DAY_S, end_s)
    day_t = store.totals(end_s - DAY_S, end_s, active_min_tokens_per_s=thr)
    week_t = store.totals(end_s - WEEK_S, end_s, active_min_tokens_per_s=thr)
    last = store.last_ts()
    return Snapshot(
        now_s=now_s,
        deployments=deps,
        live={r["deployment"]: r for r in rows},
        day=day,
        day_totals={t["deployment_id"]: t for t in day_t},
        week_totals={t["deployment_id"]: t for t in week_t},
        day_active=active_averages(day_t, thr),
        week_active=active_averages(week_t, thr),
        day_decode_tokens_per_s=_decode_speeds(day, thr),
        last_data_s=None if last is None else _as_of(last, through),
    )


def _as_of(last_end_s: float, through_s: float | None) -> float:
    """When figures ending at `last_end_s` were read: an open interval's end lies ahead, and its
    data are as of the collector's last read (`through_s`)."""
    return last_end_s if through_s is None else min(last_end_s, through_s)


class TTLCache:
    """Values by key, rebuilt when older than `ttl_s` seconds (0 = on every call).

    With ttl_s > 0 a stale value is served at once while one background thread rebuilds it
    (stale-while-revalidate), so no request waits on the store once a value exists; only the
    first request for a key builds it inline. One builder runs per key at a time. With
    `max_stale_s`, a value older than that is never served: it is rebuilt inline (after a quiet
    spell the first answer is fresh, not a minute old).

    Keys that come from request parameters need `max_items` (and `max_bytes` for bytes values):
    past either bound the oldest values are dropped, with their per-key locks, so that no
    sequence of requests grows the cache without bound.
    """

    def __init__(
        self,
        ttl_s: float,
        max_items: int | None = None,
        *,
        max_stale_s: float | None = None,
        max_bytes: int | None = None,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_items = max_items  # None: unbounded (fixed key sets); else evict the oldest
        self.max_stale_s = max_stale_s  # None: a stale value is served however old
        self.max_bytes = max_bytes  # None: unbounded; else the total length of bytes values
        self._items: dict[str, tuple[float, Any]] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._refreshing: set[str] = set()

    def _servable(self, key: str, make: Callable[[], Any]) -> tuple[bool, Any]:
        """(True, value) when a cached value may be served (a stale one starts a rebuild)."""
        hit = self._items.get(key)
        if hit is None or self.ttl_s <= 0:
            return False, None
        age = time.monotonic() - hit[0]
        if age >= self.ttl_s:
            if self.max_stale_s is not None and age >= self.max_stale_s:
                return False, None
            self._refresh_in_background(key, make)
        return True, hit[1]

    def get_nowait(self, key: str, make: Callable[[], Any]) -> Any | None:
        """The cached value (a stale one starts a background rebuild), else None; never builds."""
        ok, value = self._servable(key, make)
        return value if ok else None

    def get(self, key: str, make: Callable[[], Any]) -> Any:
        """The value for `key`; builds inline only when there is none usable (or ttl_s is 0)."""
        ok, value = self._servable(key, make)
        return value if ok else self.fresh(key, make)

    def mark_stale(self) -> None:
        """Make every value stale (the data changed): the next read starts a rebuild."""
        with self._lock:
            aged = time.monotonic() - self.ttl_s
            self._items = {k: (min(t, aged), v) for k, (t, v) in self._items.items()}

    def fresh(self, key: str, make: Callable[[], Any]) -> Any:
        """A value no older than `ttl_s`, built inline when the cached one is stale: for builders
        of derived values, so that nothing is derived from a stale value (after a quiet spell a
        derived answer would otherwise be stale twice over). Waits for a rebuild in progress."""
        with self._key_lock(key):
            hit = self._items.get(key)
            if hit is not None and self.ttl_s > 0 and time.monotonic() - hit[0] < self.ttl_s:
                return hit[1]
            try:
                value = make()
            except BaseException:
                with self._lock:
                    if key not in self._items:  # no value to guard: drop the lock with it
                        self._key_locks.pop(key, None)
                raise
            self._put(key, value)
            return value

    def _key_lock(self, key: str) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(key, threading.Lock())

    def __len__(self) -> int:
        return len(self._items)

    def _put(self, key: str, value: Any) -> None:
        with self._lock:
            old = self._items.get(key)
            if old is not None:
                self._bytes -= _size(old[1])
            self._items[key] = (time.monotonic(), value)
            self._bytes += _size(value)
            while self._items and (
                (self.max_items is not None and len(self._items) > self.max_items)
                or (self.max_bytes is not None and self._bytes > self.max_bytes)
            ):
                oldest = min(self._items, key=lambda k: self._items[k][0])
                self._bytes -= _size(self._items.pop(oldest)[1])
                # A builder holding this lock keeps its reference; a later one gets a new lock.
                self._key_locks.pop(oldest, None)

    def _refresh_in_background(self, key: str, make: Callable[[], Any]) -> None:
        with self._lock:
            if key in self._refreshing:
                return
            self._refreshing.add(key)

        def run() -> None:
            try:
                with self._key_lock(key):
                    self._put(key, make())
            except Exception:  # noqa: BLE001 - keep serving the old value; log and retry later
                log.exception("refreshing cached %s failed", key)
            finally:
                with self._lock:
                    self._refreshing.discard(key)

        threading.Thread(target=run, name=f"wattlens-cache-{key}", daemon=True).start()


def _size(value: Any) -> int:
    return len(value) if isinstance(value, bytes | bytearray) else 0


def _decode_speeds(aggs: dict[str, Aggregate], thr: float) -> dict[str, float | None]:
    ids = list(aggs)
    rates = compute_many([aggs[i].totals() for i in ids], min_tokens_per_s=thr,
                         names=("decode_tokens_per_s",))  # fmt: skip
    return {i: r["decode_tokens_per_s"] for i, r in zip(ids, rates, strict=True)}


def active_averages(
    rows: Sequence[dict[str, Any]], min_tokens_per_s: float
) -> dict[str, dict[str, Any]]:
    """Per deployment of `Store.totals()` rows: the vocabulary's metrics over the active rows
    (time-weighted rates, token-weighted ratios), plus `active_s`, the seconds they cover."""
    totals = [row_totals(r, active=True) for r in rows]
    metrics = compute_many(totals, min_tokens_per_s=min_tokens_per_s, names=WINDOW_METRICS)
    return {
        r["deployment_id"]: {**m, "active_s": t.seconds}
        for r, t, m in zip(rows, totals, metrics, strict=True)
    }


@dataclass(frozen=True, slots=True)
class Freshness:
    """Backend state and data age, read from the collector's store meta."""

    now_s: float
    last_good_s: float | None  # the collector's last cycle with samples, else the newest row
    last_success_s: float | None
    last_error: str | None
    last_error_s: float | None
    source: str | None
    stale_after_s: float
    live: bool = True  # a collector runs beside the app (False: serving stored history only)
    failures: tuple[dict[str, Any], ...] = ()  # {"target", "cause", "since_s"} failing now

    @property
    def age_s(self) -> float | None:
        """Seconds since the last good sample."""
        return None if self.last_good_s is None else max(0.0, self.now_s - self.last_good_s)

    @property
    def backend_state(self) -> str:
        """'ok', 'down' (the newest collector event is an error), 'unknown' (no collector yet)
        or 'none' (serving stored history: no backend in use)."""
        if not self.live:
            return "none"
        if self.last_error_s is not None and (
            self.last_success_s is None or self.last_error_s > self.last_success_s
        ):
            return "down"
        return "unknown" if self.last_success_s is None else "ok"

    @property
    def stale(self) -> bool:
        """No data yet, or the last good sample is older than `stale_after_s`."""
        age = self.age_s
        return age is None or age > self.stale_after_s


def _float(text: str | None) -> float | None:
    try:
        return None if text is None else float(text)
    except ValueError:
        return None


def _failures(text: str | None) -> tuple[dict[str, Any], ...]:
    try:
        rows = json.loads(text or "[]")
    except ValueError:
        return ()
    return tuple(r for r in rows if isinstance(r, dict))


def read_freshness(
    store: StoreReader, config: Config, now_s: float, *, live: bool = True
) -> Freshness:
    """Freshness from the store meta the collector writes (and the newest stored row)."""
    last_success = _float(store.get_meta(META_LAST_SUCCESS))
    last_good = last_success if last_success is not None else store.last_ts()
    return Freshness(
        now_s=now_s,
        last_good_s=last_good,
        last_success_s=last_success,
        last_error=store.get_meta(META_LAST_ERROR),
        last_error_s=_float(store.get_meta(META_LAST_ERROR_AT)),
        source=store.get_meta(META_SOURCE) if live else None,
        stale_after_s=max(3 * config.collect.step_s, MIN_STALE_AFTER_S),
        live=live,
        failures=_failures(store.get_meta(META_FAILURES)) if live else (),
    )


__all__ = [
    "Freshness",
    "Snapshot",
    "TTLCache",
    "active_averages",
    "build_snapshot",
    "read_freshness",
]
