"""One configuration's results: energy, rates, latency percentiles, steady window and flags.

Per-token energy is over the measured window (first request sent to last answer); the steady
columns repeat it over the ML.ENERGY steady window (concurrency reached -> drain starts), which
is what `plan calibrate --bench` fits (`steady_batch`, `steady_joules_per_output_token`,
`steady_power_watts_per_gpu`, `steady_prompt_per_output`). The steady batch is the engine's
generated tokens per step where the scraped endpoint exposes a step counter, else a time
average of requests running (`_steady`). Flags: `window_too_short` (steady window
missing or under `min_steady_s`), `power_samples_missing` (fewer than 2 readings inside it or a
gap over 3 sampling intervals), `counter_wrapped` (an energy counter went down), `errors`
(failed requests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from wattlens.measure.energy import Reading, window_energy
from wattlens.measure.loadgen import LoadRun

PERCENTILES = (50, 90, 99)
CORE_COLUMNS = (
    "concurrency", "max_tokens", "n_in", "n_out", "power_cap_watts", "requests", "errors",
    "output_tokens", "prompt_tokens", "words", "duration_s", "energy_joules", "power_watts",
    "idle_power_watts", "energy_joules_above_idle", "idle_subtracted", "joules_per_output_token",
    "joules_per_token", "joules_per_response", "tokens_per_s", "words_per_s", "responses_per_s",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Setting:
    """What one configuration ran."""

    concurrency: int
    max_tokens: int | None
    requests: int
    n_in: int | None = None
    n_out: int | None = None
    power_cap_watts: float | None = None


def _pct(values: Sequence[float], name: str) -> dict[str, float]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return {f"{name}_p{p}_s": float("nan") for p in PERCENTILES} | {f"{name}_mean_s": np.nan}
    out = {f"{name}_p{p}_s": float(np.percentile(arr, p)) for p in PERCENTILES}
    out[f"{name}_mean_s"] = float(arr.mean())
    return out


def _in_flight_mean(run: LoadRun, a: float, b: float) -> float:
    """Time-weighted mean number of requests in flight over [a, b]."""
    if b <= a:
        return float("nan")
    busy = sum(max(0.0, min(r.end_s, b) - max(r.sent_s, a)) for r in run.results)
    return busy / (b - a)


def summarise(
    setting: Setting,
    run: LoadRun,
    readings: Sequence[Reading],
    *,
    measured: tuple[float, float],
    idle_power_watts: float | None,
    subtract_idle: bool,
    gpu_count: int,
    energy_source: str,
    sample_interval_s: float,
    min_steady_s: float = 5.0,
) -> dict[str, Any]:
    """The result row of one configuration."""
    ok = [r for r in run.results if r.ok]
    a, b = measured
    win = window_energy(readings, a, b)
    out_tok = sum(r.output_tokens for r in ok)
    in_tok = sum(r.prompt_tokens or 0 for r in ok)
    words = sum(r.words for r in ok)
    dur = win.duration_s
    idle_e = (idle_power_watts or 0.0) * dur
    above = win.energy_joules - idle_e if idle_power_watts is not None else float("nan")
    e = above if subtract_idle and idle_power_watts is not None else win.energy_joules

    def per(x: float) -> float:
        return e / x if x > 0 else float("nan")

    mem = [r.memory_used_bytes for r in readings if r.memory_used_bytes is not None]
    row: dict[str, Any] = {
        "concurrency": setting.concurrency, "max_tokens": setting.max_tokens,
        "n_in": setting.n_in, "n_out": setting.n_out, "power_cap_watts": setting.power_cap_watts,
        "requests": len(run.results), "errors": len(run.results) - len(ok),
        "output_tokens": out_tok, "prompt_tokens": in_tok, "words": words,
        "window_start_s": a, "window_end_s": b, "duration_s": dur,
        "energy_joules": win.energy_joules, "power_watts": win.energy_joules / dur,
        "idle_power_watts": idle_power_watts, "energy_joules_above_idle": above,
        "idle_subtracted": subtract_idle, "joules_per_output_token": per(out_tok),
        "joules_per_token": per(out_tok + in_tok), "joules_per_response": per(len(ok)),
        "tokens_per_s": out_tok / dur, "total_tokens_per_s": (out_tok + in_tok) / dur,
        "words_per_s": words / dur, "responses_per_s": len(ok) / dur,
        "gpu_count": gpu_count, "power_watts_per_gpu": win.energy_joules / dur / gpu_count,
        "gpu_memory_used_bytes": max(mem) if mem else None, "energy_source": energy_source,
    }  # fmt: skip
    row |= _pct([r.ttft_s for r in ok if r.ttft_s is not None], "ttft")
    row |= _pct([x for r in ok for x in r.itl_s()], "itl")
    row |= _pct([r.e2e_s for r in ok], "e2e")
    row |= _steady(run, readings, ok, win.wrapped, gpu_count, sample_interval_s, min_steady_s)
    n_req = len(ok) or 1
    row["mean_kv_tokens"] = in_tok / n_req + out_tok / n_req / 2.0
    row["prompt_per_output"] = in_tok / out_tok if out_tok else float("nan")
    row["step_s"] = row["itl_p50_s"]
    return row


@dataclass(frozen=True, slots=True)
class _Counted:
    """The engine's counters between its first and last scrape inside a window."""

    start_s: float
    end_s: float
    steps: float
    generation_tokens: float
    prompt_tokens: float | None


def _counted(readings: Sequence[Reading], a: float, b: float) -> _Counted | None:
    # Scrapes of an idle engine are left out: the client's first send and last answer bracket
    # the engine's work by a network round trip, idle time the step model does not hold.
    inside = [r for r in readings if a <= r.time_s <= b and r.steps is not None
              and r.generation_tokens is not None and r.running != 0]  # fmt: skip
    if len(inside) < 2:
        return None
    first, last = inside[0], inside[-1]
    steps = float(last.steps or 0.0) - float(first.steps or 0.0)
    gen = float(last.generation_tokens or 0.0) - float(first.generation_tokens or 0.0)
    if steps <= 0 or gen <= 0:  # no step in between, or a counter reset
        return None
    prompt = None
    if first.prompt_tokens is not None and last.prompt_tokens is not None:
        prompt = max(last.prompt_tokens - first.prompt_tokens, 0.0)
    return _Counted(first.time_s, last.time_s, steps, gen, prompt)


def _steady(
    run: LoadRun, readings: Sequence[Reading], ok: list[Any], wrapped: bool, gpu_count: int,
    interval_s: float, min_steady_s: float,
) -> dict[str, Any]:  # fmt: skip
    """The steady window's observation for `plan calibrate --bench`.

    The step model's batch is the sequences one step decodes. Where the engine exposes a step
    counter (vLLM's `iteration_tokens_total`), the window shrinks to its first and last scrape
    inside the steady window, and tokens, steps and prompt tokens are the engine's counters
    there, read in the same scrapes as the energy: batch = tokens / steps exactly, whatever the
    scrape times. Without one, the batch is the mean `num_requests_running` gauge, else the
    client's mean requests in flight: time averages that count the hole a finished request
    leaves until its successor is admitted and scrape at uneven times, so they run low.
    """
    flags: list[str] = []
    if wrapped:
        flags.append("counter_wrapped")
    if len(ok) < len(run.results):
        flags.append("errors")
    a, b = run.steady_start_s, run.steady_end_s
    nan = float("nan")
    counted = _counted(readings, a, b) if a is not None and b is not None else None
    if counted is not None:
        a, b = counted.start_s, counted.end_s
    out: dict[str, Any] = {"steady_start_s": a, "steady_end_s": b}
    if a is None or b is None or b <= a:
        flags.append("window_too_short")
        out |= {"steady_duration_s": 0.0, "steady_energy_joules": nan, "steady_output_tokens": 0,
                "steady_batch": nan, "steady_power_watts": nan, "steady_power_watts_per_gpu": nan,
                "steady_joules_per_output_token": nan, "steady_tokens_per_s": nan,
                "steady_prompt_per_output": nan}  # fmt: skip
        return out | {"valid": False, "flags": ";".join(flags)}
    win = window_energy(readings, a, b)
    times = sorted(r.time_s for r in readings if a <= r.time_s <= b)
    edges = [a, *times, b]
    if win.duration_s < min_steady_s:
        flags.append("window_too_short")
    if len(times) < 2 or max(np.diff(edges)) > 3 * interval_s:
        flags.append("power_samples_missing")
    ppo = nan
    if counted is not None:
        tokens = counted.generation_tokens
        batch, source = tokens / counted.steps, "engine_steps"
        if counted.prompt_tokens is not None:
            ppo = counted.prompt_tokens / tokens
    else:
        chunk_tokens = sum(1 for r in ok for t in r.chunk_times_s if a <= t < b)
        # Chunks may carry several tokens: scale chunk counts to the usage totals.
        chunks = sum(len(r.chunk_times_s) for r in ok)
        tokens = chunk_tokens * (sum(r.output_tokens for r in ok) / chunks) if chunks else 0.0
        running = [r.running for r in readings if a < r.time_s < b and r.running is not None]
        batch, source = (
            (float(np.mean(running)), "engine") if len(running) >= 3
            else (_in_flight_mean(run, a, b), "client")
        )  # fmt: skip
    power = win.energy_joules / win.duration_s
    out |= {
        "steady_duration_s": win.duration_s, "steady_energy_joules": win.energy_joules,
        "steady_output_tokens": tokens, "steady_batch": batch, "steady_batch_source": source,
        "steady_prompt_per_output": ppo,
        "steady_power_watts": power, "steady_power_watts_per_gpu": power / gpu_count,
        "steady_joules_per_output_token": win.energy_joules / tokens if tokens else nan,
        "steady_tokens_per_s": tokens / win.duration_s,
    }  # fmt: skip
    return out | {"valid": not flags, "flags": ";".join(flags)}


__all__ = ["CORE_COLUMNS", "PERCENTILES", "Setting", "summarise"]
