"""A deployment with planted step-model parameters at steady load: the emulator's physics.

The emulator and the planner share one model of decode step time and power
(`physics.stepmodel`). Given generated tokens per second G, the requests running b follow
Little's law over the decode phase: each output token of a request takes one step, so

    b = G x tau(max(b, 1))

where tau is the step time with b sequences decoding and their share of chunked prefill
(prompt tokens per output token x b prompt tokens per step). Below one running request the GPU
is busy a share b of the time at batch 1 and idle otherwise, so the power at zero load is the
planted idle exactly and rises continuously into the step model's power at b >= 1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wattlens.catalog import find_model, get_gpu
from wattlens.core.errors import CatalogError, InputError
from wattlens.physics.kv import default_kv_dtype, dtype_bytes
from wattlens.physics.stepmodel import (
    PARAM_NAMES,
    Hardware,
    StepParams,
    Workload,
    decode_step,
    default_params,
)
from wattlens.physics.stepspec import hardware, workload

F64 = NDArray[np.float64]
MAX_RUNNING = 1 << 20  # requests running when the load exceeds what the instance can serve
_BISECTIONS = 64


@dataclass(frozen=True, slots=True)
class Planted:
    """Planted parameters and the model's view of one deployment (per GPU)."""

    params: StepParams
    hw: Hardware
    wl: Workload
    mean_kv_tokens: float  # prompt per request + output per request / 2
    prompt_per_output: float  # prompt tokens per output token


def plant(
    model: str | None,
    gpu: str,
    gpu_count: int,
    *,
    dtype: str | None,
    overrides: tuple[tuple[str, float], ...],
    idle_watts: float,
    peak_watts: float,
    prompt_fraction: float,
    output_tokens_per_request: float,
) -> Planted:
    """The shipped default parameters with `overrides`, for `model` on `gpu_count` x `gpu`.

    The GPU's bandwidth and FLOPS come from the catalog; its idle and TDP are the planted
    `idle_watts` and `peak_watts`. TP is the GPU count. Raises InputError naming the field.
    """
    m = find_model(model) if model else None
    if m is None:
        raise InputError(
            f"model {model!r}: the step power curve needs a catalog model id (e.g. llama-3.1-8b)",
            field="model",
        )
    try:
        g = get_gpu(gpu)
    except CatalogError as e:
        raise InputError(f"gpu {gpu!r}: {e}", field="gpu") from e
    unknown = [k for k, _ in overrides if k not in PARAM_NAMES]
    if unknown:
        raise InputError(
            f"step parameter(s) {', '.join(unknown)}: expected {', '.join(PARAM_NAMES)}",
            field=f"step_{unknown[0]}",
        )
    params = replace(default_params()[0], **dict(overrides)).check()
    d = dtype or m.default_dtype
    try:
        spec = hardware(g, d)
        wl = workload(m, gpu_count, d, dtype_bytes(default_kv_dtype(d)))
    except InputError as e:
        raise InputError(str(e), field="dtype") from e
    hw = Hardware(spec.bandwidth_bytes_per_s, spec.peak_flops, peak_watts, idle_watts)
    ppo = prompt_fraction / (1.0 - prompt_fraction)
    kv = output_tokens_per_request * ppo + output_tokens_per_request / 2.0
    return Planted(params, hw, wl, kv, ppo)


def steady_state(p: Planted, generation_tokens_per_s: ArrayLike) -> tuple[F64, F64, F64]:
    """(requests running, seconds per output token, power per GPU W) at each load.

    Solves b = G tau(max(b, 1)) by bisection (tau grows with b, so the root is unique where it
    exists); a load beyond the instance's capacity gives MAX_RUNNING requests running.
    """
    g = np.maximum(np.asarray(generation_tokens_per_s, dtype=np.float64), 0.0)

    def step(b: F64) -> tuple[F64, F64]:
        n = np.maximum(b, 1.0)
        s = decode_step(
            p.params,
            p.hw,
            p.wl,
            n,
            p.mean_kv_tokens,
            prefill_tokens_per_step=n * p.prompt_per_output,
        )
        return s.step_s, s.power_watts

    lo, hi = np.zeros_like(g), np.full_like(g, float(MAX_RUNNING))
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        below = mid < g * step(mid)[0]  # the root lies above mid
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    running = np.where(g > 0, 0.5 * (lo + hi), 0.0)
    tau, watts = step(running)
    idle = np.asarray(p.hw.idle_watts, dtype=np.float64)
    busy = np.minimum(running, 1.0)
    return running, tau, idle + busy * (watts - idle)


__all__ = ["MAX_RUNNING", "Planted", "plant", "steady_state"]
