"""The default planning profile: KV capacity from catalog specs, step time and power from the
calibrated physics model (`wattlens.physics.stepmodel`) with the shipped ML.ENERGY H100
parameters or a user's own (`plan calibrate`), and uncertainty bands from their covariance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from wattlens.catalog.specs import GpuSpec, ModelSpec
from wattlens.physics.kv import default_kv_dtype, dtype_bytes
from wattlens.physics.stepmodel import StepParams
from wattlens.physics.stepspec import hardware, workload
from wattlens.plan.build import computed_profile, resolve
from wattlens.plan.options import MoeStreaming
from wattlens.plan.profiles import DecodeProfile, StepModel
from wattlens.plan.stepfit import band
from wattlens.plan.stepprofile import StepProfile, default_profile

F64 = NDArray[np.float64]
BAND_DRAWS = 200


def calibrated_profile(
    model: str | ModelSpec,
    gpu: str | GpuSpec,
    *,
    tp: int = 1,
    dtype: str | None = None,
    kv_dtype: str | None = None,
    calibration: StepProfile | None = None,
    moe_streaming: MoeStreaming = "touched",
    moe_dispatch_s: float = 0.0,
    mem_util: float | None = None,
    max_num_seqs: int = 0,
) -> DecodeProfile:
    """The computed profile's capacity with the calibrated step time and power."""
    m, g = resolve(model, gpu)
    dtype = dtype or m.default_dtype
    base = computed_profile(
        m, g, tp=tp, dtype=dtype, kv_dtype=kv_dtype, moe_streaming=moe_streaming,
        moe_dispatch_s=moe_dispatch_s, mem_util=mem_util, max_num_seqs=max_num_seqs,
    )  # fmt: skip
    cal = calibration or default_profile()
    kvb = dtype_bytes(kv_dtype or default_kv_dtype(dtype))
    wl = workload(m, base.tp, dtype, kvb)
    if m.is_moe and moe_streaming == "active":
        wl = replace(wl, weight_fixed_bytes=m.active_params * dtype_bytes(dtype) / base.tp,
                     weight_expert_bytes=0.0)  # fmt: skip
    sm = StepModel(
        params=cal.params, covariance=cal.covariance, hw=hardware(g, dtype), wl=wl,
        extra_s=moe_dispatch_s, source=cal.source,
    )  # fmt: skip
    note = (
        f"step time and power: calibrated physics model ({cal.source}; {cal.date}); power "
        f"held within [idle {g.idle_watts:.0f} W, TDP {g.tdp_watts:.0f} W] per GPU"
    )
    if not cal.identifiable:
        note += "; calibration marked identifiable: false (" + "; ".join(cal.reasons) + ")"
    return replace(
        base,
        name=f"calibrated:{m.id}/{g.id}/TP{base.tp}/{dtype}",
        kind="calibrated",
        source=cal.source,
        quality="calibrated",
        step_model=sm,
        notes=(*base.notes, note),
    )


def uncertainty_band(
    prof: DecodeProfile,
    evaluate: Callable[[DecodeProfile], Any],
    *,
    draws: int = BAND_DRAWS,
) -> tuple[F64, F64] | None:
    """5-95 % band of `evaluate(profile)` over parameter draws; None without a step model."""
    sm = prof.step_model
    if sm is None:
        return None

    def one(p: StepParams) -> Any:
        return evaluate(replace(prof, step_model=sm.with_params(p)))

    return band(sm.params, sm.covariance, one, draws=draws)


__all__ = ["BAND_DRAWS", "calibrated_profile", "uncertainty_band"]
