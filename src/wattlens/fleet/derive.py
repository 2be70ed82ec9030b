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

from wattlens.fleet import spread as sp
from wattlens.fleet.buckets import BucketTable, pack, unpack
from wattlens.fleet.records import DeploymentInfo, IntervalRecord
from wattlens.fleet.resolve import Resolved, drop_superseded, resolve_series
from wattlens.physics.units import co2_grams, joules_from_millijoules
from wattlens.telemetry.metrics import Quantity
from wattlens.telemetry.records import SeriesKey, SeriesSet

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
        self._resolved: dict[SeriesKey, Resolved | None] = {}
        self._stream_ids: dict[tuple[str, ...], int] = {}
        self._last: dict[int, tuple[float, float]] = {}  # stream id -> last (t, value)
        self._dep_index: dict[str, int] = {}
        self._deps: list[_Deployment] = []
        self._mig_instances: dict[tuple[str, str], set[str]] = {}
        self._table = BucketTable(NF, NM)  # accumulators per (deployment, bucket)

    # ---- public -------------------------------------------------------------------------
    def feed(self, batch: SeriesSet, *, max_samples: int = 100_000) -> int:
        """Take a batch of raw samples; returns how many samples were used.

        Large batches are processed in groups of whole streams of at most `max_samples`, so an
        import's working memory stays bounded by the group, not the file.
        """
        rows = self._rows(batch)
        if not rows:
            return 0
        self._reserve(rows)
        for r, *_ in rows:  # before grouping: a MIG instance's share needs all its siblings
            if r.is_gpu and r.labels.mig_instance:
                self._mig_instances.setdefault(r.gpu, set()).add(r.labels.mig_instance)
        used = 0
        group: list = []
        size = 0
        by_stream: dict[int, list] = {}
        for row in rows:  # a stream's series (e.g. one GPU under two pod names) stay together
            by_stream.setdefault(row[1], []).append(row)
        for stream_rows in by_stream.values():
            group += stream_rows
            size += sum(r[2].size for r in stream_rows)
            if size >= max_samples:
                used += self._feed_rows(group)
                group, size = [], 0
        if group:
            used += self._feed_rows(group)
        return used

    def _feed_rows(self, rows: list) -> int:
        self._register(rows)
        acc: list[tuple[np.ndarray, ...]] = []  # (dep, bucket, column, value) contributions
        macc: list[tuple[np.ndarray, ...]] = []  # (dep, bucket, mask column, bit) contributions
        self._counters(rows, acc)
        self._power_gauge_energy(rows, acc)
        self._gauges(rows, acc, macc)
        self._merge(acc, macc)
        return int(sum(r[2].size for r in rows))

    def drain(
        self, watermark_s: float = math.inf
    ) -> tuple[list[DeploymentInfo], list[IntervalRecord]]:
        """Records of changed buckets ending at or before `watermark_s`, plus all deployments."""
        infos, cols = self.drain_columns(watermark_s)
        names = list(cols)
        lists = [_nan_to_none(cols[n]) for n in names]
        records = [IntervalRecord(*vals) for vals in zip(*lists, strict=True)]
        return infos, records

    def drain_columns(
        self, watermark_s: float = math.inf
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
        return self.deployments(), cols

    def deployments(self) -> list[DeploymentInfo]:
        """Current attributes of every deployment seen so far."""
        return [self._info(d) for d in self._deps]

    # ---- batch preparation ----------------------------------------------------------------
    def _resolve(self, key: SeriesKey) -> Resolved | None:
        try:
            return self._resolved[key]
        except KeyError:
            r = resolve_series(
                key,
                namespaces=self.options.namespaces,
                deployment_label=self.options.deployment_label,
            )
            self._resolved[key] = r
            return r

    def _rows(self, batch: SeriesSet) -> list[tuple[Resolved, int, np.ndarray, np.ndarray, int]]:
        """(resolved, stream id, t, v, deployment index or -1) per usable series."""
        keys = list(batch.series)
        dropped = drop_superseded(keys)
        rows = []
        for k in keys:
            r = None if k in dropped else self._resolve(k)
            if r is None:
                continue
            t, v = batch.series[k]
            if t.size == 0:
                continue
            sid = self._stream_ids.setdefault(r.stream, len(self._stream_ids))
            dep = self._dep_for(r, float(t[0]))
            rows.append((r, sid, t, v, dep))
        return rows

    def _dep_for(self, r: Resolved, t0: float) -> int:
        if r.deployment is None:
            return -1
        idx = self._dep_index.get(r.deployment)
        if idx is None:
            idx = len(self._deps)
            self._dep_index[r.deployment] = idx
            self._deps.append(
                _Deployment(r.deployment, r.namespace or "", r.workload or "", first_seen_s=t0)
            )
        d = self._deps[idx]
        d.first_seen_s = min(d.first_seen_s, t0)
        return idx

    def _register(self, rows: list) -> None:
        for r, _sid, t, _v, dep in rows:
            if dep < 0:
                continue
            d = self._deps[dep]
            d.last_seen_s = max(d.last_seen_s, float(t[-1]))
            lab = r.labels
            if r.is_gpu:
                d.gpus_last_seen[r.gpu] = max(d.gpus_last_seen.get(r.gpu, -math.inf), float(t[-1]))
                if lab.gpu_model_name:
                    d.gpu_hardware[lab.gpu_model_name] += 1
                d.mig = d.mig or bool(lab.mig_instance)
            else:
                d.has_engine = True
                if lab.model_name:
                    d.model_names[lab.model_name] += 1
            if lab.container:
                d.containers[lab.container] += 1

    def _weight(self, r: Resolved) -> float:
        """Share of a GPU-level reading that belongs to this series (MIG instances split evenly)."""
        if r.is_gpu and r.labels.mig_instance and r.quantity is not Quantity.GPU_UTIL_PERCENT:
            return 1.0 / max(1, len(self._mig_instances.get(r.gpu, ())))
        return 1.0

    def _flat(self, rows: list, with_prev: bool, virtual_zero: bool = False):
        """Concatenate rows sorted by (stream, t), prepending each stream's carried reading."""
        sids, deps, ts, vs, cols, ws, prev = [], [], [], [], [], [], []
        for r, sid, t, v, dep in rows:
            n = t.size
            col = _COUNTER_COL.get(r.quantity, -1)
            w = self._weight(r)
            if with_prev:
                last = self._last.get(sid)
                # A new pod of a deployment already running: its counters started at 0.
                if (
                    last is None
                    and virtual_zero
                    and not r.is_gpu
                    and dep >= 0
                    and self._deps[dep].first_seen_s < float(t[0]) - self.options.step_s
                ):
                    last = (float(t[0]) - self.options.step_s, 0.0)
                if last is not None and t[0] <= last[0]:
                    keep = t > last[0]  # already seen (overlapping fetch or re-read): drop
                    t, v = t[keep], v[keep]
                    n = t.size
                if last is not None and n and last[0] < t[0]:
                    sids.append(np.array([sid]))
                    deps.append(np.array([dep]))
                    ts.append(np.array([last[0]]))
                    vs.append(np.array([last[1]]))
                    cols.append(np.array([col]))
                    ws.append(np.array([w]))
                    prev.append(np.array([True]))
            sids.append(np.full(n, sid))
            deps.append(np.full(n, dep))
            ts.append(t)
            vs.append(v)
            cols.append(np.full(n, col))
            ws.append(np.full(n, w))
            prev.append(np.zeros(n, dtype=bool))
        cat = np.concatenate
        sid_a, t_a = cat(sids).astype(np.int64), cat(ts).astype(np.float64)
        order = np.lexsort((t_a, sid_a))
        return (
            sid_a[order],
            cat(deps).astype(np.int64)[order],
            t_a[order],
            cat(vs).astype(np.float64)[order],
            cat(cols).astype(np.int64)[order],
            cat(ws).astype(np.float64)[order],
            cat(prev)[order],
        )

    def _remember_last(self, sid: np.ndarray, t: np.ndarray, v: np.ndarray) -> None:
        if sid.size == 0:
            return
        last = np.flatnonzero(np.r_[sid[1:] != sid[:-1], True])
        for i in last:
            self._last[int(sid[i])] = (float(t[i]), float(v[i]))

    # ---- accumulation -----------------------------------------------------------------------
    def _counters(self, rows: list, acc: list) -> None:
        crow = [row for row in rows if row[0].is_counter]
        if not crow:
            return
        sid, dep, t, v, col, w, _prev = self._flat(crow, with_prev=True, virtual_zero=True)
        same = sid[1:] == sid[:-1]
        inc = sp.counter_increments(v[:-1], v[1:])[same]
        start, end = t[:-1][same], t[1:][same]
        owner, c, ww = dep[1:][same], col[1:][same], w[1:][same]
        ok = owner >= 0
        amount = inc[ok] * ww[ok]
        c = c[ok]
        amount = np.where(c == E_CTR, joules_from_millijoules(amount), amount)
        key = owner[ok] * NF + c
        k, b, share = sp.spread(key, start[ok], end[ok], amount, self.options.step_s)
        acc.append((k // NF, b, k % NF, share))
        # Flags: which buckets got counter energy, and which got engine activity.
        is_e = c == E_CTR
        for mask, flag in ((is_e, HAS_CTR), (~is_e, ENGINE)):
            fo, fb, _ = sp.spread(
                owner[ok][mask],
                start[ok][mask],
                end[ok][mask],
                np.ones(mask.sum()),
                self.options.step_s,
            )
            acc.append((fo, fb, np.full(fo.size, flag), np.ones(fo.size)))
        self._remember_last(sid, t, v)

    def _power_gauge_energy(self, rows: list, acc: list) -> None:
        # Always integrated: whether a GPU also has an energy counter may only become known in a
        # later part of an import, so the choice counter-vs-gauge is made per bucket at drain.
        prow = [row for row in rows if row[0].quantity is Quantity.GPU_POWER_WATTS]
        if not prow:
            return
        sid, dep, t, v, _col, w, _prev = self._flat(prow, with_prev=True)
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

    def _gauges(self, rows: list, acc: list, macc: list) -> None:
        step = self.options.step_s
        for r, sid, t, v, dep in rows:
            if dep < 0:
                continue
            b = sp.bucket_id(t, step)
            deps = np.full(t.size, dep)
            acc.append((deps, b, np.full(t.size, SAMPLES), np.ones(t.size)))
            if not r.is_gpu:
                acc.append((deps, b, np.full(t.size, ENGINE), np.ones(t.size)))
            cols = _GAUGE_COLS.get(r.quantity)
            if cols is not None:
                s_col, n_col, m_col = cols
                acc.append((deps, b, np.full(t.size, s_col), v * self._weight(r)))
                acc.append((deps, b, np.full(t.size, n_col), np.ones(t.size)))
                if m_col is not None:
                    bit = self._deps[dep].bit(("stream", sid))
                    macc.append((deps, b, np.full(t.size, m_col), np.full(t.size, bit)))
            if r.is_gpu:
                bit = self._deps[dep].bit(("gpu", r.gpu))
                macc.append((deps, b, np.full(t.size, M_GPU), np.full(t.size, bit)))

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
        lo = min(float(r[2][0]) for r in rows)
        hi = max(float(r[2][-1]) for r in rows)
        deps = len({r[4] for r in rows if r[4] >= 0})
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
