"""Decode profiles: what one serving instance does per step, and the power it draws.

A `DecodeProfile` holds the constants of the 1/W-law model (Chen et al. 2026, arXiv 2603.17280)
in one shape for both kinds of profile:
- `paper`: the published ManualProfile (empirical H100; B200 projected from it), whose KV
  capacity is counted in token slots and whose step is tau = W_s + H x (L / L_calib) x n;
- `computed`: derived from catalog specs, capacity in bytes per GPU and a roofline step.
All methods are vectorised over batch and context (numpy broadcasting).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wattlens.physics.power import decode_activity, logistic_power, utilisation_power
from wattlens.physics.roofline import moe_expert_fraction
from wattlens.physics.stepmodel import Hardware, StepParams, Workload, decode_step

F64 = NDArray[np.float64]
ProfileKind = Literal["paper", "computed", "calibrated"]


@dataclass(frozen=True, slots=True)
class PowerProfile:
    """Logistic per-GPU power curve P(b) (1/W law Eq. 1), published or fitted to telemetry."""

    p_idle_watts: float
    p_nominal_watts: float
    x0: float  # log2 of the half-range batch
    k: float  # steepness
    source: str = ""
    rmse_watts: float | None = None
    mape_percent: float | None = None
    stderr: dict[str, float] = field(default_factory=dict)
    points: int = 0
    identifiable: bool = True  # False: the data do not determine the curve (see reasons)
    reasons: tuple[str, ...] = ()

    def watts(self, batch: ArrayLike) -> F64:
        """Power per GPU at `batch` requests running (clamped to >= 1)."""
        return logistic_power(batch, self.p_idle_watts, self.p_nominal_watts, self.k, self.x0)


@dataclass(frozen=True, slots=True)
class UtilisationPower:
    """P = TDP x (floor + dynamic x activity): the 1/W paper's first-principles power."""

    tdp_watts: float
    floor_fraction: float = 0.43
    dynamic_fraction: float = 0.43
    source: str = ""


PowerModel = PowerProfile | UtilisationPower


@dataclass(frozen=True, slots=True)
class StepModel:
    """The calibrated physics step model (`wattlens.physics.stepmodel`) bound to one instance."""

    params: StepParams
    covariance: F64
    hw: Hardware
    wl: Workload
    extra_s: float = 0.0  # time per step outside the model (assumed MoE dispatch)
    source: str = ""

    def with_params(self, params: StepParams) -> StepModel:
        """A copy with other parameters (for uncertainty draws)."""
        return replace(self, params=params)


@dataclass(frozen=True, slots=True)
class DecodeProfile:
    """Constants of one instance (TP GPUs serving one model) under one profile."""

    name: str
    kind: ProfileKind
    source: str
    quality: str  # "HIGH", "FAIR" (published ratings) or "computed"
    tp: int
    power: PowerModel
    # Step time: tau(n, L) = max(W_fixed + W_experts x f(n) + n x scan(L), n x flops / peak).
    weight_stream_s: float  # streamed every step (non-expert weights, per-layer overhead)
    scan_s_per_token: float  # one sequence reading one full-attention KV token
    expert_stream_s: float = 0.0  # reading ALL routed experts once (MoE, 'touched' mode)
    moe_experts: int = 0
    moe_top_k: int = 0
    window_scan_s_per_token: float = 0.0  # sliding-window layers' share
    flops_per_token_per_gpu: float = 0.0
    peak_flops: float = float("inf")
    # KV capacity: n_max = floor(budget / per-sequence units), per GPU (or token slots).
    kv_budget: float = 0.0
    kv_units_per_token: float = 1.0
    kv_window_units_per_token: float = 0.0
    window_tokens: int = 0
    block_tokens: int = 16
    max_slots: int = 0  # hard cap on sequences (0 = none)
    max_slots_at_calib: int = 0  # ManualProfile compute cap: max_slots x L_calib // ctx
    min_one: bool = False  # published ComputedProfile clamps n_max >= 1 even when nothing fits
    compute_bound: bool = True  # check the decode step against the tensor-core roofline
    calib_context_tokens: int = 8192
    # Prefill: "decode_steps" (ManualProfile) or "roofline" (chunk FLOPs vs step time).
    chunk_tokens: int = 512
    prefill_kind: Literal["decode_steps", "roofline"] = "decode_steps"
    prefill_flops_per_token: float = 0.0  # 2 x active params / tp
    prefill_attn_flops: float = 0.0  # 2 x layers x heads x head_dim / tp
    power_weight_stream_s: float | None = None  # published MoE power uses another W_s
    kv_bytes_per_token: float = 0.0  # instance total, full attention (informational)
    kv_bytes_per_token_per_gpu: float = 0.0
    weight_bytes_per_gpu: float = 0.0
    notes: tuple[str, ...] = ()
    step_model: StepModel | None = None  # set: step time and power come from the physics model

    def max_concurrency(self, context_tokens: ArrayLike) -> NDArray[np.int64]:
        """KV-limited sequences in flight at a context window (0: not even one fits)."""
        blk = np.asarray(self.block_tokens, dtype=np.float64)
        ctx = np.asarray(context_tokens, dtype=np.float64)
        ctx_r = np.ceil(ctx / blk) * blk
        units = self.kv_units_per_token * ctx_r
        if np.any(np.asarray(self.kv_window_units_per_token) > 0):
            win = np.ceil(np.asarray(self.window_tokens, dtype=np.float64) / blk) * blk
            units = units + self.kv_window_units_per_token * np.minimum(ctx_r, win)
        n = np.floor(self.kv_budget / units)
        cap = np.asarray(self.max_slots_at_calib, dtype=np.float64)
        if np.any(cap > 0):
            n = np.where(cap > 0, np.minimum(n, np.floor(cap * self.calib_context_tokens / ctx)), n)
        hard = np.asarray(self.max_slots, dtype=np.float64)
        if np.any(hard > 0):
            n = np.where(hard > 0, np.minimum(n, hard), n)
        if np.any(self.min_one):
            n = np.where(self.min_one, np.maximum(n, 1.0), n)
        return n.astype(np.int64)

    def _scan_s(self, mean_kv_tokens: ArrayLike) -> F64:
        tokens = np.asarray(mean_kv_tokens, dtype=np.float64)
        scan = self.scan_s_per_token * tokens
        if np.any(np.asarray(self.window_scan_s_per_token) > 0):
            held = np.minimum(tokens, np.asarray(self.window_tokens, dtype=np.float64))
            scan = scan + self.window_scan_s_per_token * held
        return scan

    def _weights_s(self, batch: F64, fixed_s: ArrayLike) -> F64:
        fixed = np.asarray(fixed_s, dtype=np.float64)  # a float, or an array when stacked
        if not np.any(np.asarray(self.expert_stream_s) > 0):
            return fixed + 0.0 * batch
        frac = moe_expert_fraction(batch, self.moe_experts, self.moe_top_k)
        return fixed + self.expert_stream_s * frac

    def step_time_s(self, batch: ArrayLike, mean_kv_tokens: ArrayLike) -> F64:
        """Decode step time (s) with `batch` sequences of `mean_kv_tokens` KV each."""
        n = np.maximum(np.asarray(batch, dtype=np.float64), 0.0)
        if self.step_model is not None:
            sm = self.step_model
            return decode_step(
                sm.params, sm.hw, sm.wl, n, mean_kv_tokens, extra_s=sm.extra_s
            ).step_s
        memory = self._weights_s(n, self.weight_stream_s) + n * self._scan_s(mean_kv_tokens)
        if not np.any(self.compute_bound) or not np.any(self.flops_per_token_per_gpu):
            return memory
        compute = n * (self.flops_per_token_per_gpu / self.peak_flops)
        return np.where(self.compute_bound, np.maximum(memory, compute), memory)

    def power_watts(self, batch: ArrayLike, mean_kv_tokens: ArrayLike) -> F64:
        """Power of ONE GPU of the instance (W) at `batch` sequences."""
        n = np.asarray(batch, dtype=np.float64)
        if self.step_model is not None and not isinstance(self.power, PowerProfile):
            sm = self.step_model
            step = decode_step(sm.params, sm.hw, sm.wl, n, mean_kv_tokens, extra_s=sm.extra_s)
            return step.power_watts
        if isinstance(self.power, PowerProfile):
            return self.power.watts(n)
        w_s = (
            self.weight_stream_s
            if self.power_weight_stream_s is None
            else (self.power_weight_stream_s)
        )
        scan = self._scan_s(mean_kv_tokens)
        tau = self._weights_s(np.maximum(n, 1.0), w_s) + n * scan
        activity = decode_activity(n, tau, scan, self.flops_per_token_per_gpu, self.peak_flops)
        return utilisation_power(
            activity, self.power.tdp_watts, self.power.floor_fraction, self.power.dynamic_fraction
        )

    def prefill_time_s(
        self, prompt_tokens: ArrayLike, batch: ArrayLike, mean_kv_tokens: ArrayLike
    ) -> F64:
        """Time to prefill one prompt in chunks while `batch` sequences decode alongside."""
        l_in = np.asarray(prompt_tokens, dtype=np.float64)
        chunks = np.ceil(l_in / self.chunk_tokens)
        step = self.step_time_s(batch, mean_kv_tokens)
        if self.prefill_kind == "decode_steps":
            return chunks * step
        c = float(self.chunk_tokens)
        flops = self.prefill_flops_per_token * c + 2.0 * self.prefill_attn_flops * c * (
            c / 2.0 + l_in / 2.0
        )
        return chunks * np.maximum(step, flops / self.peak_flops)

    def with_power(self, power: PowerModel) -> DecodeProfile:
        """A copy with another power model (e.g. one fitted by `plan.calibrate`)."""
        return replace(self, power=power, power_weight_stream_s=None)


def stack_profiles(profiles: list[DecodeProfile], ndim: int = 3) -> DecodeProfile:
    """One profile whose numeric fields are arrays of shape (P, 1, ..., 1) (`ndim` axes).

    Evaluating it broadcasts over profiles on axis 0 (e.g. contexts on axis 1, batches on 2).
    All profiles must share one power model type.
    """
    if not profiles:
        raise ValueError("stack_profiles: no profiles")
    kinds = {type(p.power) for p in profiles}
    if len(kinds) != 1 or any(p.power_weight_stream_s is not None for p in profiles):
        raise ValueError("stack_profiles: profiles must share a power model type")
    if any(p.step_model is not None for p in profiles):
        raise ValueError("stack_profiles: calibrated profiles evaluate through physics.stepmodel")
    shape = (len(profiles),) + (1,) * (ndim - 1)

    def col(values: list) -> np.ndarray:
        return np.asarray(values).reshape(shape)

    out: dict = {}
    for name in DecodeProfile.__dataclass_fields__:
        vals = [getattr(p, name) for p in profiles]
        if name == "power":
            power_type = type(vals[0])
            fields_ = [f for f in power_type.__dataclass_fields__ if f not in ("source", "stderr")]
            power_kw = {f: col([getattr(v, f) for v in vals]) for f in fields_}
            out[name] = power_type(**power_kw)
        elif name in ("power_weight_stream_s", "step_model"):
            out[name] = None
        elif isinstance(vals[0], int | float | bool) and not isinstance(vals[0], str):
            out[name] = col(vals)
        else:
            out[name] = vals[0]
    return DecodeProfile(**out)


__all__ = [
    "DecodeProfile",
    "PowerModel",
    "PowerProfile",
    "ProfileKind",
    "StepModel",
    "UtilisationPower",
    "stack_profiles",
]
