"""Samples -> per-(deployment, bucket) contributions: counter increments, integrated power, gauges.

`Streams` carries the last reading of every stream across batches, so the increment between the
last sample of one batch and the first of the next is never lost. The functions here append
(deployment, bucket, column, value) contributions; `merge` adds them to the `BucketTable`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from wattlens.core.units import joules_from_millijoules
from wattlens.derive import spread as sp
from wattlens.derive.buckets import BucketTable, pack
from wattlens.derive.layout import (
    CACHED,
    COV_CTR,
    COV_GAUGE,
    E_CTR,
    E_GAUGE,
    HAS_CACHED,
    HAS_CTR,
    HAS_GAUGE,
    M_ECTR,
    M_EGAUGE,
    M_GPU,
    NF,
    NM,
    SAMPLES,
    WORD_BITS,
    Chunk,
    DeploymentState,
)
from wattlens.derive.options import DeriveOptions
from wattlens.derive.validity import Tally, max_energy_counter_rate_mj_per_s, plausible_increments

Contributions = list[tuple[np.ndarray, ...]]
"""(dep, bucket, column, value) arrays; for member sets (dep, bucket, set column, member)."""


class Streams:
    """The last reading (time, value) of every stream id; NaN time: none yet. `refused` counts
    the samples the derivation dropped, by reason (see `validity`)."""

    def __init__(self) -> None:
        self.last_t = np.empty(0)
        self.last_v = np.empty(0)
        self.refused = Tally()

    def ensure(self, sid: int) -> None:
        """Room for stream id `sid`."""
        if sid >= self.last_t.size:
            grow = max(1024, self.last_t.size)
            self.last_t = np.concatenate([self.last_t, np.full(grow, np.nan)])
            self.last_v = np.concatenate([self.last_v, np.zeros(grow)])

    def with_prev(
        self,
        c: Chunk,
        mask: np.ndarray,
        *,
        deps: list[DeploymentState] | None,
        step_s: float,
    ) -> tuple[np.ndarray, ...]:
        """Samples selected by `mask`, sorted by (stream, t), each stream preceded by its carried
        reading; samples at or before that reading (already seen) are dropped. With `deps`, an
        engine stream first seen in a deployment already running starts from a virtual zero."""
        idx = np.flatnonzero(mask)
        idx = idx[~(c.t[idx] <= self.last_t[c.sid[idx]])]  # NaN (no state) compares False
        idx = idx[_by_stream_then_time(c.sid[idx], c.t[idx])]
        sid, dep, t, v = c.sid[idx], c.dep[idx], c.t[idx], c.v[idx]
        col, share = c.ccol[idx], c.share[idx]
        if sid.size == 0:
            return sid, dep, t, v, col, share
        first = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
        fs = sid[first]
        pt, pv = self.last_t[fs], self.last_v[fs].copy()
        if deps is not None:
            # A new pod of a deployment already running: its counters started at 0.
            fdep = dep[first]
            seen = np.array([deps[d].first_seen_s if d >= 0 else np.inf for d in fdep])
            new = np.isnan(pt) & ~c.is_gpu[idx[first]] & (fdep >= 0)
            new &= seen < t[first] - step_s
            pt = np.where(new, t[first] - step_s, pt)
            pv = np.where(new, 0.0, pv)
        has = ~np.isnan(pt)
        ins = first[has]
        return (
            np.insert(sid, ins, fs[has]),
            np.insert(dep, ins, dep[ins]),
            np.insert(t, ins, pt[has]),
            np.insert(v, ins, pv[has]),
            np.insert(col, ins, col[ins]),
            np.insert(share, ins, share[ins]),
        )

    def remember_last(self, sid: np.ndarray, t: np.ndarray, v: np.ndarray) -> None:
        """Carry each stream's last sample of (stream-sorted) arrays to the next batch."""
        if sid.size == 0:
            return
        last = np.flatnonzero(np.r_[sid[1:] != sid[:-1], True])
        self.last_t[sid[last]] = t[last]
        self.last_v[sid[last]] = v[last]


def _by_stream_then_time(sid: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The order `np.lexsort((t, sid))` gives. A batch usually holds each stream's samples in one
    run, rising in time (series after series): then only the runs are sorted, not the samples
    (a lexsort of 100,000 samples costs ~2 ms; a 0.5 d backfill of 200 deployments made 66)."""
    n = sid.size
    if n < 2:
        return np.arange(n)
    brk = sid[1:] != sid[:-1]
    starts = np.flatnonzero(np.r_[True, brk])
    run_sid = sid[starts]
    if run_sid.min() < 0 or np.bincount(run_sid).max() > 1 or not np.all(brk | (t[1:] > t[:-1])):
        return np.lexsort((t, sid))  # a stream in several runs, or times not strictly rising
    lengths = np.diff(np.r_[starts, n])
    runs = np.argsort(run_sid, kind="stable")
    first, size = starts[runs], lengths[runs]
    return np.repeat(first - (np.cumsum(size) - size), size) + np.arange(n)


def counters(
    c: Chunk,
    streams: Streams,
    deps: list[DeploymentState],
    options: DeriveOptions,
    acc: Contributions,
    macc: Contributions,
) -> None:
    """Counter increments (resets handled), spread over the buckets they span."""
    mask = c.ccol >= 0
    if not mask.any():
        return
    step = options.step_s
    sid, dep, t, v, col, w = streams.with_prev(c, mask, deps=deps, step_s=step)
    same = sid[1:] == sid[:-1]
    start, end = t[:-1][same], t[1:][same]
    owner, cc, ww = dep[1:][same], col[1:][same], w[1:][same]
    # A reset of the energy counter is credited at most what the largest GPU draws meanwhile.
    max_rate = np.where(cc == E_CTR, max_energy_counter_rate_mj_per_s(), np.inf)
    inc = plausible_increments(v[:-1][same], v[1:][same], end - start, max_rate, streams.refused)
    ok = owner >= 0
    amount = inc[ok] * ww[ok]
    cc = cc[ok]
    amount = np.where(cc == E_CTR, joules_from_millijoules(amount), amount)
    o, start, end = owner[ok], start[ok], end[ok]
    is_e = cc == E_CTR
    rows = np.arange(cc.size, dtype=np.int64)
    r, b, (share, secs) = sp.spread_many(rows, start, end, (amount, end - start), step)
    o_r, cc_r = o[r], cc[r]
    acc.append((o_r, b, cc_r, share))
    # Flags: which buckets got counter energy, and which got prefix-cache counts.
    for flag, sel in ((HAS_CTR, is_e[r]), (HAS_CACHED, cc_r == CACHED)):
        acc.append((o_r[sel], b[sel], np.full(int(sel.sum()), flag), np.ones(int(sel.sum()))))
    e = is_e[r]
    _coverage(c, sid[1:][same][ok], o, r[e], b[e], secs[e], (COV_CTR, M_ECTR), acc, macc)
    streams.remember_last(sid, t, v)


def _coverage(
    c: Chunk,
    sid: np.ndarray,
    owner: np.ndarray,
    r: np.ndarray,
    b: np.ndarray,
    secs: np.ndarray,
    cols: tuple[int, int],
    acc: Contributions,
    macc: Contributions,
) -> None:
    """Seconds of each bucket the energy readings cover (`spread_many` rows `r`, `b`, `secs` of
    the readings' spans), and which streams did."""
    if r.size == 0:
        return
    acc.append((owner[r], b, np.full(r.size, cols[0]), secs))
    member = np.full(int(c.sid.max()) + 1, -1, dtype=np.int64)
    member[c.sid] = c.gpu_member
    macc.append((owner[r], b, np.full(r.size, cols[1]), member[sid[r]]))


def power_gauge_energy(
    c: Chunk, streams: Streams, options: DeriveOptions, acc: Contributions, macc: Contributions
) -> None:
    """Power gauges integrated over time (gaps capped at `max_gauge_gap_s`)."""
    # Always integrated: whether a GPU also has an energy counter may only become known in a
    # later part of an import, so the choice counter-vs-gauge is made per bucket at drain.
    if not c.is_power.any():
        return
    sid, dep, t, v, _col, w = streams.with_prev(c, c.is_power, deps=None, step_s=options.step_s)
    same = sid[1:] == sid[:-1]
    dt = np.minimum(t[1:] - t[:-1], options.max_gauge_gap_s)[same]
    end = t[1:][same]
    owner = dep[1:][same]
    ok = owner >= 0
    amount = (v[1:][same] * w[1:][same] * dt)[ok]
    o, end = owner[ok], end[ok]
    start = end - dt[ok]
    rows = np.arange(o.size, dtype=np.int64)
    r, b, (share, secs) = sp.spread_many(rows, start, end, (amount, end - start), options.step_s)
    acc.append((o[r], b, np.full(r.size, E_GAUGE), share))
    acc.append((o[r], b, np.full(r.size, HAS_GAUGE), np.ones(r.size)))
    _coverage(c, sid[1:][same][ok], o, r, b, secs, (COV_GAUGE, M_EGAUGE), acc, macc)
    streams.remember_last(sid, t, v)


def gauges(c: Chunk, step_s: float, acc: Contributions, macc: Contributions) -> None:
    """Sample counts, gauge sums and counts, and which members reported, per bucket."""
    ok = c.dep >= 0
    dep, b = c.dep[ok], sp.bucket_id(c.t[ok], step_s)
    n = dep.size
    acc.append((dep, b, np.full(n, SAMPLES), np.ones(n)))
    g = c.scol[ok] >= 0
    acc.append((dep[g], b[g], c.scol[ok][g], (c.v * c.share)[ok][g]))
    acc.append((dep[g], b[g], c.ncol[ok][g], np.ones(int(g.sum()))))
    mm = c.mcol[ok] >= 0
    macc.append((dep[mm], b[mm], c.mcol[ok][mm], c.stream_member[ok][mm]))
    gg = c.is_gpu[ok]
    macc.append((dep[gg], b[gg], np.full(int(gg.sum()), M_GPU), c.gpu_member[ok][gg]))


def merge(table: BucketTable, acc: Contributions, macc: Contributions) -> None:
    """Add summed contributions and OR member sets into `table`, one row per (dep, bucket)."""
    dep = np.concatenate([a[0] for a in acc]).astype(np.int64)
    bkt = np.concatenate([a[1] for a in acc]).astype(np.int64)
    col = np.concatenate([a[2] for a in acc]).astype(np.int64)
    val = np.concatenate([a[3] for a in acc]).astype(np.float64)
    uk, row_of = _rows_by_key(dep, bkt)
    flat = np.bincount(row_of(dep, bkt) * NF + col, weights=val, minlength=uk.size * NF)
    masks = np.zeros((uk.size, NM, table.words), dtype=np.uint64)
    if macc:
        mdep = np.concatenate([m[0] for m in macc]).astype(np.int64)
        mbkt = np.concatenate([m[1] for m in macc]).astype(np.int64)
        mcol = np.concatenate([m[2] for m in macc]).astype(np.int64)
        member = np.concatenate([m[3] for m in macc]).astype(np.int64)
        ok = member >= 0  # a sample that is no member of this set kind
        mdep, mbkt, mcol, member = mdep[ok], mbkt[ok], mcol[ok], member[ok]
        bit = np.left_shift(np.uint64(1), (member % WORD_BITS).astype(np.uint64))
        rows = row_of(mdep, mbkt)  # every member key is also a summed one
        np.bitwise_or.at(masks, (rows, mcol, member // WORD_BITS), bit)
    table.add(uk, flat.reshape(uk.size, NF), masks)


def _rows_by_key(
    dep: np.ndarray, bkt: np.ndarray
) -> tuple[np.ndarray, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    """The sorted unique packed (deployment, bucket) keys, and a map from (dep, bucket) arrays
    to each one's row among them: what `np.unique(..., return_inverse=True)` gives, without its
    sort when the keys fill a small dense grid (a batch spans few deployments x buckets)."""
    if dep.size == 0:
        return np.empty(0, dtype=np.int64), lambda d, b: np.empty(0, dtype=np.int64)
    d0, b0 = int(dep.min()), int(bkt.min())
    nd, nb = int(dep.max()) - d0 + 1, int(bkt.max()) - b0 + 1
    if nd * nb > 4 * dep.size + 65_536:  # sparse: a sort is cheaper than the grid
        uk = np.unique(pack(dep, bkt))
        return uk, lambda d, b: np.searchsorted(uk, pack(d, b))
    used = np.zeros(nd * nb, dtype=bool)
    used[(dep - d0) * nb + (bkt - b0)] = True
    cells = np.flatnonzero(used)
    row = np.cumsum(used) - 1  # grid cell -> rank among used cells (= among sorted keys)
    uk = pack(cells // nb + d0, cells % nb + b0)
    return uk, lambda d, b: row[(d - d0) * nb + (b - b0)]


__all__ = ["Contributions", "Streams", "counters", "gauges", "merge", "power_gauge_energy"]
