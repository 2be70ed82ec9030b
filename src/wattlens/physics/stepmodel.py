"""The one calibrated model of decode step time and GPU power (issue #9), vectorised.

Per decode step of `n` sequences holding `L` tokens of KV each, on one GPU of a TP instance:

    t_mem  = (W_fixed + W_experts x f(n)) / (eta_w q BW) + n x kv(L) / (eta_kv BW)
    t_comp = n x (2 active / tp) / (eta_c q FLOPS)
    t_over = layers x (c_layer + c_allreduce [tp > 1]) + moe_layers x c_moe
    tau    = t_mem + t_comp + t_over                      (phases of a step do not overlap)
    P      = clip(idle + (TDP - idle) x (p_floor + p_mem t_mem/tau + p_comp t_comp/tau),
                  idle, TDP)

q = eta_quant for weights stored in under 2 bytes (FP8, 4-bit: dequantisation and block scales
cost time in both the weight stream and the GEMMs; ML.ENERGY's FP8 runs are slower than the
halved bytes alone predict), else 1. Power is per phase: each phase of the step draws its own
share of the range above idle, so an overhead-bound step (launches, all-reduce waits, host
work) stays near idle and a compute-bound one near TDP; idle and TDP come from the specs.

f(n) = 1 - (1 - k/E)^(r n) is the share of routed experts a batch touches, r = route_spread the
independent draws per token relative to uniform routing (r < 1: tokens of a batch pick
correlated experts, so fewer distinct experts are read than uniform routing predicts); kv(L)
counts full-attention layers for all L tokens and sliding-window layers for at most the window.
Prefill of a prompt costs `prefill_s_per_token` per prompt token (tensor-core bound).
Energy per output token is always physical: tp x P x (time per step) / n.

The parameters (`StepParams`) are fitted on ML.ENERGY H100 measurements (Chung et al., The
ML.ENERGY Benchmark, NeurIPS Datasets and Benchmarks 2025) and shipped with their covariance in
`wattlens/catalog/stepmodel.toml`; `wattlens plan calibrate` refits them from telemetry. The
hardware enters only through its specs (bandwidth, FLOPS, TDP, idle), which is what lets the
H100 fit predict another generation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wattlens.catalog.stepmodel import step_model_defaults
from wattlens.core.errors import InputError
from wattlens.physics.roofline import moe_expert_fraction

F64 = NDArray[np.float64]

# Order of the parameter vector (and of the shipped covariance matrix).
PARAM_NAMES: tuple[str, ...] = (
    "eta_weights",
    "eta_kv",
    "eta_compute_dense",
    "eta_compute_moe",
    "c_layer_us",
    "c_allreduce_us",
    "c_moe_us",
    "p_floor",
    "p_mem",
    "p_comp",
    "eta_quant",
    "route_spread",
)
# Physical bounds: efficiencies are fractions of a datasheet peak; overheads are non-negative
# and below 1 ms per layer; power fractions of the idle-to-TDP range are in [0, 1] (phase
# slopes up to 3, the clip at TDP bounds the sum).
LOWER: tuple[float, ...] = (0.2, 0.2, 0.02, 0.02, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1, 0.01)
UPPER: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1000.0, 1000.0, 1000.0, 1.0, 3.0, 3.0, 1.0, 4.0)


@dataclass(frozen=True, slots=True)
class StepParams:
    """Calibrated constants of the step-time and power model (hardware-independent)."""

    eta_weights: float  # achieved share of peak bandwidth streaming weights
    eta_kv: float  # achieved share of peak bandwidth reading the KV cache
    eta_compute_dense: float  # achieved share of peak tensor FLOPS, dense layers
    eta_compute_moe: float  # achieved share of peak tensor FLOPS, MoE models
    c_layer_us: float  # fixed cost per layer per step (kernel launches, norms), microseconds
    c_allreduce_us: float  # tensor-parallel all-reduce cost per layer per step (tp > 1)
    c_moe_us: float  # routing/dispatch cost per MoE layer per step
    p_floor: float  # power above idle during the overhead phase, fraction of TDP - idle
    p_mem: float  # added power while streaming memory, fraction of TDP - idle
    p_comp: float  # added power while in tensor-core GEMMs, fraction of TDP - idle
    eta_quant: float = 1.0  # efficiency factor for weights under 2 bytes (dequantisation)
    route_spread: float = 1.0  # distinct-expert draws per token relative to uniform routing

    def vector(self) -> F64:
        """The parameters in PARAM_NAMES order."""
        return np.asarray([getattr(self, n) for n in PARAM_NAMES], dtype=np.float64)

    @classmethod
    def from_vector(cls, x: ArrayLike) -> StepParams:
        """Parameters from a vector in PARAM_NAMES order."""
        v = np.asarray(x, dtype=np.float64).ravel()
        if v.size != len(PARAM_NAMES):
            raise InputError(f"step model: {v.size} parameters, expected {len(PARAM_NAMES)}")
        return cls(**{n: float(x_) for n, x_ in zip(PARAM_NAMES, v, strict=True)})

    def as_dict(self) -> dict[str, float]:
        """Name -> value."""
        return asdict(self)

    def check(self) -> StepParams:
        """self, or InputError naming the first parameter outside its physical bounds."""
        for name, lo, hi in zip(PARAM_NAMES, LOWER, UPPER, strict=True):
            value = getattr(self, name)
            if not (lo <= value <= hi) or not np.isfinite(value):
                raise InputError(
                    f"step model parameter {name} = {value!r}: expected {lo:g}..{hi:g}", field=name
                )
        if self.p_floor + max(self.p_mem, self.p_comp) > 1.5:
            raise InputError(
                "step model power fractions p_floor + max(p_mem, p_comp) exceed 1.5 x the "
                "idle-to-TDP range; the clip at TDP would hide most of the curve",
                field="p_comp",
            )
        return self


@dataclass(frozen=True, slots=True)
class Hardware:
    """What the model needs of a GPU (per GPU; arrays broadcast)."""

    bandwidth_bytes_per_s: ArrayLike
    peak_flops: ArrayLike  # tensor-core rate at the weight dtype (FP8 for 1-byte weights)
    tdp_watts: ArrayLike
    idle_watts: ArrayLike


@dataclass(frozen=True, slots=True)
class Workload:
    """What the model needs of a served model at one TP degree (per GPU; arrays broadcast)."""

    tp: ArrayLike
    weight_fixed_bytes: ArrayLike  # streamed every step (non-expert weights)
    weight_expert_bytes: ArrayLike  # all routed experts (MoE); 0 for dense
    experts: ArrayLike
    top_k: ArrayLike
    kv_full_bytes_per_token: ArrayLike  # full-attention layers
    kv_window_bytes_per_token: ArrayLike  # sliding-window layers
    window_tokens: ArrayLike
    layers: ArrayLike
    moe_layers: ArrayLike  # layers if MoE else 0
    flops_per_token: ArrayLike  # 2 x active params / tp
    weight_bytes_per_param: ArrayLike = 2.0  # 2 bf16/fp16, 1 fp8/int8, 0.5 4-bit

    def take(self, index: NDArray[np.intp]) -> Workload:
        """Rows `index` of a workload whose fields are 1-D arrays."""
        return replace(
            self, **{f.name: np.asarray(getattr(self, f.name))[index] for f in fields(self)}
        )


def _f(x: ArrayLike) -> F64:
    return np.asarray(x, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Step:
    """One evaluation: time components (s) and power per GPU (W), arrays."""

    step_s: F64
    memory_s: F64
    compute_s: F64
    overhead_s: F64
    power_watts: F64


def decode_step(
    params: StepParams,
    hw: Hardware,
    wl: Workload,
    batch: ArrayLike,
    mean_kv_tokens: ArrayLike,
    *,
    prefill_tokens_per_step: ArrayLike = 0.0,
    extra_s: ArrayLike = 0.0,
) -> Step:
    """Step time and per-GPU power for `batch` sequences of `mean_kv_tokens` KV each.

    `prefill_tokens_per_step` adds prompt tokens prefilled in the same step (chunked prefill);
    `extra_s` adds a time outside the model (e.g. an assumed MoE dispatch), spent at the
    floor power.
    """
    n = np.maximum(_f(batch), 0.0)
    bw, peak = _f(hw.bandwidth_bytes_per_s), _f(hw.peak_flops)
    moe = _f(wl.experts) > 0
    frac = np.where(
        moe,
        moe_expert_fraction(np.maximum(n * params.route_spread, 1.0), wl.experts, wl.top_k),
        0.0,
    )
    w_bytes = _f(wl.weight_fixed_bytes) + _f(wl.weight_expert_bytes) * frac
    kv_len = _f(mean_kv_tokens)
    kv_bytes = n * (
        _f(wl.kv_full_bytes_per_token) * kv_len
        + _f(wl.kv_window_bytes_per_token) * np.minimum(kv_len, _f(wl.window_tokens))
    )
    flops = (n + _f(prefill_tokens_per_step)) * _f(wl.flops_per_token)
    eta_c = np.where(moe, params.eta_compute_moe, params.eta_compute_dense)
    q = np.where(_f(wl.weight_bytes_per_param) < 2.0, params.eta_quant, 1.0)
    eta_c = eta_c * q
    t_mem = w_bytes / (params.eta_weights * q * bw) + kv_bytes / (params.eta_kv * bw)
    t_comp = flops / (eta_c * peak)
    t_over = (
        _f(wl.layers) * (params.c_layer_us + params.c_allreduce_us * (_f(wl.tp) > 1))
        + _f(wl.moe_layers) * params.c_moe_us
    ) * 1e-6 + _f(extra_s)
    tau = t_mem + t_comp + t_over
    idle, tdp = _f(hw.idle_watts), _f(hw.tdp_watts)
    # Each phase draws its own power above idle; the overhead phase (launches, all-reduce
    # waits, host work) draws p_floor, so an overhead-bound step stays near idle.
    f_mem, f_comp = t_mem / tau, t_comp / tau
    power = idle + (tdp - idle) * (params.p_floor + params.p_mem * f_mem + params.p_comp * f_comp)
    power = np.clip(power, idle, tdp)
    return Step(tau, t_mem, t_comp, t_over, power)


def prefill_s_per_token(params: StepParams, hw: Hardware, wl: Workload) -> F64:
    """Seconds of one GPU's time to prefill one prompt token (tensor-core bound)."""
    eta_c = np.where(_f(wl.experts) > 0, params.eta_compute_moe, params.eta_compute_dense)
    q = np.where(_f(wl.weight_bytes_per_param) < 2.0, params.eta_quant, 1.0)
    return _f(wl.flops_per_token) / (eta_c * q * _f(hw.peak_flops))


def joules_per_output_token(
    params: StepParams,
    hw: Hardware,
    wl: Workload,
    batch: ArrayLike,
    mean_kv_tokens: ArrayLike,
    *,
    prompt_per_output: ArrayLike = 0.0,
) -> tuple[F64, Step]:
    """(J per output token of the whole instance, the decode step) at a steady batch.

    `prompt_per_output` is prompt tokens prefilled per output token (0: decode only, as the 1/W
    paper counts). J/token = tp x P x (tau + prefill time per step) / n; always physical.
    """
    n = np.maximum(_f(batch), 1e-9)
    pf = n * _f(prompt_per_output)
    step = decode_step(params, hw, wl, n, mean_kv_tokens, prefill_tokens_per_step=pf)
    return _f(wl.tp) * step.power_watts * step.step_s / n, step


def default_params() -> tuple[StepParams, F64]:
    """(parameters, covariance in PARAM_NAMES order) shipped in catalog/stepmodel.toml."""
    data = step_model_defaults()
    order = list(data["param_order"])
    idx = [order.index(n) for n in PARAM_NAMES]
    cov = np.asarray(data["covariance"], dtype=np.float64)[np.ix_(idx, idx)]
    return StepParams(**{n: float(data["params"][n]) for n in PARAM_NAMES}).check(), cov


__all__ = [
    "LOWER",
    "PARAM_NAMES",
    "UPPER",
    "Hardware",
    "Step",
    "StepParams",
    "Workload",
    "decode_step",
    "default_params",
    "joules_per_output_token",
    "prefill_s_per_token",
]
