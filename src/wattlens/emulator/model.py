"""The emulated fleet as a pure function of (scenario, start time, t), vectorised with numpy.

Rates are piecewise constant per tick (`scenario.tick_s`), so every counter is an exact sum:
the cumulative value at any instant is the sum over whole ticks plus the linear share of the
current tick. Randomness is indexed, not sequential: noise comes from one seeded table of
normals that each series reads at its own offset (tick i has the same value however it is
reached). Cumulative sums are cached per chunk of `CHUNK_TICKS` ticks.

Power per GPU (documented choice): with b = requests running (continuous, b >= 0),
    P(b) = idle + (L(1 + b) - L(1)) * (peak - idle) / (peak - L(1)),
where L is `physics.power.logistic_power` (1/W-law Eq. 1, batch clamped to >= 1) with the
deployment's idle, peak, k and x0. So P(0) = idle exactly (the planted idle truth) and
P -> peak as b grows; then a fixed per-GPU spread factor (mean 1 over the deployment's GPUs) and
a mean-1 per-tick noise factor. Running requests follow Little's law: b = gen tok/s / decode
tok/s per stream, and the inter-token latency is 1 / decode tok/s, so
rate(generation_tokens) / rate(itl_seconds_sum) recovers the planted decode speed exactly.

A deployment with `power_curve = "step"` takes step time and power from the planner's physics
core instead (`physics.stepplant`: the step model with planted parameters, Little's law solved
per tick); its ITL counter is the exact sum of the step times its tokens took.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wattlens.core.errors import InputError
from wattlens.emulator._rng import normal, stream_id, uniform
from wattlens.emulator.layout import GpuSlot, build_layout, pod_name
from wattlens.emulator.scenario import Deployment, Scenario
from wattlens.physics.power import logistic_power
from wattlens.physics.stepplant import Planted, plant, steady_state

CHUNK_TICKS = 1024
_CACHE_CHUNKS = 8
_TABLE_SIZE = 1 << 20  # noise repeats after 2**20 ticks (~61 days at 5 s)
_TABLE_MASK = _TABLE_SIZE - 1
_SECONDS_PER_DAY = 86400.0
F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Observation:
    """What the exporters show at sample times `times_s` (m,). Counters are exact floats."""

    times_s: F64
    generation: NDArray[np.int64]  # (n_dep, m) restarts so far: selects the pod name
    running: F64  # (n_dep, m) requests running (continuous; exporters round)
    waiting: F64
    kv_cache_usage: F64  # 0-1
    prompt_tokens: F64  # (n_dep, m) counters since the current pod started
    generation_tokens: F64
    requests_finished: F64
    itl_seconds_sum: F64
    dep_up: NDArray[np.bool_]  # (n_dep, m) engine endpoint reachable
    power_watts: F64  # (n_gpu, m)
    energy_millijoules: F64  # (n_gpu, m) DCGM counter value: offset since boot, resets to 0
    util_percent: F64  # (n_gpu, m)
    node_up: NDArray[np.bool_]  # (n_node, m) dcgm-exporter endpoint reachable


@lru_cache(maxsize=4)
def _noise_table(seed: int) -> F64:
    """Standard normals shared by all series; each series reads it at its own offset."""
    return normal(np.uint64(stream_id(seed, "noise-table")), np.arange(_TABLE_SIZE))


def _offsets(seed: int, kind: str, n: int) -> NDArray[np.int64]:
    u = uniform(np.uint64(stream_id(seed, "offset", kind)), np.arange(n))
    return (u * _TABLE_SIZE).astype(np.int64)


def _col(values: list[float]) -> F64:
    return np.asarray(values, dtype=np.float64)[:, None]


def _in_intervals(times: F64, intervals: list[tuple[float, float]]) -> NDArray[np.bool_]:
    out = np.zeros(times.shape, dtype=bool)
    for a, b in intervals:
        out |= (times >= a) & (times < b)
    return out


class FleetModel:
    """Deterministic state of a scenario started at `start_s` (UTC epoch seconds)."""

    def __init__(self, scenario: Scenario, start_s: float) -> None:
        self.scenario = scenario
        self.start_s = float(start_s)
        self.tick_s = float(scenario.tick_s)
        self.gpus: tuple[GpuSlot, ...] = build_layout(scenario)
        self.node_names: list[str] = [n.name for n in scenario.nodes]
        self.node_gpus: dict[str, list[int]] = {n: [] for n in self.node_names}
        for i, g in enumerate(self.gpus):
            self.node_gpus[g.node].append(i)
        deps = scenario.deployments
        seed = scenario.seed
        tr = [d.traffic for d in deps]
        self._mean = _col([0.0 if t.pattern == "idle" else t.mean_tokens_per_s for t in tr])
        self._pfrac = _col([t.prompt_fraction for t in tr])
        self._amp = _col([t.diurnal_amplitude for t in tr])
        self._peak_h = _col([t.diurnal_peak_hour_utc for t in tr])
        self._tnoise = _col([t.noise for t in tr])
        self._period = _col([t.burst_period_s for t in tr])
        self._duty = _col([t.burst_duty for t in tr])
        self._decode = _col([t.decode_tokens_per_s for t in tr])
        self._out_per_req = _col([t.output_tokens_per_request for t in tr])
        self._max_seqs = _col([float(t.max_num_seqs) for t in tr])
        self._diurnal = np.array([[t.pattern == "diurnal"] for t in tr], dtype=bool)
        self._bursty = np.array([[t.pattern == "bursty"] for t in tr], dtype=bool)
        self._s_burst = np.array([[stream_id(seed, "burst", d.key)] for d in deps], np.uint64)
        # Events, aligned to tick boundaries so counters restart exactly at a tick edge.
        self.restart_s = [
            self._aligned([r.resolve(self.start_s) for r in d.restarts]) for d in deps
        ]
        self.reset_s = [
            self._aligned([r.resolve(self.start_s) for r in d.energy_counter_resets]) for d in deps
        ]
        self._down_ticks = [
            max(1, math.ceil(d.restart_downtime_s / self.tick_s)) for d in scenario.deployments
        ]
        self.gaps_s = [
            sorted((a.resolve(self.start_s), b.resolve(self.start_s)) for a, b in d.gaps)
            for d in deps
        ]
        self.node_gaps_s = {
            n: sorted(g for d, gs in zip(deps, self.gaps_s, strict=True) if d.node == n for g in gs)
            for n in self.node_names
        }
        self._init_gpus()
        self.planted: dict[int, Planted] = {
            di: _plant(d) for di, d in enumerate(deps) if d.power.curve == "step"
        }
        self._stepped = np.array([[d.power.curve == "step"] for d in deps], dtype=bool)
        self._cs_cache: OrderedDict[int, tuple[F64, F64, F64]] = OrderedDict()
        z_dep, z_gpu = np.zeros(len(deps)), np.zeros(len(self.gpus))
        self._prefix: list[tuple[F64, F64, F64]] = [(z_dep, z_gpu, z_dep)]
        self._restart_tokens: dict[int, tuple[F64, F64]] = {}
        self._reset_energy: dict[int, F64] = {}
        self._pod_names: dict[tuple[int, int], str] = {}

    def _aligned(self, times: list[float]) -> F64:
        ticks = np.round((np.asarray(sorted(times), dtype=np.float64) - self.start_s) / self.tick_s)
        return self.start_s + ticks * self.tick_s

    def _init_gpus(self) -> None:
        deps, seed = self.scenario.deployments, self.scenario.seed
        dep = np.array([g.deployment for g in self.gpus], dtype=np.int64)
        self.gpu_deployment = dep
        power = [d.power for d in deps]
        self._idle = _col([p.idle_watts_per_gpu for p in power])
        self._peak = _col([p.peak_watts_per_gpu for p in power])
        self._k, self._x0 = _col([p.k for p in power]), _col([p.x0 for p in power])
        # Each GPU reads one row of the per-deployment curves; spare GPUs get a constant row.
        spare = np.flatnonzero(dep < 0)
        self._spare_idle = _col([self.scenario.node(self.gpus[i].node).spare_idle_watts
                                 for i in spare.tolist()])  # fmt: skip
        self._gpu_row = dep.copy()
        self._gpu_row[spare] = len(deps) + np.arange(spare.size)
        self._pnoise = _col([deps[i].power.noise if i >= 0 else 0.02 for i in dep.tolist()])
        spread = np.ones(len(self.gpus))
        for di, d in enumerate(deps):
            idx = np.flatnonzero(dep == di)
            z = normal(np.uint64(stream_id(seed, "spread", d.key)), np.arange(idx.size))
            s = 1.0 + d.power.gpu_spread * z
            spread[idx] = s / s.mean()  # mean exactly 1 keeps the planted idle per GPU
        self._spread = spread[:, None]
        n = len(self.gpus)
        self._off_power = _offsets(seed, "power", n)[:, None]
        self._off_util = _offsets(seed, "util", n)[:, None]
        self._off_traffic = _offsets(seed, "traffic", len(deps))[:, None]
        u = uniform(np.uint64(stream_id(seed, "energy-offset")), np.arange(n))
        self._energy_offset_mj = np.floor(1e10 + u * 1e12)  # "since boot": days to weeks

    # --- per-tick rates ----------------------------------------------------------------------

    def _active(self, ticks: NDArray[np.int64]) -> NDArray[np.bool_]:
        act = np.broadcast_to(ticks >= 0, (len(self.scenario.deployments), ticks.size)).copy()
        for di, restarts in enumerate(self.restart_s):
            for r in restarts:
                r_tick = round((r - self.start_s) / self.tick_s)
                act[di] &= (ticks < r_tick) | (ticks >= r_tick + self._down_ticks[di])
        return act

    def tick_tokens_per_s(self, ticks: ArrayLike) -> F64:
        """Total (prompt + generation) tok/s per deployment in each tick: (n_dep, n)."""
        t = np.atleast_1d(np.asarray(ticks, dtype=np.int64))
        t_mid = self.start_s + (t + 0.5) * self.tick_s
        hour = (t_mid % _SECONDS_PER_DAY) / 3600.0
        diurnal = 1.0 + self._amp * np.cos(2.0 * np.pi * (hour - self._peak_h) / 24.0)
        block = np.floor(t_mid / self._period).astype(np.int64)
        bursty = (uniform(self._s_burst, block) < self._duty) / self._duty
        shape = np.where(self._diurnal, diurnal, np.where(self._bursty, bursty, 1.0))
        sigma = self._tnoise
        z = _noise_table(self.scenario.seed)[(t[None, :] + self._off_traffic) & _TABLE_MASK]
        noise = np.exp(sigma * z - 0.5 * sigma**2)
        return self._mean * shape * noise * self._active(t)

    def load_state(self, tokens_per_s: F64) -> tuple[F64, F64, F64]:
        """(requests running, seconds per output token, power per GPU before noise), each
        (n_dep, n), for total tok/s: Little's law over the decode phase. Logistic deployments
        decode at their planted speed; step ones at the step model's (`physics.stepplant`)."""
        gen = (1.0 - self._pfrac) * tokens_per_s
        running = gen / self._decode
        itl = np.broadcast_to(1.0 / self._decode, gen.shape).copy()
        lp = logistic_power(1.0 + running, self._idle, self._peak, self._k, self._x0)
        lp1 = logistic_power(1.0, self._idle, self._peak, self._k, self._x0)
        denom = self._peak - lp1
        scale = np.divide(self._peak - self._idle, denom, out=np.zeros_like(denom), where=denom > 0)
        curve = self._idle + (lp - lp1) * scale  # (n_dep, n): P(0) = idle exactly
        for di, p in self.planted.items():  # step deployments
            running[di], itl[di], curve[di] = steady_state(p, gen[di])
        return running, itl, curve

    def running_requests(self, tokens_per_s: F64) -> F64:
        """Requests in flight for given total tok/s (Little's law over the decode phase)."""
        return self.load_state(tokens_per_s)[0]

    def tick_power_watts(self, ticks: ArrayLike, curve: F64 | None = None) -> F64:
        """Power per GPU in each tick: (n_gpu, n), GPUs in `self.gpus` order; `curve` is the
        per-deployment power before noise (`load_state`), computed when not given."""
        t = np.atleast_1d(np.asarray(ticks, dtype=np.int64))
        if curve is None:
            curve = self.load_state(self.tick_tokens_per_s(t))[2]
        rows = np.concatenate(
            [curve, np.broadcast_to(self._spare_idle, (self._spare_idle.size, t.size))]
        )
        z = _noise_table(self.scenario.seed)[(t[None, :] + self._off_power) & _TABLE_MASK]
        p = rows[self._gpu_row] * self._spread * (1.0 + self._pnoise * z)
        return np.maximum(p, 0.0)

    # --- exact cumulative sums ---------------------------------------------------------------

    def _chunk(self, c: int) -> tuple[F64, F64, F64]:
        hit = self._cs_cache.get(c)
        if hit is not None:
            self._cs_cache.move_to_end(c)
            return hit
        ticks = np.arange(c * CHUNK_TICKS, (c + 1) * CHUNK_TICKS, dtype=np.int64)
        rate = self.tick_tokens_per_s(ticks)
        _, itl, curve = self.load_state(rate)
        power = self.tick_power_watts(ticks, curve)
        out = []
        for per_tick in (rate, power, (1.0 - self._pfrac) * rate * itl):
            cs = np.zeros((per_tick.shape[0], CHUNK_TICKS + 1))
            np.cumsum(per_tick * self.tick_s, axis=1, out=cs[:, 1:])
            out.append(cs)
        self._cs_cache[c] = (out[0], out[1], out[2])
        if len(self._cs_cache) > _CACHE_CHUNKS:
            self._cs_cache.popitem(last=False)
        return self._cs_cache[c]

    def _prefix_before(self, c: int) -> tuple[F64, F64, F64]:
        while len(self._prefix) <= c:
            j = len(self._prefix) - 1
            cs, base = self._chunk(j), self._prefix[j]
            self._prefix.append((base[0] + cs[0][:, -1], base[1] + cs[1][:, -1],
                                 base[2] + cs[2][:, -1]))  # fmt: skip
        return self._prefix[c]

    def cumulative(self, times_s: ArrayLike) -> tuple[F64, F64]:
        """Exact totals since the scenario start at each time.

        Returns:
            (tokens, energy_joules): (n_dep, m) prompt + generation tokens, (n_gpu, m) joules.
        """
        tok, energy, _ = self.cumulative_all(times_s)
        return tok, energy

    def cumulative_all(self, times_s: ArrayLike) -> tuple[F64, F64, F64]:
        """(tokens, energy_joules, itl_seconds): `cumulative` and the exact sum of inter-token
        latencies (seconds per output token x output tokens), (n_dep, m)."""
        t = np.atleast_1d(np.asarray(times_s, dtype=np.float64))
        x = np.maximum((t - self.start_s) / self.tick_s, 0.0)
        i = np.floor(x).astype(np.int64)
        frac = x - i
        chunk, r = np.divmod(i, CHUNK_TICKS)
        n_dep = len(self.scenario.deployments)
        out = (
            np.empty((n_dep, t.size)),
            np.empty((len(self.gpus), t.size)),
            np.empty((n_dep, t.size)),
        )
        for c in np.unique(chunk):
            sel = np.flatnonzero(chunk == c)
            rr, ff = r[sel], frac[sel]
            for o, base, cs in zip(
                out, self._prefix_before(int(c)), self._chunk(int(c)), strict=True
            ):
                o[:, sel] = base[:, None] + cs[:, rr] + ff * (cs[:, rr + 1] - cs[:, rr])
        return out

    # --- observation -------------------------------------------------------------------------

    def pod_name(self, deployment: int, generation: int) -> str:
        """Pod name of deployment index `deployment` after `generation` restarts."""
        key = (deployment, generation)
        if key not in self._pod_names:
            dep = self.scenario.deployments[deployment]
            self._pod_names[key] = pod_name(self.scenario, dep, generation)
        return self._pod_names[key]

    def generation_at(self, deployment: int, times_s: ArrayLike) -> NDArray[np.int64]:
        """Number of restarts at or before each time."""
        t = np.atleast_1d(np.asarray(times_s, dtype=np.float64))
        return np.searchsorted(self.restart_s[deployment], t, side="right").astype(np.int64)

    def _tokens_at_restarts(self, di: int) -> tuple[F64, F64]:
        """(tokens, ITL seconds) of deployment `di` at each restart."""
        if di not in self._restart_tokens:
            rs = self.restart_s[di]
            tok, _, itl = self.cumulative_all(rs) if rs.size else (np.zeros((di + 1, 0)),) * 3
            self._restart_tokens[di] = (tok[di], itl[di])
        return self._restart_tokens[di]

    def _energy_at_resets(self, di: int) -> F64:
        if di not in self._reset_energy:
            rs = self.reset_s[di]
            self._reset_energy[di] = self.cumulative(rs)[1] if rs.size else np.zeros((0, 0))
        return self._reset_energy[di]

    def observe(self, times_s: ArrayLike) -> Observation:
        """Every exposed quantity at each time in `times_s`."""
        t = np.atleast_1d(np.asarray(times_s, dtype=np.float64))
        ticks = np.floor((t - self.start_s) / self.tick_s).astype(np.int64)
        rate = self.tick_tokens_per_s(ticks)
        running, _, curve = self.load_state(rate)
        power = self.tick_power_watts(ticks, curve)
        tok, energy_j, itl_cum = self.cumulative_all(t)
        n_dep = len(self.scenario.deployments)
        generation = np.zeros((n_dep, t.size), dtype=np.int64)
        pod_tok, pod_itl = tok.copy(), itl_cum.copy()
        dep_up = np.ones((n_dep, t.size), dtype=bool)
        for di in range(n_dep):
            g = self.generation_at(di, t)
            generation[di] = g
            starts, itl_starts = self._tokens_at_restarts(di)
            if starts.size:
                pod_tok[di] -= np.where(g > 0, starts[np.maximum(g - 1, 0)], 0.0)
                pod_itl[di] -= np.where(g > 0, itl_starts[np.maximum(g - 1, 0)], 0.0)
            dep_up[di] = ~_in_intervals(t, self.gaps_s[di])
        energy_mj = self._energy_offset_mj[:, None] + energy_j * 1000.0
        for di in range(n_dep):
            if not self.reset_s[di].size:
                continue
            gi = np.flatnonzero(self.gpu_deployment == di)
            n_resets = np.searchsorted(self.reset_s[di], t, side="right")
            at_reset = self._energy_at_resets(di)[gi]  # (gpus, resets)
            after = n_resets > 0
            base = at_reset[:, np.maximum(n_resets - 1, 0)]
            energy_mj[gi] = np.where(after, (energy_j[gi] - base) * 1000.0, energy_mj[gi])
        gen = (1.0 - self._pfrac) * pod_tok
        b = np.concatenate([running, np.zeros((self._spare_idle.size, t.size))])[self._gpu_row]
        jitter = (
            1.0 + 0.05 * _noise_table(self.scenario.seed)[(ticks + self._off_util) & _TABLE_MASK]
        )
        util = np.clip(np.round(100.0 * b / (b + 1.0) * jitter), 0.0, 100.0)
        capped = np.minimum(running, self._max_seqs)
        node_up = np.array([~_in_intervals(t, self.node_gaps_s[n]) for n in self.node_names])
        return Observation(
            times_s=t,
            generation=generation,
            running=capped,
            waiting=np.maximum(running - self._max_seqs, 0.0),
            kv_cache_usage=1.0 - np.exp(-3.0 * capped / self._max_seqs),
            prompt_tokens=self._pfrac * pod_tok,
            generation_tokens=gen,
            requests_finished=gen / self._out_per_req,
            itl_seconds_sum=np.where(self._stepped, pod_itl, gen / self._decode),
            dep_up=dep_up,
            power_watts=power,
            energy_millijoules=energy_mj,
            util_percent=util,
            node_up=node_up.reshape(len(self.node_names), t.size),
        )


def _plant(d: Deployment) -> Planted:
    """Step-model physics for a `power_curve = "step"` deployment: the shipped defaults with
    its planted `step_<name>` overrides, for its catalog model on its GPUs (TP = GPU count)."""
    p, t = d.power, d.traffic
    try:
        return plant(d.model, d.gpu, d.gpu_count, dtype=p.dtype, overrides=p.step_params,
                     idle_watts=p.idle_watts_per_gpu, peak_watts=p.peak_watts_per_gpu,
                     prompt_fraction=t.prompt_fraction,
                     output_tokens_per_request=t.output_tokens_per_request)  # fmt: skip
    except InputError as e:
        raise InputError(f"deployment {d.key}: {e}", field=e.field) from e


__all__ = ["CHUNK_TICKS", "FleetModel", "Observation"]
