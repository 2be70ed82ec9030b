"""`wattlens bench`: configurations x (concurrency, max tokens[, power cap]) against one endpoint,
each measured for energy over exactly its window, after an idle baseline.

`run_bench` is the library entry (sync; Ctrl-C restores power caps). The outside world is
injected: `client` (httpx), `nvml` (the pynvml module), `prometheus` (a Prometheus-API client).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from wattlens.core.errors import BackendError, InputError
from wattlens.core.validate import finite
from wattlens.measure.dataset import Prompt, synthetic_prompt
from wattlens.measure.energy import (
    EnergySource,
    NvmlEnergy,
    PrometheusEnergy,
    Reading,
    ScrapeEnergy,
    window_energy,
)
from wattlens.measure.loadgen import EpochClock, RequestResult, check_endpoint, run_load
from wattlens.measure.powercap import PowerCaps
from wattlens.measure.results import Setting, summarise
from wattlens.telemetry.nvml import NvmlGpus

EnergyKind = Literal["emulator", "nvml", "prometheus"]
Progress = Callable[[str, int, int], None]  # (configuration label, requests done, total)


@dataclass
class BenchOptions:
    """What to run and how to measure it."""

    endpoint: str  # OpenAI base URL, e.g. http://127.0.0.1:8000/v1
    model: str
    prompts: list[Prompt] = field(default_factory=list)
    n_in: int | None = None  # synthetic prompts of n_in words
    grid: tuple[list[int], list[int]] | None = None  # (n_in values, n_out values)
    concurrency: list[int] = field(default_factory=lambda: [1])
    max_tokens: list[int | None] = field(default_factory=lambda: [None])
    requests: int | None = None  # per configuration; default rounds x concurrency
    rounds: int = 4  # requests per concurrent stream when `requests` is not given
    power_caps: list[float] = field(default_factory=list)
    energy: EnergyKind = "emulator"
    metrics_url: str | None = None  # emulator/dcgm-exporter /metrics; default: endpoint root
    energy_labels: Mapping[str, str] = field(default_factory=dict)
    prometheus_url: str | None = None
    idle_s: float = 2.0
    subtract_idle: bool = False
    sample_interval_s: float = 0.25
    min_steady_s: float = 5.0
    ignore_eos: bool = False
    history_timeout_s: float = 120.0


@dataclass
class BenchResult:
    """Rows (one per configuration) and the idle baseline."""

    rows: list[dict[str, Any]]
    idle_power_watts: float | None
    energy_source: str


@dataclass(frozen=True)
class _Config:
    setting: Setting
    prompts: list[Prompt]

    @property
    def label(self) -> str:
        s = self.setting
        parts = [f"c={s.concurrency}", f"max_tokens={s.max_tokens}"]
        if s.n_in is not None:
            parts.insert(0, f"n_in={s.n_in}")
        if s.power_cap_watts is not None:
            parts.append(f"cap={s.power_cap_watts:g}W")
        return " ".join(parts)


def check_options(opts: BenchOptions) -> None:
    """InputError naming the first option out of range (before anything runs)."""
    finite(opts.idle_s, "idle_s", lo=0.0, hi=3600.0, example="2")
    finite(opts.sample_interval_s, "sample_interval_s", lo=0.0, hi=60.0, above=True,
           example="0.25")  # fmt: skip
    finite(opts.min_steady_s, "min_steady_s", lo=0.0, example="5")
    finite(opts.history_timeout_s, "history_timeout_s", lo=0.0, above=True, example="120")
    for cap in opts.power_caps:
        finite(cap, "power_cap", lo=0.0, hi=10_000.0, above=True, example="250")


def configurations(opts: BenchOptions) -> list[_Config]:
    """Every configuration in run order (power cap outermost)."""
    check_options(opts)
    caps: list[float | None] = list(opts.power_caps) or [None]
    if any(c < 1 for c in opts.concurrency):
        raise InputError(f"concurrency {opts.concurrency}: expected positive integers",
                         field="concurrency")  # fmt: skip
    shapes: list[tuple[int | None, int | None, list[Prompt]]] = []
    if opts.grid is not None:
        shapes = [(i, o, [synthetic_prompt(i)]) for i in opts.grid[0] for o in opts.grid[1]]
    elif opts.n_in is not None:
        shapes = [(opts.n_in, m, [synthetic_prompt(opts.n_in)]) for m in opts.max_tokens]
    elif opts.prompts:
        shapes = [(None, m, opts.prompts) for m in opts.max_tokens]
    else:
        raise InputError("prompts: give a prompts file, synthetic lengths or a grid",
                         field="prompts")  # fmt: skip
    out = []
    for cap in caps:
        for n_in, mt, prompts in shapes:
            for c in opts.concurrency:
                n = opts.requests if opts.requests is not None else opts.rounds * c
                n_out = mt if opts.grid is not None or opts.n_in is not None else None
                out.append(_Config(Setting(c, mt, n, n_in, n_out, cap), prompts))
    return out


def _root(endpoint: str) -> str:
    base = endpoint.rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


def _source(opts: BenchOptions, client: httpx.AsyncClient, gpus: NvmlGpus | None,
            prometheus: Any, now: Callable[[], float]) -> EnergySource:  # fmt: skip
    if opts.energy == "emulator":
        url = opts.metrics_url or _root(opts.endpoint) + "/metrics"
        return ScrapeEnergy(client, url, labels=opts.energy_labels, now=now)
    if opts.energy == "nvml":
        if gpus is None:
            raise InputError("energy nvml needs local GPUs (NVML)", field="energy")
        return NvmlEnergy(gpus, now)
    if opts.energy == "prometheus":
        if prometheus is None:
            raise InputError("energy prometheus needs a backend URL (--prometheus)",
                             field="prometheus_url")  # fmt: skip
        return PrometheusEnergy(prometheus, opts.energy_labels)
    raise InputError(f"energy {opts.energy!r}: expected nvml, prometheus or emulator",
                     field="energy")  # fmt: skip


async def _history(src: EnergySource, a: float, b: float, timeout_s: float) -> list[Reading]:
    """Non-live source: wait (polling) until the backend has samples past the window's end."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        readings = await src.history(a, b)
        try:
            window_energy(readings, a, b)
            return readings
        except BackendError as e:
            if loop.time() > deadline:
                raise BackendError(
                    f"energy: after {timeout_s:g} s the backend still has no counter samples "
                    f"covering the run ({e}); check the labels and that it scrapes the GPUs"
                ) from e
        await asyncio.sleep(1.0)


async def _sampler(src: EnergySource, out: list[Reading], interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        out.append(await src.read())


async def _measure(
    opts: BenchOptions, src: EnergySource, client: httpx.AsyncClient, cfg: _Config,
    now: Callable[[], float], on_request: Callable[[RequestResult], None] | None,
    stream_client: Callable[[], httpx.AsyncClient] | None = None,
) -> tuple[Any, list[Reading], tuple[float, float]]:  # fmt: skip
    s = cfg.setting
    readings: list[Reading] = []
    if src.live:
        readings.append(await src.read())
    task = (
        asyncio.create_task(_sampler(src, readings, opts.sample_interval_s)) if src.live else None
    )
    try:
        run = await run_load(
            client, opts.endpoint, opts.model, cfg.prompts, concurrency=s.concurrency,
            requests=s.requests, max_tokens=s.max_tokens, ignore_eos=opts.ignore_eos,
            on_done=on_request, now=now, stream_client=stream_client,
        )  # fmt: skip
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if src.live:
        readings.append(await src.read())
        readings.sort(key=lambda r: r.time_s)
        return run, readings, (readings[0].time_s, readings[-1].time_s)
    hist = await _history(src, run.start_s, run.end_s, opts.history_timeout_s)
    return run, hist, (run.start_s, run.end_s)


async def _idle(opts: BenchOptions, src: EnergySource, now: Callable[[], float]) -> float | None:
    if opts.idle_s <= 0:
        return None
    a = await src.read() if src.live else None
    t0 = now()
    await asyncio.sleep(opts.idle_s)  # the baseline is this long a quiet spell
    if a is not None:
        b = await src.read()
        return window_energy([a, b], a.time_s, b.time_s).energy_joules / (b.time_s - a.time_s)
    t1 = now()
    hist = await _history(src, t0, t1, opts.history_timeout_s)
    return window_energy(hist, t0, t1).energy_joules / (t1 - t0)


async def _run(
    opts: BenchOptions, client: httpx.AsyncClient, gpus: NvmlGpus | None, prometheus: Any,
    caps: PowerCaps | None, progress: Progress | None, now: Callable[[], float],
    stream_client: Callable[[], httpx.AsyncClient] | None = None,
) -> BenchResult:  # fmt: skip
    await check_endpoint(client, opts.endpoint)
    src = _source(opts, client, gpus, prometheus, now)
    configs = configurations(opts)
    idle = await _idle(opts, src, now)
    rows: list[dict[str, Any]] = []
    for cfg in configs:
        if caps is not None and cfg.setting.power_cap_watts is not None:
            caps.apply(cfg.setting.power_cap_watts)
        done = 0

        def tick(
            r: RequestResult, label: str = cfg.label, total: int = cfg.setting.requests
        ) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(label, done, total)

        run, readings, measured = await _measure(opts, src, client, cfg, now, tick, stream_client)
        if not any(r.ok for r in run.results):
            raise BackendError(
                f"endpoint {opts.endpoint}: every request of {cfg.label} failed; first: "
                f"{run.results[0].error if run.results else 'none sent'}"
            )
        gpu_count = len({g for r in readings for g in r.energy_joules})
        rows.append(summarise(
            cfg.setting, run, readings, measured=measured, idle_power_watts=idle,
            subtract_idle=opts.subtract_idle, gpu_count=max(gpu_count, 1),
            energy_source=src.name, sample_interval_s=opts.sample_interval_s,
            min_steady_s=opts.min_steady_s,
        ))  # fmt: skip
    return BenchResult(rows, idle, src.name)


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield None


def run_bench(
    opts: BenchOptions,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    nvml: Any = None,
    prometheus: Any = None,
    progress: Progress | None = None,
    now: Callable[[], float] | None = None,
) -> BenchResult:
    """Run every configuration; power caps (NVML) are restored on any exit, Ctrl-C included."""
    clock = now or EpochClock()
    configurations(opts)  # every option checked before NVML or the network is touched
    need_nvml = opts.energy == "nvml" or bool(opts.power_caps)
    gpus = NvmlGpus(nvml) if need_nvml else None
    if prometheus is None and opts.energy == "prometheus" and opts.prometheus_url:
        from wattlens.telemetry.promapi import PrometheusClient

        prometheus = PrometheusClient(opts.prometheus_url)
    try:
        with PowerCaps(gpus) if (gpus and opts.power_caps) else _nothing() as caps:

            async def main() -> BenchResult:
                limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
                timeout = httpx.Timeout(600.0, connect=5.0)

                ssl_context = httpx.create_ssl_context()  # once: loading CAs costs ~40 ms
                one = httpx.Limits(max_connections=1, max_keepalive_connections=1)

                def stream_client() -> httpx.AsyncClient:
                    return httpx.AsyncClient(transport=transport, limits=one, timeout=timeout,
                                             verify=ssl_context, trust_env=False)  # fmt: skip

                async with httpx.AsyncClient(
                    transport=transport, limits=limits, timeout=timeout
                ) as client:
                    return await _run(opts, client, gpus, prometheus, caps, progress, clock,
                                      stream_client)  # fmt: skip

            return asyncio.run(main())
    finally:
        if gpus is not None:
            gpus.close()


__all__ = ["BenchOptions", "BenchResult", "EnergyKind", "configurations", "run_bench"]
