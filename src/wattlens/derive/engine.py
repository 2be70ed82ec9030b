"""Raw series -> per-deployment interval records (energy, tokens, gauges, CO2).

One engine for every source: a whole imported file, a Prometheus backfill or a single scrape.
`Deriver.feed()` takes a `SeriesSet`; `Deriver.drain()` emits records for buckets up to a watermark.
State carries the last reading of every counter across batches, so increments between scrapes are
never lost, and recent buckets stay in memory so late data (after a scrape gap) updates them.

This module resolves series and keeps the per-deployment state; `accumulate` turns samples into
bucket contributions and `emit` turns buckets into records.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from wattlens.core.records import DeploymentInfo, IntervalRecord
from wattlens.derive import accumulate as ac
from wattlens.derive.buckets import BucketTable
from wattlens.derive.carbon import CarbonModel
from wattlens.derive.emit import align_open, deployment_info, interval_columns, nan_to_none
from wattlens.derive.layout import (
    COUNTER_COL,
    GAUGE_COLS,
    GEN,
    NF,
    NM,
    Chunk,
    DeploymentState,
    Meta,
    words_for,
)
from wattlens.derive.options import CarbonLookup, DeriveOptions
from wattlens.derive.resolve import Resolved, resolve_series
from wattlens.derive.validity import Tally, valid_samples
from wattlens.telemetry.metrics import PREFERRED_NAMES, Quantity
from wattlens.telemetry.records import FlatSamples, SeriesKey, SeriesSet

Row = tuple[Meta, np.ndarray, np.ndarray]
"""(series metadata, times, values) of one usable series of a batch."""


# Set by the constructor from its arguments, not learned from samples (see Deriver.state).
_INJECTED = frozenset({"options", "_carbon", "_pue", "_gpu_type_of"})


class Deriver:
    """Stateful derivation from raw series to `IntervalRecord`s."""

    def __init__(
        self,
        options: DeriveOptions | None = None,
        *,
        carbon: CarbonModel | None = None,
        gpu_type_of: Callable[[str], str | None] | None = None,
    ) -> None:
        self.options = options or DeriveOptions()
        model = carbon or CarbonModel()
        self._carbon: CarbonLookup = model.lookup
        self._pue = model.pue  # the one home of PUE is the carbon model (config carbon.pue)
        self._gpu_type_of: Callable[[str], str | None] = gpu_type_of or (lambda name: None)
        self._meta: dict[SeriesKey, Meta | None] = {}
        self._stream_ids: dict[tuple[str, ...], int] = {}
        self._streams = ac.Streams()  # per stream id: last reading carried across batches
        self._dep_index: dict[str, int] = {}
        self._deps: list[DeploymentState] = []
        self._mig_instances: dict[tuple[str, str], set[str]] = {}
        self._table = BucketTable(NF, NM)  # accumulators per (deployment, bucket)
        # Per-meta attributes as one int table (rows sid, dep, ccol, scol, ncol, mcol, is_gpu,
        # is_power, stream member, gpu member; a column per meta) and a share column, so a batch
        # gathers them at once, each attribute into its own contiguous array.
        self._attr = np.zeros((10, 0), dtype=np.int64)
        self._attr_share = np.zeros(0)
        self._n_attr = 0
        self._mig_metas: dict[tuple[str, str], list[Meta]] = {}
        self._preferred_seen: set[tuple[str, str | None, str | None]] = set()
        self._gen_sids: dict[int, list[int]] = {}  # deployment -> its generation-token streams
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
        group: list[Row] = []
        size = 0
        by_stream: dict[int, list[Row]] = {}
        for row in rows:  # a stream's series (e.g. one GPU under two pod names) stay together
            by_stream.setdefault(row[0].sid, []).append(row)
        # Deployment by deployment (a stream has one): each group then touches few
        # (deployment, bucket) rows, instead of every group touching them all.
        for stream_rows in sorted(by_stream.values(), key=lambda r: r[0][0].dep):
            group += stream_rows
            size += sum(r[1].size for r in stream_rows)
            if size >= max_samples:
                used += self._feed_rows(group)
                group, size = [], 0
        if group:
            used += self._feed_rows(group)
        return used

    def drain(
        self, watermark_s: float = math.inf, *, with_deployments: bool = True
    ) -> tuple[list[DeploymentInfo], list[IntervalRecord]]:
        """Records of changed buckets ending at or before `watermark_s`, plus all deployments
        (an empty list when `with_deployments` is False)."""
        infos, cols = self.drain_columns(watermark_s, with_deployments=with_deployments)
        names = list(cols)
        lists = [nan_to_none(cols[n]) for n in names]
        records = [IntervalRecord(*vals) for vals in zip(*lists, strict=True)]
        return infos, records

    def drain_columns(
        self, watermark_s: float = math.inf, *, with_deployments: bool = True
    ) -> tuple[list[DeploymentInfo], dict[str, np.ndarray]]:
        """Like `drain`, as IntervalRecord columns (numpy; NaN/None where unknown)."""
        step = self.options.step_s
        last = math.floor(watermark_s / step + 1e-9) if math.isfinite(watermark_s) else math.inf
        keys, values, masks = self._table.take_dirty(last)
        cols = interval_columns(
            keys, values, masks, self._deps, self.options, self._carbon, self._pue
        )
        if math.isfinite(watermark_s):
            self._table.evict_clean(math.floor((watermark_s - self.options.keep_recent_s) / step))
        else:
            self._table.evict_clean(math.inf)
        return (self.deployments() if with_deployments else []), cols

    def peek_open(self, watermark_s: float) -> dict[str, np.ndarray]:
        """Provisional IntervalRecord columns of the changed buckets ending after `watermark_s`
        (the newest, still open ones), left pending so `drain` emits them again once complete.
        Energy and tokens are cut to the span both cover (`emit.align_open`); a row with no
        common span is left out."""
        step = self.options.step_s
        keys, values, masks = self._table.peek_dirty(math.floor(watermark_s / step + 1e-9))
        cols = interval_columns(
            keys, values, masks, self._deps, self.options, self._carbon, self._pue
        )
        last_t = self._streams.last_t
        token_end = {d: [float(last_t[s]) for s in sids] for d, sids in self._gen_sids.items()}
        return align_open(cols, keys, token_end, step)

    def state(self) -> dict[str, object]:
        """What this deriver has learned (series, streams' last readings, deployments, open
        buckets), less its options and lookups, for a process that continues from here
        (app.backfill_worker hands it to the service). Buckets drained and unchanged since are
        dropped first, as a deriver that started at the last steps would not hold them."""
        self._table.evict_clean(math.inf)
        self._table.compact()
        return {k: v for k, v in vars(self).items() if k not in _INJECTED}

    def restore(self, state: dict[str, object]) -> None:
        """Continue from another deriver's `state` (same options)."""
        vars(self).update(state)

    def deployments(self) -> list[DeploymentInfo]:
        """Current attributes of every deployment seen so far."""
        return [
            deployment_info(d, self.options, self._carbon, self._gpu_type_of) for d in self._deps
        ]

    @property
    def refused(self) -> Tally:
        """Samples dropped as invalid so far, by reason (see `derive.validity`)."""
        return self._streams.refused

    # ---- accumulation -------------------------------------------------------------------
    def _feed_rows(self, rows: list[Row]) -> int:
        return self._accumulate(self._chunk(rows))

    def _accumulate(self, c: Chunk) -> int:
        c = valid_samples(c, self._streams.refused)  # no NaN/Inf, negative counters or power
        acc: ac.Contributions = []  # (dep, bucket, column, value) contributions
        macc: ac.Contributions = []  # (dep, bucket, member-set column, member) contributions
        ac.counters(c, self._streams, self._deps, self.options, acc, macc)
        ac.power_gauge_energy(c, self._streams, self.options, acc, macc)
        ac.gauges(c, self.options.step_s, acc, macc)
        ac.merge(self._table, acc, macc)
        return int(c.t.size)

    def _reserve(self, rows: list[Row]) -> None:
        """Size the accumulators once for a batch's (deployment, bucket) span: no regrowth."""
        lo = min(float(t[0]) for _m, t, _v in rows)
        hi = max(float(t[-1]) for _m, t, _v in rows)
        deps = len({m.dep for m, _t, _v in rows if m.dep >= 0})
        self._table.reserve(len(self._table) + deps * (int((hi - lo) / self.options.step_s) + 3))

    # ---- batch preparation --------------------------------------------------------------
    def _meta_of(self, key: SeriesKey) -> Meta | None:
        """The metadata of a series key (None: unused), resolved on first sight."""
        try:
            return self._meta[key]
        except KeyError:
            return self._new_meta(key)

    def _rows(self, batch: SeriesSet) -> list[Row]:
        """(per-key metadata, t, v) for every usable series of the batch."""
        rows: list[Row] = []
        for k, (t, v) in batch.series.items():
            m = self._meta_of(k)
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

    def _new_meta(self, key: SeriesKey) -> Meta | None:
        """Resolve a series seen for the first time and register what it tells."""
        r = resolve_series(
            key, namespaces=self.options.namespaces, deployment_label=self.options.deployment_label
        )
        if r is None:
            self._meta[key] = None
            return None
        sid = self._stream_ids.setdefault(r.stream, len(self._stream_ids))
        self._streams.ensure(sid)
        dep = self._dep_for(r)
        gauge = GAUGE_COLS.get(r.quantity)
        mig = r.labels.mig_instance
        m = Meta(
            r=r,
            sid=sid,
            dep=dep,
            ccol=COUNTER_COL.get(r.quantity, -1),
            scol=gauge[0] if gauge else -1,
            ncol=gauge[1] if gauge else -1,
            mcol=gauge[2] if gauge and gauge[2] is not None else -1,
            is_gpu=r.is_gpu,
            is_power=r.quantity is Quantity.GPU_POWER_WATTS,
            mig_gpu=r.gpu if (r.is_gpu and mig) else None,
            split=r.quantity is not Quantity.GPU_UTIL_PERCENT,
        )
        if dep >= 0:
            self._register_member(self._deps[dep], m, r)
            gen = self._gen_sids.setdefault(dep, [])
            if m.ccol == GEN and sid not in gen:
                gen.append(sid)
        names = PREFERRED_NAMES.get(r.quantity)
        if names:
            pod_key = (r.namespace, r.labels.pod)
            if r.name == names[0]:
                self._preferred_seen.add((names[0], *pod_key))
            else:
                m.alt_of = (names[0], *pod_key)
        self._register_attrs(m)
        if m.mig_gpu is not None and mig:
            self._mig_instances.setdefault(m.mig_gpu, set()).add(mig)
            siblings = self._mig_metas.setdefault(m.mig_gpu, [])
            siblings.append(m)
            for sib in siblings:  # every instance's share changes
                self._attr_share[sib.mid] = self._share(sib)
        self.version += 1
        self._meta[key] = m
        return m

    def _register_member(self, d: DeploymentState, m: Meta, r: Resolved) -> None:
        """Record what a new series tells about its deployment, and its member index there."""
        if r.is_gpu:
            m.gpu_member = d.member("gpu", r.gpu)
            if r.labels.gpu_model_name:
                d.gpu_hardware[r.labels.gpu_model_name] += 1
            d.mig = d.mig or bool(r.labels.mig_instance)
        else:
            d.has_engine = True
            m.stream_member = d.member("stream", m.sid)
            if r.labels.model_name:
                d.model_names[r.labels.model_name] += 1
        if r.labels.container:
            d.containers[r.labels.container] += 1
        self._table.widen(words_for(max(m.gpu_member, m.stream_member) + 1))

    def _register_attrs(self, m: Meta) -> None:
        m.mid = self._n_attr
        n = m.mid + 1
        if n > self._attr.shape[1]:
            grow = max(1024, self._attr.shape[1])
            self._attr = np.hstack([self._attr, np.zeros((10, grow), dtype=np.int64)])
            self._attr_share = np.concatenate([self._attr_share, np.ones(grow)])
        self._n_attr = n
        self._attr[:, m.mid] = (m.sid, m.dep, m.ccol, m.scol, m.ncol, m.mcol, m.is_gpu, m.is_power,
                             m.stream_member, m.gpu_member)  # fmt: skip
        self._attr_share[m.mid] = self._share(m)

    def _dep_for(self, r: Resolved) -> int:
        if r.deployment is None:
            return -1
        idx = self._dep_index.get(r.deployment)
        if idx is None:
            idx = len(self._deps)
            self._dep_index[r.deployment] = idx
            self._deps.append(
                DeploymentState(
                    r.deployment, r.namespace or "", r.workload or "", first_seen_s=math.inf
                )
            )
        return idx

    def _chunk(self, rows: list[Row]) -> Chunk:
        """Flat per-sample arrays for a group of rows (one numpy pass, no per-row numpy calls)."""
        sizes = np.fromiter((t.size for _m, t, _v in rows), dtype=np.int64, count=len(rows))
        t = np.concatenate([t for _m, t, _v in rows]) if len(rows) > 1 else rows[0][1]
        v = np.concatenate([v for _m, _t, v in rows]) if len(rows) > 1 else rows[0][2]
        metas = [m for m, _t, _v in rows]
        self._touch(metas, [float(tt[-1]) for _m, tt, _v in rows])
        return self._make_chunk(metas, t, v, np.repeat(np.arange(len(rows)), sizes))

    def _touch(self, metas: list[Meta], last_times: list[float]) -> None:
        """Per-deployment recency: last sample time, and when each GPU last reported."""
        deps = self._deps
        for m, last in zip(metas, last_times, strict=True):
            if m.dep >= 0:
                d = deps[m.dep]
                if last > d.last_seen_s:
                    d.last_seen_s = last
                gpu = m.r.gpu  # set exactly for GPU series
                if gpu is not None and last > d.gpus_last_seen.get(gpu, -math.inf):
                    d.gpus_last_seen[gpu] = last

    def _make_chunk(
        self, metas: list[Meta], t: np.ndarray, v: np.ndarray, idx: np.ndarray | None
    ) -> Chunk:
        """Per-sample arrays; `idx` maps each sample to its meta (None: one sample per meta)."""
        mids = np.fromiter((m.mid for m in metas), dtype=np.int64, count=len(metas))
        if idx is not None:
            mids = mids[idx]
        # one gather of every attribute row (strided rows of an (n, 10) gather cost ~10x more)
        sid, dep, ccol, scol, ncol, mcol, is_gpu, is_power, smember, gmember = np.take(
            self._attr, mids, axis=1
        )
        return Chunk(
            t=t.astype(np.float64, copy=False),
            v=v.astype(np.float64, copy=False),
            sid=sid,
            dep=dep,
            ccol=ccol,
            scol=scol,
            ncol=ncol,
            mcol=mcol,
            is_gpu=is_gpu.astype(bool),
            is_power=is_power.astype(bool),
            stream_member=smember,
            gpu_member=gmember,
            share=self._attr_share[mids],
        )

    def _feed_flat(self, batch: FlatSamples) -> int:
        """One sample per series (a scrape): no per-series arrays at all."""
        keep: list[int] = []
        metas: list[Meta] = []
        for i, k in enumerate(batch.keys):
            m = self._meta_of(k)
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

    def _share(self, m: Meta) -> float:
        """Share of a GPU-level reading that belongs to this series (MIG instances split evenly)."""
        if m.mig_gpu is not None and m.split:
            return 1.0 / max(1, len(self._mig_instances.get(m.mig_gpu, ())))
        return 1.0


__all__ = ["CarbonLookup", "DeriveOptions", "Deriver"]
