"""Raw series -> per-deployment interval records (energy, tokens, gauges, CO2).

One engine for every source: a whole imported file, a Prometheus backfill or a single scrape.
`Deriver.feed()` takes a `SeriesSet`; `Deriver.drain()` emits records for buckets up to a watermark.
State carries the last reading of every counter across batches, so increments between scrapes are
never lost, and recent buckets stay in memory so late data (after a scrape gap) updates them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from wattlens.core.records import DeploymentInfo, IntervalRecord
from wattlens.core.units import co2_grams, joules_from_millijoules
from wattlens.derive import spread as sp
from wattlens.derive.buckets import BucketTable, pack, unpack
from wattlens.derive.resolve import Resolved, resolve_series
from wattlens.telemetry.metrics import PREFERRED_NAMES, Quantity
from wattlens.telemetry.records import FlatSamples, SeriesKey, SeriesSet

# Columns of the per-(deployment, bucket) accumulator.
(
    E_CTR,
    E_GAUGE,
    PROMPT,
    GEN,
    FINISHED,
    ITL,
    SAMPLES,
    ENGINE,
    HAS_CTR,
    HAS_GAUGE,
    RUN_S,
    RUN_N,
    WAIT_S,
    WAIT_N,
    KV_S,
    KV_N,
    UTIL_S,
    UTIL_N,
) = range(18)
NF = 18
# Bit-mask columns, OR-combined: which GPUs / engine streams reported in a bucket. Counting
# distinct members this way stays exact however a batch is split into groups or scrapes.
M_GPU, M_RUN, M_WAIT = range(3)
NM = 3

_COUNTER_COL = {
    Quantity.GPU_ENERGY_MILLIJOULES_TOTAL: E_CTR,
    Quantity.PROMPT_TOKENS_TOTAL: PROMPT,
    Quantity.GENERATION_TOKENS_TOTAL: GEN,
    Quantity.REQUESTS_FINISHED_TOTAL: FINISHED,
    Quantity.ITL_SECONDS_SUM_TOTAL: ITL,
}
# gauge -> (sum col, count col, stream mask col or None)
_GAUGE_COLS = {
    Quantity.REQUESTS_RUNNING: (RUN_S, RUN_N, M_RUN),
    Quantity.REQUESTS_WAITING: (WAIT_S, WAIT_N, M_WAIT),
    Quantity.KV_CACHE_USAGE_RATIO: (KV_S, KV_N, None),
    Quantity.GPU_UTIL_PERCENT: (UTIL_S, UTIL_N, None),
}

CarbonLookup = Callable[[str | None, str | None], tuple[str | None, float]]
"""(node host, namespace) -> (grid region code, kg CO2 per kWh)."""


@dataclass(frozen=True, slots=True)
class DeriveOptions:
    """Knobs of the derivation."""

    step_s: float = 30.0
    namespaces: frozenset[str] | None = None
    deployment_label: str | None = None
    max_gauge_gap_s: float = 300.0  # power-gauge integration never bridges a longer gap
    keep_recent_s: float = 6 * 3600.0  # late data can still update buckets this old
    pue: float = 1.0


@dataclass
class _Deployment:
    id: str
    namespace: str
    workload: str
    first_seen_s: float
    model_names: Counter[str] = field(default_factory=Counter)
    gpu_hardware: Counter[str] = field(default_factory=Counter)
    containers: Counter[str] = field(default_factory=Counter)
    gpus_last_seen: dict[tuple[str, str], float] = field(default_factory=dict)
    has_engine: bool = False
    mig: bool = False
    bits: dict[object, int] = field(default_factory=dict)  # member -> bit in bucket masks

    def bit(self, member: object) -> int:
        """Mask bit of a GPU or engine stream (63 distinct; beyond that bits are shared)."""
        b = self.bits.get(member)
        if b is None:
            b = self.bits[member] = 1 << (len(self.bits) % 63)
        return b

    last_seen_s: float = -math.inf


@dataclass(slots=True)
class _Meta:
    """What a series is, resolved once per series key."""

    r: Resolved
    sid: int  # stream id
    dep: int  # deployment index, -1 for unallocated GPUs
    ccol: int  # accumulator column of a counter, -1 if not a counter
    scol: int  # gauge: sum column (-1 if not a gauge wattlens averages)
    ncol: int  # gauge: count column
    mcol: int  # gauge: member-mask column (replicas add up), -1 if none
    is_gpu: bool
    is_power: bool
    mig_gpu: tuple[str, str] | None  # parent GPU of a MIG instance
    split: bool  # a GPU-level reading shared among MIG instances
    stream_bit: int
    gpu_bit: int
    mid: int = -1  # row in the Deriver's attribute table
    alt_of: tuple[str, str | None, str | None] | None = None  # newer name this one yields to


@dataclass(slots=True)
class _Chunk:
    """Per-sample arrays of a group of series."""

    t: np.ndarray
    v: np.ndarray
    sid: np.ndarray
    dep: np.ndarray
    ccol: np.ndarray
    scol: np.ndarray
    ncol: np.ndarray
    mcol: np.ndarray
    is_gpu: np.ndarray
    is_power: np.ndarray
    stream_bit: np.ndarray
    gpu_bit: np.ndarray
    share: np.ndarray


_MISSING = object()


class Deriver:
    """Stateful derivation from raw series to `IntervalRecord`s."""

    def __init__(
        self,
        options: DeriveOptions | None = None,
        *,
        carbon: CarbonLookup | None = None,
        gpu_type_of: Callable[[str], str | None] | None = None,
    ) -> None:
        self.options = options or DeriveOptions()
        self._carbon = carbon or (lambda host, ns: (None, 0.0))
        self._gpu_type_of = gpu_type_of or (lambda name: None)
        self._meta: dict[SeriesKey, _Meta | None] = {}
        self._stream_ids: dict[tuple[str, ...], int] = {}
        self._last_t = np.empty(0)  # per stream id: last reading's time (NaN: none yet)
        self._last_v = np.empty(0)
        self._dep_index: dict[str, int] = {}
        self._deps: list[_Deployment] = []
        self._mig_instances: dict[tuple[str, str], set[str]] = {}
        self._table = BucketTable(NF, NM)  # accumulators per (deployment, bucket)
        # Per-meta attributes as one int table (sid, dep, ccol, scol, ncol, mcol, is_gpu,
        # is_power, stream bit, gpu bit) and a share column, so a batch gathers them at once.
        self._attr = np.zeros((0, 10), dtype=np.int64)
        self._attr_share = np.zeros(0)
        self._n_attr = 0
        self._mig_metas: dict[tuple[str, str], list[_Meta]] = {}
        self._preferred_seen: set[tuple[str, str | None, str | None]] = set()
        self.version = 0  # bumps whenever deployment attributes may have changed

    # ---- public -------------------------------------------------------------------------
    def feed(self, batch: SeriesSet | FlatSamples, *, max_samples: int = 100_000) -> int:
        """Take a batch of raw samples; returns how many samples were used.

        Large batches are processed in groups of whole streams of at most `max_samples`, so an
        import's working memory stays bounded by the group, not the file.
        """
        if isinstance(batch, FlatSamples):
            return self._feed_flat(batch)
        rows = self._rows(batch)
        if not rows:
            return 0
        self._reserve(rows)
        if len(rows) == 1 or sum(t.size for _m, t, _v in rows) <= max_samples:
            return self._feed_rows(rows)
        used = 0
        group: list = []
        size = 0
        by_stream: dict[int, list] = {}
        for row in rows:  # a stream's series (e.g. one GPU under two pod names) stay together
            by_stream.setdefault(row[0].sid, []).append(row)
        for stream_rows in by_stream.values():
            group += stream_rows
            size += sum(r[1].size for r in stream_rows)
            if size >= max_samples:
                used += self._feed_rows(group)
                group, size = [], 0
        if group:
            used += self._feed_rows(group)
        return used

    def _feed_rows(self, rows: list) -> int:
        return self._accumulate(self._chunk(rows))

    def _accumulate(self, c: _Chunk) -> int:
        acc: list[tuple[np.ndarray, ...]] = []  # (dep, bucket, column, value) contributions
        macc: list[tuple[np.ndarray, ...]] = []  # (dep, bucket, mask column, bit) contributions
        self._counters(c, acc)
        self._power_gauge_energy(c, acc)
        self._gauges(c, acc, macc)
        self._merge(acc, macc)
        return int(c.t.size)

    def drain(
        self, watermark_s: float = math.inf, *, with_deployments: bool = True
    ) -> tuple[list[DeploymentInfo], list[IntervalRecord]]:
        """Records of changed buckets ending at or before `watermark_s`, plus all deployments
        (an empty list when `with_deployments` is False)."""
        infos, cols = self.drain_columns(watermark_s, with_deployments=with_deployments)
        names = list(cols)
        lists = [_nan_to_none(cols[n]) for n in names]
        records = [IntervalRecord(*vals) for vals in zip(*lists, strict=True)]
        return infos, records

    def drain_columns(
        self, watermark_s: float = math.inf, *, with_deployments: bool = True
    ) -> tuple[list[DeploymentInfo], dict[str, np.ndarray]]:
        """Like `drain`, as IntervalRecord columns (numpy; NaN/None where unknown)."""
        step = self.options.step_s
        last = math.floor(watermark_s / step + 1e-9) if math.isfinite(watermark_s) else math.inf
        keys, values, masks = self._table.take_dirty(last)
        cols = self._columns(keys, values, masks)
        if math.isfinite(watermark_s):
            self._table.evict_clean(math.floor((watermark_s - self.options.keep_recent_s) / step))
        else:
            self._table.evict_clean(math.inf)
        return (self.deployments() if with_deployments else []), cols

    def deployments(self) -> list[DeploymentInfo]:
        """Current attributes of every deployment seen so far."""
        return [self._info(d) for d in self._deps]

    # ---- batch preparation ----------------------------------------------------------------
    def _rows(self, batch: SeriesSet) -> list[tuple[_Meta, np.ndarray, np.ndarray]]:
        """(per-key metadata, t, v) for every usable series of the batch."""
        rows = []
        metas = self._meta
        for k, (t, v) in batch.series.items():
            m = metas.get(k, _MISSING)
            if m is _MISSING:
                m = self._new_meta(k)
            if m is None or t.size == 0:
                continue
            rows.append((m, t, v))
        seen = self._preferred_seen
        rows = [row for row in rows if row[0].alt_of is None or row[0].alt_of not in seen]
        for m, t, _v in rows:
            if m.dep >= 0:
                d = self._deps[m.dep]
                t0 = float(t[0])
                if t0 < d.first_seen_s:
                    d.first_seen_s = t0
        return rows

    def _new_meta(self, key: SeriesKey) -> _Meta | None:
        """Resolve a series seen for the first time and register what it tells."""
        r = resolve_series(
            key, namespaces=self.options.namespaces, deployment_label=self.options.deployment_label
        )
        if r is None:
            self._meta[key] = None
            return None
        sid = self._stream_ids.setdefault(r.stream, len(self._stream_ids))
        if sid >= self._last_t.size:
            grow = max(1024, self._last_t.size)
            self._last_t = np.concatenate([self._last_t, np.full(grow, np.nan)])
            self._last_v = np.concatenate([self._last_v, np.zeros(grow)])
        dep = self._dep_for(r)
        gauge = _GAUGE_COLS.get(r.quantity)
        m = _Meta(
            r=r,
            sid=sid,
            dep=dep,
            ccol=_COUNTER_COL.get(r.quantity, -1),
            scol=gauge[0] if gauge else -1,
            ncol=gauge[1] if gauge else -1,
            mcol=gauge[2] if gauge and gauge[2] is not None else -1,
            is_gpu=r.is_gpu,
            is_power=r.quantity is Quantity.GPU_POWER_WATTS,
            mig_gpu=r.gpu if (r.is_gpu and r.labels.mig_instance) else None,
            split=r.quantity is not Quantity.GPU_UTIL_PERCENT,
            stream_bit=0,
            gpu_bit=0,
        )
        if dep >= 0:
            d = self._deps[dep]
            if r.is_gpu:
                m.gpu_bit = d.bit(("gpu", r.gpu))
                if r.labels.gpu_model_name:
                    d.gpu_hardware[r.labels.gpu_model_name] += 1
                d.mig = d.mig or bool(r.labels.mig_instance)
            else:
                d.has_engine = True
                m.stream_bit = d.bit(("stream", sid))
                if r.labels.model_name:
                    d.model_names[r.labels.model_name] += 1
            if r.labels.container:
                d.containers[r.labels.container] += 1
        names = PREFERRED_NAMES.get(r.quantity)
        if names:
            pod_key = (r.namespace, r.labels.pod)
            if r.name == names[0]:
                self._preferred_seen.add((names[0], *pod_key))
            else:
                m.alt_of = (names[0], *pod_key)
        self._register_attrs(m)
        if m.mig_gpu is not None:
            self._mig_instances.setdefault(r.gpu, set()).add(r.labels.mig_instance)
            self._mig_metas.setdefault(r.gpu, []).append(m)
            for sib in self._mig_metas[r.gpu]:  # every instance's share changes
                self._attr_share[sib.mid] = self._share(sib)
        self.version += 1
        self._meta[key] = m
        return m

    def _register_attrs(self, m: _Meta) -> None:
        m.mid = self._n_attr
        n = m.mid + 1
        if n > self._attr.shape[0]:
            grow = max(1024, self._attr.shape[0])
            self._attr = np.vstack([self._attr, np.zeros((grow, 10), dtype=np.int64)])
            self._attr_share = np.concatenate([self._attr_share, np.ones(grow)])
        self._n_attr = n
        self._attr[m.mid] = (m.sid, m.dep, m.ccol, m.scol, m.ncol, m.mcol, m.is_gpu, m.is_power,
                             m.stream_bit, m.gpu_bit)  # fmt: skip
        self._attr_share[m.mid] = self._share(m)

    def _dep_for(self, r: Resolved) -> int:
        if r.deployment is None:
            return -1
        idx = self._dep_index.get(r.deployment)
        if idx is None:
            idx = len(self._deps)
            self._dep_index[r.deployment] = idx
            self._deps.append(
                _Deployment(
                    r.deployment, r.namespace or "", r.workload or "", first_seen_s=math.inf
                )
            )
        return idx

    def _chunk(self, rows: list) -> _Chunk:
        """Flat per-sample arrays for a group of rows (one numpy pass, no per-row numpy calls)."""
        sizes = np.fromiter((t.size for _m, t, _v in rows), dtype=np.int64, count=len(rows))
        t = np.concatenate([t for _m, t, _v in rows]) if len(rows) > 1 else rows[0][1]
        v = np.concatenate([v for _m, _t, v in rows]) if len(rows) > 1 else rows[0][2]
        metas = [m for m, _t, _v in rows]
        self._touch(metas, [float(tt[-1]) for _m, tt, _v in rows])
        return self._make_chunk(metas, t, v, np.repeat(np.arange(len(rows)), sizes))

    def _touch(self, metas: list[_Meta], last_times: list[float]) -> None:
        """Per-deployment recency: last sample time, and when each GPU last reported."""
        deps = self._deps
        for m, last in zip(metas, last_times, strict=True):
            if m.dep >= 0:
                d = deps[m.dep]
                if last > d.last_seen_s:
                    d.last_seen_s = last
                if m.is_gpu and last > d.gpus_last_seen.get(m.r.gpu, -math.inf):
                    d.gpus_last_seen[m.r.gpu] = last

    def _make_chunk(
        self, metas: list[_Meta], t: np.ndarray, v: np.ndarray, idx: np.ndarray | None
    ) -> _Chunk:
        """Per-sample arrays; `idx` maps each sample to its meta (None: one sample per meta)."""
        mids = np.fromiter((m.mid for m in metas), dtype=np.int64, count=len(metas))
        if idx is not None:
            mids = mids[idx]
        a = self._attr[mids]
        sid, dep, ccol, scol, ncol, mcol, is_gpu, is_power, sbit, gbit = a.T
        share = self._attr_share[mids]
        return _Chunk(
            t=t.astype(np.float64, copy=False),
            v=v.astype(np.float64, copy=False),
            sid=sid.astype(np.int64),
            dep=dep.astype(np.int64),
            ccol=ccol.astype(np.int64),
            scol=scol.astype(np.int64),
            ncol=ncol.astype(np.int64),
            mcol=mcol.astype(np.int64),
            is_gpu=is_gpu.astype(bool),
            is_power=is_power.astype(bool),
            stream_bit=sbit.astype(np.int64),
            gpu_bit=gbit.astype(np.int64),
            share=share.astype(np.float64),
        )

    def _feed_flat(self, batch: FlatSamples) -> int:
        """One sample per series (a scrape): no per-series arrays at all."""
        metas_by_key = self._meta
        keep: list[int] = []
        metas: list[_Meta] = []
        for i, k in enumerate(batch.keys):
            m = metas_by_key.get(k, _MISSING)
            if m is _MISSING:
                m = self._new_meta(k)
            if m is not None:
                keep.append(i)
                metas.append(m)
        if not metas:
            return 0
        t, v = batch.timestamps_s[keep], batch.values[keep]
        seen = self._preferred_seen
        if any(m.alt_of is not None and m.alt_of in seen for m in metas):
            sel = [i for i, m in enumerate(metas) if m.alt_of is None or m.alt_of not in seen]
            metas, t, v = [metas[i] for i in sel], t[sel], v[sel]
        times = t.tolist()
        for m, ti in zip(metas, times, strict=True):
            if m.dep >= 0 and ti < self._deps[m.dep].first_seen_s:
                self._deps[m.dep].first_seen_s = ti
        self._touch(metas, times)
        self._table.reserve(len(self._table) + 3 * len(self._deps))
        return self._accumulate(self._make_chunk(metas, t, v, None))

    def _share(self, m: _Meta) -> float:
        """Share of a GPU-level reading that belongs to this series (MIG instances split evenly)."""
        if m.mig_gpu is not None and m.split:
            return 1.0 / max(1, len(self._mig_instances.get(m.mig_gpu, ())))
        return 1.0

    def _with_prev(self, c: _Chunk, mask: np.ndarray, *, virtual_zero: bool):
        """Samples selected by `mask`, sorted by (stream, t), each stream preceded by its carried
        reading; samples at or before that reading (already seen) are dropped."""
        idx = np.flatnonzero(mask)
        idx = idx[~(c.t[idx] <= self._last_t[c.sid[idx]])]  # NaN (no state) compares False
        idx = idx[np.lexsort((c.t[idx], c.sid[idx]))]
        sid, dep, t, v = c.sid[idx], c.dep[idx], c.t[idx], c.v[idx]
        col, share = c.ccol[idx], c.share[idx]
        if sid.size == 0:
            return sid, dep, t, v, col, share
        first = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1]])
        fs = sid[first]
        pt, pv = self._last_t[fs], self._last_v[fs].copy()
        if virtual_zero:
            # A new pod of a deployment already running: its counters started at 0.
            fdep = dep[first]
            seen = np.array([self._deps[d].first_seen_s if d >= 0 else np.inf for d in fdep])
            new = np.isnan(pt) & ~c.is_gpu[idx[first]] & (fdep >= 0)
            new &= seen < t[first] - self.options.step_s
            pt = np.where(new, t[first] - self.options.step_s, pt)
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

    def _remember_last(self, sid: np.ndarray, t: np.ndarray, v: np.ndarray) -> None:
        if sid.size == 0:
            return
        last = np.flatnonzero(np.r_[sid[1:] != sid[:-1], True])
        self._last_t[sid[last]] = t[last]
        self._last_v[sid[last]] = v[last]

    # ---- accumulation -----------------------------------------------------------------------
    def _counters(self, c: _Chunk, acc: list) -> None:
        mask = c.ccol >= 0
        if not mask.any():
            return
        sid, dep, t, v, col, w = self._with_prev(c, mask, virtual_zero=True)
        same = sid[1:] == sid[:-1]
        inc = sp.counter_increments(v[:-1], v[1:])[same]
        start, end = t[:-1][same], t[1:][same]
        owner, cc, ww = dep[1:][same], col[1:][same], w[1:][same]
        ok = owner >= 0
        amount = inc[ok] * ww[ok]
        cc = cc[ok]
        amount = np.where(cc == E_CTR, joules_from_millijoules(amount), amount)
        key = owner[ok] * NF + cc
        k, b, share = sp.spread(key, start[ok], end[ok], amount, self.options.step_s)
        acc.append((k // NF, b, k % NF, share))
        # Flags: which buckets got counter energy, and which got engine activity.
        is_e = cc == E_CTR
        for fmask, flag in ((is_e, HAS_CTR), (~is_e, ENGINE)):
            fo, fb, _ = sp.spread(
                owner[ok][fmask],
                start[ok][fmask],
                end[ok][fmask],
                np.ones(fmask.sum()),
                self.options.step_s,
            )
            acc.append((fo, fb, np.full(fo.size, flag), np.ones(fo.size)))
        self._remember_last(sid, t, v)

    def _power_gauge_energy(self, c: _Chunk, acc: list) -> None:
        # Always integrated: whether a GPU also has an energy counter may only become known in a
        # later part of an import, so the choice counter-vs-gauge is made per bucket at drain.
        if not c.is_power.any():
            return
        sid, dep, t, v, _col, w = self._with_prev(c, c.is_power, virtual_zero=False)
        same = sid[1:] == sid[:-1]
        dt = np.minimum(t[1:] - t[:-1], self.options.max_gauge_gap_s)[same]
        end = t[1:][same]
        owner = dep[1:][same]
        ok = owner >= 0
        amount = (v[1:][same] * w[1:][same] * dt)[ok]
        o, b, share = sp.spread(owner[ok], end[ok] - dt[ok], end[ok], amount, self.options.step_s)
        acc.append((o, b, np.full(o.size, E_GAUGE), share))
        acc.append((o, b, np.full(o.size, HAS_GAUGE), np.ones(o.size)))
        self._remember_last(sid, t, v)

    def _gauges(self, c: _Chunk, acc: list, macc: list) -> None:
        ok = c.dep >= 0
        dep, b = c.dep[ok], sp.bucket_id(c.t[ok], self.options.step_s)
        n = dep.size
        acc.append((dep, b, np.full(n, SAMPLES), np.ones(n)))
        eng = ~c.is_gpu[ok]
        acc.append((dep[eng], b[eng], np.full(int(eng.sum()), ENGINE), np.ones(int(eng.sum()))))
        g = c.scol[ok] >= 0
        acc.append((dep[g], b[g], c.scol[ok][g], (c.v * c.share)[ok][g]))
        acc.append((dep[g], b[g], c.ncol[ok][g], np.ones(int(g.sum()))))
        mm = c.mcol[ok] >= 0
        macc.append((dep[mm], b[mm], c.mcol[ok][mm], c.stream_bit[ok][mm]))
        gg = c.is_gpu[ok]
        macc.append((dep[gg], b[gg], np.full(int(gg.sum()), M_GPU), c.gpu_bit[ok][gg]))

    def _merge(self, acc: list, macc: list) -> None:
        dep = np.concatenate([a[0] for a in acc]).astype(np.int64)
        bkt = np.concatenate([a[1] for a in acc]).astype(np.int64)
        col = np.concatenate([a[2] for a in acc]).astype(np.int64)
        val = np.concatenate([a[3] for a in acc]).astype(np.float64)
        uk, inv = np.unique(pack(dep, bkt), return_inverse=True)
        flat = np.bincount(inv.reshape(-1) * NF + col, weights=val, minlength=uk.size * NF)
        masks = np.zeros((uk.size, NM), dtype=np.int64)
        if macc:
            mkey = pack(np.concatenate([m[0] for m in macc]), np.concatenate([m[1] for m in macc]))
            mcol = np.concatenate([m[2] for m in macc]).astype(np.int64)
            bits = np.concatenate([m[3] for m in macc]).astype(np.int64)
            np.bitwise_or.at(masks, (np.searchsorted(uk, mkey), mcol), bits)
        self._table.add(uk, flat.reshape(uk.size, NF), masks)

    def _reserve(self, rows: list) -> None:
        """Size the accumulators once for a batch's (deployment, bucket) span: no regrowth."""
        lo = min(float(t[0]) for _m, t, _v in rows)
        hi = max(float(t[-1]) for _m, t, _v in rows)
        deps = len({m.dep for m, _t, _v in rows if m.dep >= 0})
        self._table.reserve(len(self._table) + deps * (int((hi - lo) / self.options.step_s) + 3))

    # ---- output -------------------------------------------------------------------------------
    def _info(self, d: _Deployment) -> DeploymentInfo:
        recent = [
            g for g, ts in d.gpus_last_seen.items() if ts >= d.last_seen_s - 3 * self.options.step_s
        ]
        hosts = sorted({h for h, _ in recent if h})
        hw = d.gpu_hardware.most_common(1)[0][0] if d.gpu_hardware else None
        node = hosts[0] if hosts else None
        region, _ = self._carbon(node, d.namespace)
        return DeploymentInfo(
            deployment_id=d.id,
            namespace=d.namespace,
            workload=d.workload,
            model_name=d.model_names.most_common(1)[0][0] if d.model_names else None,
            gpu_type=self._gpu_type_of(hw) if hw else None,
            gpu_hardware=hw,
            gpu_count=len(recent),
            node=node,
            container=d.containers.most_common(1)[0][0] if d.containers else None,
            grid_region=region,
            mig=d.mig,
        )

    def _intensity(self, dep: int) -> float:
        d = self._deps[dep]
        hosts = sorted({h for h, _ in d.gpus_last_seen if h})
        return self._carbon(hosts[0] if hosts else None, d.namespace)[1]

    def _columns(self, keys: np.ndarray, a: np.ndarray, m: np.ndarray) -> dict[str, np.ndarray]:
        """IntervalRecord columns for packed (deployment, bucket) keys and their accumulators."""
        n = keys.size
        dep, bucket = unpack(keys)
        a = a.reshape(n, NF)
        ids = np.array([d.id for d in self._deps] or [""], dtype=object)[dep]
        intensity = np.array([self._intensity(i) for i in range(len(self._deps))] or [0.0])[dep]
        engine = np.array([d.has_engine for d in self._deps] or [False])[dep]
        known_gpus = np.array([len(d.gpus_last_seen) for d in self._deps] or [0])[dep]
        has_ctr, has_gauge = a[:, HAS_CTR] > 0, a[:, HAS_GAUGE] > 0
        source = np.where(has_ctr, "counter", np.where(has_gauge, "gauge", "none")).astype(object)
        energy = np.where(has_ctr, a[:, E_CTR], a[:, E_GAUGE])
        energy = np.where(has_ctr | has_gauge, energy, np.nan)
        pue = self.options.pue

        def tokens(col: int) -> np.ndarray:
            return np.where(engine, a[:, col], np.nan)

        members = np.bitwise_count(m.reshape(n, NM)).astype(np.float64)

        def mean(s_col: int, n_col: int, m_col: int | None = None) -> np.ndarray:
            """Interval mean; summed over engine streams (replicas) when m_col is given."""
            with np.errstate(invalid="ignore", divide="ignore"):
                avg = np.where(a[:, n_col] > 0, a[:, s_col] / a[:, n_col], np.nan)
            return avg * np.maximum(1.0, members[:, m_col]) if m_col is not None else avg

        return {
            "deployment_id": ids,
            "ts_end_s": bucket.astype(np.float64) * self.options.step_s,
            "interval_s": np.full(n, self.options.step_s),
            "energy_joules": energy,
            "energy_source": source,
            "prompt_tokens": tokens(PROMPT),
            "generation_tokens": tokens(GEN),
            "requests_finished": tokens(FINISHED),
            "itl_seconds_sum": tokens(ITL),
            "requests_running": mean(RUN_S, RUN_N, M_RUN),
            "requests_waiting": mean(WAIT_S, WAIT_N, M_WAIT),
            "kv_cache_usage_ratio": mean(KV_S, KV_N),
            "gpu_util_percent": mean(UTIL_S, UTIL_N),
            "gpu_count": np.where(members[:, M_GPU] > 0, members[:, M_GPU], known_gpus).astype(
                np.int64
            ),
            "carbon_intensity_kg_per_kwh": intensity.astype(np.float64),
            "pue": np.full(n, pue),
            "co2_grams": co2_grams(energy, intensity, pue),
            "sample_count": a[:, SAMPLES].astype(np.int64),
        }


def _nan_to_none(col: np.ndarray) -> list:
    """Column values as Python objects, NaN (unknown) as None."""
    values = col.tolist()
    if col.dtype.kind == "f":
        return [None if v != v else v for v in values]
    return values


__all__ = ["CarbonLookup", "DeriveOptions", "Deriver"]
