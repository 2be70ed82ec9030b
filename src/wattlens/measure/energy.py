"""Energy over a measured window: GPU energy counters read live or from a Prometheus backend.

Every source gives `Reading`s: a time and each GPU's cumulative energy counter (J), plus power
and memory where known. The energy over [a, b] is the counter's increase between the two
instants, each GPU's counter interpolated linearly between readings and made monotone first
(a decrease is a counter reset or wrap: flagged, and the new value counts from zero).

- `ScrapeEnergy`: a dcgm-exporter-format `/metrics` (the emulator's, or a node's
  dcgm-exporter), optionally filtered by labels; the emulator's own clock when it exposes one.
- `NvmlEnergy`: local GPUs through NVML's total-energy counter (`telemetry.nvml`).
- `PrometheusEnergy`: `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION` of a remote deployment, named by
  labels, read after the run from a Prometheus-API backend (resolution: its scrape interval).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import numpy as np

from wattlens.core.errors import BackendError, InputError
from wattlens.telemetry.nvml import ENERGY_METRIC, MEMORY_METRIC, POWER_METRIC, NvmlGpus

CLOCK_METRIC = "wattlens_emulator_clock_seconds"
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
RUNNING_METRICS = ("vllm:num_requests_running", "sglang:num_running_reqs")
# vLLM's engine steps (the count of its tokens-per-step histogram) and generated tokens: their
# ratio over a window is the mean batch of the steps that ran in it.
STEPS_METRIC = "vllm:iteration_tokens_total_count"
GENERATION_METRIC = "vllm:generation_tokens_total"
PROMPT_METRIC = "vllm:prompt_tokens_total"
_ENGINE = (*RUNNING_METRICS, STEPS_METRIC, GENERATION_METRIC, PROMPT_METRIC)
_WANTED = tuple(n + c for n in (ENERGY_METRIC, POWER_METRIC, MEMORY_METRIC, CLOCK_METRIC,
                                *_ENGINE) for c in ("{", " "))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Reading:
    """Each GPU's cumulative energy (J) at `time_s`, by GPU id; power (W) and memory if known."""

    time_s: float
    energy_joules: Mapping[str, float]
    power_watts: float | None = None
    memory_used_bytes: float | None = None
    running: float | None = None  # engine's requests running (vLLM/SGLang gauge), if exposed
    steps: float | None = None  # engine steps so far (vLLM), if exposed
    generation_tokens: float | None = None  # engine's generated tokens so far, if exposed
    prompt_tokens: float | None = None  # engine's prefilled prompt tokens so far, if exposed


class EnergySource(Protocol):
    """Where energy readings come from."""

    name: str
    live: bool  # readings are taken during the run (else fetched afterwards by `history`)

    async def read(self) -> Reading: ...

    async def history(self, start_s: float, end_s: float) -> list[Reading]: ...


@dataclass(frozen=True, slots=True)
class Window:
    """Energy over one window, with what makes it questionable."""

    energy_joules: float
    duration_s: float
    wrapped: bool
    samples_inside: int


def _monotone(v: np.ndarray) -> tuple[np.ndarray, bool]:
    d = np.diff(v)
    wrapped = bool((d < 0).any())
    inc = np.where(d >= 0, d, v[1:])  # after a reset the counter restarts from zero
    return np.concatenate([[0.0], np.cumsum(inc)]), wrapped


def window_energy(readings: Sequence[Reading], start_s: float, end_s: float) -> Window:
    """Increase of the summed counters over [start_s, end_s] (interpolated per GPU)."""
    rs = sorted(readings, key=lambda r: r.time_s)
    gpus = sorted({g for r in rs for g in r.energy_joules})
    if not gpus or len(rs) < 2:
        raise BackendError("energy: fewer than two counter readings; nothing to difference")
    total, wrapped = 0.0, False
    for g in gpus:
        pts = [(r.time_s, r.energy_joules[g]) for r in rs if g in r.energy_joules]
        t = np.asarray([p[0] for p in pts])
        c, w = _monotone(np.asarray([p[1] for p in pts]))
        wrapped |= w
        if t[0] > start_s + 1e-6 or t[-1] < end_s - 1e-6:
            raise BackendError(
                f"energy: GPU {g} has no readings around {start_s:.3f}..{end_s:.3f} "
                f"(readings {t[0]:.3f}..{t[-1]:.3f}); the counter does not cover the window"
            )
        total += float(np.interp(end_s, t, c) - np.interp(start_s, t, c))
    inside = sum(1 for r in rs if start_s < r.time_s < end_s)
    return Window(total, end_s - start_s, wrapped, inside)


def _parse_dcgm(
    text: str, labels: Mapping[str, str]
) -> tuple[dict[str, float], float, float, float | None, dict[str, float]]:
    energy: dict[str, float] = {}
    engine: dict[str, float] = {}
    power, memory, clock = 0.0, 0.0, None
    # Only the few lines read here are parsed, by hand: prometheus_client's parser costs ~25 ms
    # per exposition on the event loop that is timestamping the streams.
    for line in text.splitlines():
        if not line.startswith(_WANTED):
            continue
        name, _, rest = line.partition("{")
        if rest:
            label_text, _, value_text = rest.rpartition("}")
            lab = {k: v.replace('\\"', '"') for k, v in _LABEL.findall(label_text)}
        else:
            name, _, value_text = line.partition(" ")
            lab = {}
        try:
            value = float(value_text.split()[0])
        except (ValueError, IndexError) as e:
            raise BackendError(f"energy: malformed exposition line {line!r}") from e
        if name in _ENGINE:  # engine series carry engine labels, not the GPU's
            key = "running" if name in RUNNING_METRICS else name
            engine[key] = engine.get(key, 0.0) + value
            continue
        if any(lab.get(k) != v for k, v in labels.items()):
            continue
        gpu = lab.get("UUID") or lab.get("gpu") or "0"
        if name == ENERGY_METRIC:
            energy[gpu] = value / 1000.0  # mJ -> J
        elif name == POWER_METRIC:
            power += value
        elif name == MEMORY_METRIC:
            memory += value * 2**20
        elif name == CLOCK_METRIC:
            clock = value
    return energy, power, memory, clock, engine


class ScrapeEnergy:
    """The energy counter of a dcgm-exporter-format `/metrics` endpoint, read live."""

    live = True

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        labels: Mapping[str, str] | None = None,
        name: str = "emulator",
        now: Any = None,
    ) -> None:
        self.client, self.url, self.labels, self.name = client, url, dict(labels or {}), name
        self._now = now

    async def read(self) -> Reading:
        """One scrape."""
        t0 = self._now() if self._now else 0.0
        try:
            resp = await self.client.get(self.url, timeout=10.0)
            resp.raise_for_status()
        except httpx.HTTPError as e:
            raise BackendError(f"energy source {self.url}: {type(e).__name__}: {e}") from e
        t1 = self._now() if self._now else 0.0
        energy, power, memory, clock, engine = _parse_dcgm(resp.text, self.labels)
        if not energy:
            raise BackendError(
                f"energy source {self.url}: no {ENERGY_METRIC} series"
                + (f" with labels {self.labels}" if self.labels else "")
            )
        t = clock if clock is not None else (t0 + t1) / 2
        return Reading(t, energy, power, memory, engine.get("running"), engine.get(STEPS_METRIC),
                       engine.get(GENERATION_METRIC), engine.get(PROMPT_METRIC))  # fmt: skip

    async def history(self, start_s: float, end_s: float) -> list[Reading]:
        """Live source: nothing to fetch afterwards."""
        return []


class NvmlEnergy:
    """Local GPUs' NVML total-energy counters (read in a worker thread)."""

    name = "nvml"
    live = True

    def __init__(self, gpus: NvmlGpus, now: Any) -> None:
        self.gpus, self._now = gpus, now

    def _read(self) -> Reading:
        t0 = self._now()
        mj = self.gpus.energy_millijoules()
        t1 = self._now()
        power = sum(self.gpus.power_watts())
        mem = float(sum(self.gpus.memory_used_bytes()))
        ids = [g.uuid for g in self.gpus.gpus]
        return Reading((t0 + t1) / 2, {u: v / 1000.0 for u, v in zip(ids, mj, strict=True)},
                       power, mem)  # fmt: skip

    async def read(self) -> Reading:
        """One reading of every GPU."""
        return await asyncio.to_thread(self._read)

    async def history(self, start_s: float, end_s: float) -> list[Reading]:
        """Live source: nothing to fetch afterwards."""
        return []


class PrometheusEnergy:
    """DCGM energy counters of the GPUs matching `labels`, from a Prometheus-API backend."""

    name = "prometheus"
    live = False

    def __init__(self, client: Any, labels: Mapping[str, str], *, margin_s: float = 60.0) -> None:
        if not labels:
            raise InputError(
                "energy_labels: name the deployment's GPUs by labels, e.g. "
                "namespace=llm,pod=vllm-0 (else every GPU the backend knows is summed)",
                field="energy_labels",
            )
        self.client, self.labels, self.margin_s = client, dict(labels), margin_s

    async def read(self) -> Reading:
        """Not live: readings come from `history`."""
        raise BackendError("the Prometheus energy source is read after the run (history)")

    async def history(self, start_s: float, end_s: float) -> list[Reading]:
        """Raw counter samples from `margin_s` before to `margin_s` after the window."""
        from wattlens.telemetry.promapi import selector

        sel = selector(ENERGY_METRIC, **self.labels)
        ss = await asyncio.to_thread(
            self.client.raw, sel, start_s - self.margin_s, end_s + self.margin_s
        )
        out: list[Reading] = []
        for key, (t, v) in ss.series.items():
            gpu = key.label("UUID") or key.label("gpu") or str(key.labels)
            out += [
                Reading(float(ti), {gpu: float(vi) / 1000.0}) for ti, vi in zip(t, v, strict=True)
            ]
        return out  # empty or short: the caller polls until the window is covered


__all__ = [
    "CLOCK_METRIC",
    "GENERATION_METRIC",
    "PROMPT_METRIC",
    "STEPS_METRIC",
    "EnergySource",
    "NvmlEnergy",
    "PrometheusEnergy",
    "Reading",
    "ScrapeEnergy",
    "Window",
    "window_energy",
]
