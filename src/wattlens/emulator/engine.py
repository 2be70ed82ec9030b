"""A request-driven emulated inference engine: continuous batching timed by the physics core.

Each engine step decodes one token for every running request and prefills the prompts of the
requests admitted in that step (chunked prefill). Its duration and per-GPU power come from
`physics.stepmodel.decode_step` with planted `StepParams` (the same model `plan calibrate`
fits), so a benchmark against the engine measures a known truth. Power is piecewise constant:
the step's power while a step runs, the GPU's idle power otherwise, so the energy counter is an
exact integral (`EnergyMeter`) at every instant.

The clock is injected (`Clock`): real time by default, `ScaledClock(speed)` to run faster.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from bisect import bisect_right
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from wattlens.catalog import find_model, get_gpu
from wattlens.catalog.specs import GpuSpec, ModelSpec
from wattlens.core.errors import CatalogError, InputError
from wattlens.emulator.steplog import StepLog
from wattlens.physics.kv import default_kv_dtype, dtype_bytes
from wattlens.physics.stepmodel import (
    Hardware,
    StepParams,
    Workload,
    decode_step,
    default_params,
)
from wattlens.physics.stepspec import hardware, workload


class Clock(Protocol):
    """A time source: seconds (epoch-like) and a sleep until a time on the same scale."""

    def now(self) -> float: ...

    async def sleep_until(self, t: float) -> None: ...


class ScaledClock:
    """Epoch seconds running `speed` times faster than the wall clock (1 = real time)."""

    def __init__(self, speed: float = 1.0) -> None:
        if not speed > 0:
            raise InputError(f"speed {speed!r}: expected a positive factor", field="speed")
        self.speed = float(speed)
        self._t0 = time.time()
        self._p0 = time.perf_counter()

    def now(self) -> float:
        """Emulated epoch seconds."""
        return self._t0 + (time.perf_counter() - self._p0) * self.speed

    async def sleep_until(self, t: float) -> None:
        """Sleep (wall time) until emulated time `t`."""
        await asyncio.sleep(max(0.0, (t - self.now()) / self.speed))


class EnergyMeter:
    """Exact energy of piecewise-constant power: a counter readable at any instant."""

    def __init__(self, start_s: float, power_watts: float) -> None:
        self._t = start_s
        self._e = 0.0
        self._p = power_watts
        self._read_s = start_s
        self._times: list[float] = [start_s]
        self._segments: list[tuple[float, float]] = [(0.0, power_watts)]  # (energy, power)

    def set_power(self, t: float, power_watts: float) -> None:
        """From time `t` on, draw `power_watts` (t never goes back)."""
        t = max(t, self._t, self._read_s)  # never rewrite what a reader has already seen
        self._e += self._p * (t - self._t)
        self._t, self._p = t, power_watts
        self._times.append(t)
        self._segments.append((self._e, power_watts))

    def energy_joules(self, t: float) -> float:
        """Energy since the meter started, at time `t` (>= the last change)."""
        self._read_s = max(self._read_s, t)
        return self._e + self._p * max(0.0, t - self._t)

    def energy_at(self, t: float) -> float:
        """Energy at any time `t` since start, from the recorded segments."""
        i = bisect_right(self._times, t) - 1
        if i < 0:
            return 0.0
        e0, p = self._segments[i]
        return e0 + p * (t - self._times[i])

    @property
    def power_watts(self) -> float:
        """Power drawn now."""
        return self._p


def planted_params(pairs: list[str]) -> StepParams:
    """The shipped step-model parameters with `NAME=VALUE` overrides (checked against bounds)."""
    values = default_params()[0].as_dict()
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or name.strip() not in values:
            raise InputError(
                f"param {pair!r}: expected NAME=VALUE with NAME one of {', '.join(values)}",
                field="param",
            )
        try:
            values[name.strip()] = float(text)
        except ValueError as e:
            raise InputError(f"param {pair!r}: {text!r} is not a number", field="param") from e
    return StepParams(**values).check()


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """What is emulated: a model on `count` GPUs (one tensor-parallel instance)."""

    model: ModelSpec
    gpu: GpuSpec
    count: int
    dtype: str
    params: StepParams
    hw: Hardware
    wl: Workload
    served_name: str
    max_num_seqs: int = 256

    @classmethod
    def build(
        cls,
        model: str,
        gpu: str,
        count: int = 1,
        *,
        dtype: str | None = None,
        params: StepParams | None = None,
        served_name: str | None = None,
        max_num_seqs: int = 256,
    ) -> EngineSpec:
        """Resolve catalog names; the planted parameters default to the shipped ones."""
        m = find_model(model)
        if m is None:
            raise InputError(f"model {model!r} is not in the catalog", field="model")
        try:
            g = get_gpu(gpu)
        except CatalogError as e:
            raise InputError(str(e), field="gpu") from e
        if count < 1:
            raise InputError(f"count {count}: expected at least 1 GPU", field="count")
        if max_num_seqs < 1:
            raise InputError(f"max_num_seqs {max_num_seqs}: expected at least 1",
                             field="max_num_seqs")  # fmt: skip
        d = dtype or m.default_dtype
        p = (params or default_params()[0]).check()
        wl = workload(m, count, d, dtype_bytes(default_kv_dtype(d)))
        return cls(m, g, count, d, p, hardware(g, d), wl, served_name or m.id, max_num_seqs)


@dataclass(frozen=True, slots=True)
class TokenEvent:
    """One generated token of a request (`first` for the first, `last` for the final one)."""

    index: int
    time_s: float
    first: bool
    last: bool


@dataclass(slots=True)
class _Request:
    prompt_tokens: int
    max_tokens: int
    arrival_s: float
    queue: asyncio.Queue[TokenEvent] = field(default_factory=asyncio.Queue)
    generated: int = 0


# vLLM's `vllm:iteration_tokens_total` buckets (tokens per engine step; vllm/engine/metrics.py
# and the example in vLLM's docs/source/serving/metrics.md).
ITERATION_BUCKETS = (1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384)


@dataclass(slots=True)
class Counters:
    """Engine counters since start (vLLM's names without the prefix)."""

    prompt_tokens: float = 0.0
    generation_tokens: float = 0.0
    requests_finished: float = 0.0
    itl_seconds_sum: float = 0.0
    ttft_seconds_sum: float = 0.0
    steps: int = 0
    iteration_tokens_sum: float = 0.0  # prompt + generation tokens over all steps
    # Steps with at most ITERATION_BUCKETS[i] tokens (cumulative, as vLLM's histogram).
    iteration_buckets: list[int] = field(default_factory=lambda: [0] * len(ITERATION_BUCKETS))


class Engine:
    """The emulated engine: submit requests, stream their tokens; read counters and energy."""

    def __init__(self, spec: EngineSpec, clock: Clock | None = None) -> None:
        self.spec = spec
        self.clock: Clock = clock or ScaledClock()
        self.start_s = self.clock.now()
        self.idle_watts = float(spec.gpu.idle_watts)
        self.meter = EnergyMeter(self.start_s, self.idle_watts)  # per GPU (TP: all alike)
        self.counters = Counters()
        self.log = StepLog()
        self._waiting: deque[_Request] = deque()
        self._running: list[_Request] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._valid_until_s: float | None = None  # None: idle, the state holds for any time

    def state_time(self) -> float:
        """The instant the engine's counters describe (what `/metrics` reports): while a step
        runs, the step boundary it started at; when idle, the clock.

        vLLM's token and step counters move only when a step ends, so a scrape is one
        consistent state when the energy counter is read at that same boundary: energy,
        tokens and steps between two scrapes then cover the same whole steps. (A real exporter
        reads the GPU counter at its own times: up to one step's energy off at each end of a
        window, which only long windows make negligible.) Holding the boundary also keeps a
        late event loop from showing a step's end before its tokens are out."""
        now = self.clock.now()
        return now if self._valid_until_s is None else min(now, self._valid_until_s)

    @property
    def running(self) -> int:
        """Requests in the batch."""
        return len(self._running)

    @property
    def waiting(self) -> int:
        """Requests queued for a batch slot."""
        return len(self._waiting)

    @property
    def kv_tokens(self) -> int:
        """Tokens of KV cache the running requests hold."""
        return sum(r.prompt_tokens + r.generated for r in self._running)

    def energy_joules_per_gpu(self, t: float | None = None) -> float:
        """Each GPU's energy since the engine started (exact)."""
        return self.meter.energy_joules(self.clock.now() if t is None else t)

    async def generate(self, prompt_tokens: int, max_tokens: int) -> AsyncIterator[TokenEvent]:
        """Queue a request and yield its tokens as the engine produces them."""
        if max_tokens < 1:
            raise InputError(f"max_tokens {max_tokens}: expected at least 1", field="max_tokens")
        req = _Request(max(prompt_tokens, 1), max_tokens, self.clock.now())
        self._waiting.append(req)
        self._ensure_running()
        self._wake.set()
        while True:
            ev = await req.queue.get()
            yield ev
            if ev.last:
                return

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def close(self) -> None:
        """Stop the step loop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        spec = self.spec
        t_next: float | None = None  # back-to-back steps while there is work (virtual schedule)
        while True:
            if not self._running and not self._waiting:
                self._wake.clear()
                await self._wake.wait()
                t_next = None
            t0 = self.clock.now() if t_next is None else t_next
            prefill = 0
            while self._waiting and len(self._running) < spec.max_num_seqs:
                req = self._waiting.popleft()
                self._running.append(req)
                prefill += req.prompt_tokens
            batch = self._running
            n = len(batch)
            kv = sum(r.prompt_tokens + r.generated for r in batch) / n
            step = decode_step(
                spec.params, spec.hw, spec.wl, n, kv, prefill_tokens_per_step=prefill
            )
            tau, power = float(step.step_s), float(step.power_watts)
            self.meter.set_power(t0, power)
            t1 = t0 + tau
            self._valid_until_s = t0  # its energy and tokens show once it has ended
            await self.clock.sleep_until(t1)
            self.log.add(t0, t1, n, prefill)
            c = self.counters
            c.steps += 1
            c.iteration_tokens_sum += n + prefill
            for i, le in enumerate(ITERATION_BUCKETS):
                c.iteration_buckets[i] += n + prefill <= le
            c.prompt_tokens += prefill
            c.generation_tokens += n
            done: list[_Request] = []
            for r in batch:
                first = r.generated == 0
                r.generated += 1
                if first:
                    c.ttft_seconds_sum += t1 - r.arrival_s
                else:
                    c.itl_seconds_sum += tau
                last = r.generated >= r.max_tokens
                r.queue.put_nowait(TokenEvent(r.generated - 1, t1, first, last))
                if last:
                    done.append(r)
            if done:
                c.requests_finished += len(done)
                self._running = [r for r in batch if r.generated < r.max_tokens]
            self._valid_until_s = t1  # until the next step is scheduled
            await asyncio.sleep(0)  # let the streams write (and new requests arrive)
            if self._running or self._waiting:
                t_next = t1  # the next step starts when this one ends, whatever the wall lag
            else:
                self.meter.set_power(t1, self.idle_watts)
                self._valid_until_s = None
                t_next = None


__all__ = [
    "ITERATION_BUCKETS",
    "Clock",
    "Counters",
    "EnergyMeter",
    "Engine",
    "EngineSpec",
    "ScaledClock",
    "TokenEvent",
    "planted_params",
]
