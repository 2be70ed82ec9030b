"""Right-sizing: the fewest GPUs that hold a model, and the power that would save.

Memory per GPU at tensor-parallel size n (vLLM's layout):
    weights at the served dtype / n
  + KV cache for the observed peak concurrency (p99 of requests running, at least 1) x an assumed
    context, in PagedAttention blocks, with KV heads split over the n GPUs (physics.kv)
  + activation and CUDA-graph overhead, and NCCL buffers when n > 1
must fit in gpu_memory_utilization (0.90) x the GPU's memory; the other 10 % is the runtime
headroom vLLM itself leaves. n runs over powers of two that divide the attention heads.

Embedding models and rerankers (catalog arch `pooling_model`) generate nothing, so no KV cache
grows in decode: an encoder (BERT, XLM-R; `encoder_only`) is sized with no KV cache at all, a
decoder-based one (e5-mistral, Qwen3-Reranker) with the KV of its concurrent prompts only.

Projection: the marginal (above-idle) power is the same work on fewer GPUs, so
    P_new = P_measured - (n_now - n_new) x idle W per GPU;  J/token_new = P_new / tok/s.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, TypedDict

import numpy as np

from wattlens.analysis.data import Series
from wattlens.analysis.options import AnalysisOptions
from wattlens.catalog import ModelMatch, find_model, get_gpu, model_arch
from wattlens.catalog.naming import dtype_from_name
from wattlens.catalog.specs import GpuSpec, ModelSpec
from wattlens.core.errors import CatalogError
from wattlens.core.units import SECONDS_PER_DAY, kwh_from_joules
from wattlens.physics.kv import (
    default_kv_dtype,
    dtype_bytes,
    kv_bytes_per_sequence,
    model_kv_bytes_per_token,
)

RightSizeStatus = Literal["oversized", "right_sized", "idle", "does_not_fit", "unknown_model"]
_HOURS_PER_YEAR = 8760.0
_SMALLER = ("fp8", "int4")
_RAW_MAX_INTERVAL_S = 120.0  # longer intervals are rollup buckets


def served_dtype(model: ModelSpec, served_name: str | None) -> tuple[str, str]:
    """(weight dtype, where it came from): a name hint like '-FP8', else the catalog default."""
    hinted = dtype_from_name(served_name)
    if hinted:
        return hinted, f"served name {served_name!r}"
    return model.default_dtype, f"catalog default for {model.id}"


def tp_sizes(model: ModelSpec, max_gpus: int = 64) -> list[int]:
    """Powers of two up to `max_gpus` that divide the model's attention heads."""
    return [n for n in (2**i for i in range(7)) if n <= max_gpus and model.attention_heads % n == 0]


def memory_per_gpu_bytes(
    model: ModelSpec, tp: int, dtype: str, concurrency: int, options: AnalysisOptions
) -> dict[str, float]:
    """Bytes one GPU needs at TP `tp`: weights, KV, overhead and their sum (`total`)."""
    weights = model.total_params * dtype_bytes(dtype) / tp
    kv_b = dtype_bytes(default_kv_dtype(dtype))
    arch = _arch(model)
    if arch.get("encoder_only"):  # bidirectional, recomputed per request: no KV cache at all
        overhead = options.activation_overhead_bytes + (options.nccl_bytes_tp_gt1 if tp > 1 else 0)
        return {"weights": weights, "kv": 0.0, "kv_per_token": 0.0, "overhead": overhead,
                "total": weights + overhead}  # fmt: skip
    full_layers = int(arch.get("full_attention_layers", model.layers))
    ctx = min(options.context_tokens, model.max_context_tokens or options.context_tokens)
    full = model_kv_bytes_per_token(model, kv_b, tp=tp, per_gpu=True, layers=full_layers)
    window_layers = model.layers - full_layers if model.sliding_window > 0 else 0
    window = (
        model_kv_bytes_per_token(model, kv_b, tp=tp, per_gpu=True, layers=window_layers)
        if window_layers
        else 0.0
    )
    per_seq = float(
        kv_bytes_per_sequence(
            ctx,
            full,
            window_bytes_per_token=window,
            window_tokens=model.sliding_window if window_layers else 0,
            block_tokens=options.block_tokens,
        )
    )
    overhead = options.activation_overhead_bytes + (options.nccl_bytes_tp_gt1 if tp > 1 else 0.0)
    kv = per_seq * max(concurrency, 1)
    return {
        "weights": weights,
        "kv": kv,
        "kv_per_token": full + window,
        "overhead": overhead,
        "total": weights + kv + overhead,
    }


def model_kind(model: ModelSpec) -> str:
    """'generative', 'pooling_encoder' (BERT-style embedder or reranker, no KV cache) or
    'pooling_decoder' (a decoder that embeds or scores its prompt: KV for prompts only)."""
    arch = _arch(model)
    if arch.get("encoder_only"):
        return "pooling_encoder"
    return "pooling_decoder" if arch.get("pooling_model") else "generative"


_KIND_NOTE = {
    "pooling_encoder": "embedding/reranker encoder: no KV cache, weights and activations only",
    "pooling_decoder": "embedding/reranker model: KV for concurrent prompts only, no decode",
}


def _arch(model: ModelSpec) -> dict[str, int]:
    """Catalog arch facts for a catalog model; none for one from the user, the hub or a name."""
    found = find_model(model.id)
    same = found is not None and (found.layers, found.hidden_size) == (
        model.layers,
        model.hidden_size,
    )
    return model_arch(model.id) if same else {}


def capacity_per_gpu_bytes(gpu: GpuSpec, options: AnalysisOptions) -> float:
    """Memory vLLM may use on one GPU (gpu_memory_utilization x memory)."""
    return options.gpu_memory_utilization * gpu.memory_bytes


def min_gpus(
    model: ModelSpec, gpu: GpuSpec, dtype: str, concurrency: int, options: AnalysisOptions
) -> int | None:
    """Smallest TP size whose per-GPU need fits, or None if none up to 64 does."""
    cap = capacity_per_gpu_bytes(gpu, options)
    for n in tp_sizes(model):
        if memory_per_gpu_bytes(model, n, dtype, concurrency, options)["total"] <= cap:
            return n
    return None


def peak_concurrency(s: Series, quantile: float) -> int:
    """The `quantile` of requests running, rounded up, at least 1 (1 when not reported).

    On 5-minute or hourly buckets (means that smooth the peaks) the largest bucket is used.
    """
    ok = np.isfinite(s.requests_running)
    r = s.requests_running[ok]
    if r.size == 0:
        return 1
    coarse = float(np.median(s.interval_s[ok])) > _RAW_MAX_INTERVAL_S
    peak = float(r.max()) if coarse else float(np.quantile(r, quantile))
    return max(1, math.ceil(peak - 1e-9))


@dataclass(frozen=True)
class RightSizing:
    """A right-sizing verdict for one deployment."""

    status: RightSizeStatus
    flagged: bool
    gpu_type: str
    current_gpu_count: int
    recommended_gpu_count: int | None
    saving_watts: float | None
    saving_fraction: float | None
    saving_kwh_per_day: float | None
    saving_kg_co2_per_year: float | None
    current_power_watts: float | None
    projected_power_watts: float | None
    current_joules_per_token: float | None
    projected_joules_per_token: float | None
    reason: str
    assumptions: dict[str, Any] = field(default_factory=dict)
    alternatives: list[dict[str, Any]] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)  # id, source, matched_by (#10)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return asdict(self)


class _Common(TypedDict):
    """The `RightSizing` fields every verdict sets from the measurement."""

    gpu_type: str
    current_gpu_count: int
    current_power_watts: float | None
    current_joules_per_token: float | None
    assumptions: dict[str, Any]
    model: dict[str, Any]


class _Nulls(TypedDict):
    """The `RightSizing` fields an idle or does-not-fit verdict leaves unknown."""

    saving_watts: None
    saving_fraction: None
    saving_kwh_per_day: None
    saving_kg_co2_per_year: None
    projected_power_watts: None
    projected_joules_per_token: None


def _dtype_that_fits(
    model: ModelSpec, gpu: GpuSpec, n_now: int, dtype: str, conc: int, options: AnalysisOptions
) -> tuple[str, bool]:
    need = min_gpus(model, gpu, dtype, conc, options)
    if need is not None and need <= n_now:
        return dtype, False
    for smaller in _SMALLER:
        if dtype_bytes(smaller) < dtype_bytes(dtype):
            need = min_gpus(model, gpu, smaller, conc, options)
            if need is not None and need <= n_now:
                return smaller, True
    return dtype, False


def right_size(
    s: Series,
    model: ModelSpec,
    gpu_type: str,
    served_name: str | None,
    idle_watts_per_gpu: float,
    options: AnalysisOptions,
    *,
    match: ModelMatch | None = None,
) -> RightSizing:
    """Verdict for one deployment (status, recommended GPUs, saving, reason, assumptions).

    With `match` (how the model was resolved) the verdict names the model entry and its
    source; a model estimated from its name is sized with its weights raised by the estimate's
    uncertainty, so the recommendation errs towards more GPUs.
    """
    named = model
    if match is not None and match.estimated:
        model = replace(model, total_params=model.total_params * (1 + match.uncertainty_fraction))
    gpu = get_gpu(gpu_type)
    n_now = int(round(float(np.nanmedian(s.gpu_count)))) if len(s) else 0
    e_ok = np.isfinite(s.energy_joules)
    covered = float(s.interval_s[e_ok].sum())
    energy = float(s.energy_joules[e_ok].sum())
    power = energy / covered if covered > 0 else None
    t_ok = np.isfinite(s.tokens)
    rate = float(s.tokens[t_ok].sum() / s.interval_s[t_ok].sum()) if t_ok.any() else 0.0
    co2 = float(np.nansum(s.co2_grams))
    g_per_kwh = co2 / kwh_from_joules(energy) if energy > 0 else 0.0
    conc = peak_concurrency(s, options.concurrency_quantile)
    dtype, dtype_src = served_dtype(model, served_name)
    if match is not None:
        dtype, dtype_src = match.dtype, match.dtype_source
    dtype, inferred = _dtype_that_fits(model, gpu, n_now, dtype, conc, options)
    if inferred:
        dtype_src = f"inferred: the catalog dtype does not fit {n_now} GPUs, {dtype} does"
    need = min_gpus(model, gpu, dtype, conc, options)
    mem = memory_per_gpu_bytes(model, need or n_now or 1, dtype, conc, options)
    assumptions: dict[str, Any] = {
        "dtype": dtype,
        "dtype_source": dtype_src,
        "weights_bytes": model.total_params * dtype_bytes(dtype),
        "kv_bytes_per_token_per_gpu": mem["kv_per_token"],
        "peak_concurrency": conc,
        "concurrency_quantile": options.concurrency_quantile,
        "context_tokens": min(options.context_tokens, model.max_context_tokens or 10**9),
        "memory_per_gpu_bytes": mem["total"],
        "capacity_per_gpu_bytes": capacity_per_gpu_bytes(gpu, options),
        "gpu_memory_utilization": options.gpu_memory_utilization,
        "activation_overhead_bytes": options.activation_overhead_bytes,
        "tp_sizes_considered": tp_sizes(model),
        "idle_watts_per_gpu": idle_watts_per_gpu,
        "mean_tokens_per_s": rate,
        "marginal_power": "unchanged: the same tokens on fewer GPUs",
        "model_kind": model_kind(model),
        "model_source": match.source if match else "catalog",
        "model_uncertainty_fraction": match.uncertainty_fraction if match else None,
    }
    info = match.as_dict() if match else {"id": named.id, "source": "catalog"}
    jpt_now = power / rate if power and rate > options.min_tokens_per_s_for_ratio else None
    common = _Common(gpu_type=gpu.id, current_gpu_count=n_now, current_power_watts=power,
                     current_joules_per_token=jpt_now, assumptions=assumptions,
                     model=info)  # fmt: skip
    nulls = _Nulls(saving_watts=None, saving_fraction=None, saving_kwh_per_day=None,
                   saving_kg_co2_per_year=None, projected_power_watts=None,
                   projected_joules_per_token=None)  # fmt: skip
    est = (
        f" (estimated from the name: weights +{match.uncertainty_fraction:.0%} to be safe)"
        if match is not None and match.estimated
        else ""
    )
    if assumptions["model_kind"] in _KIND_NOTE:
        est += f" ({_KIND_NOTE[assumptions['model_kind']]})"
    if rate <= options.active_tokens_per_s:
        reason = f"idle: {rate:.2f} tok/s over the range; scale to zero or co-locate"
        return RightSizing("idle", False, recommended_gpu_count=0, reason=reason, **common, **nulls)
    if need is None or need > n_now:
        reason = (
            f"{named.id}{est} at {dtype} with {conc} sequences of {assumptions['context_tokens']} "
            f"tokens needs more than {n_now} {gpu.id}; the deployment serves a smaller dtype or "
            "context than assumed"
        )
        return RightSizing("does_not_fit", False, recommended_gpu_count=need, reason=reason,
                           **common, **nulls)  # fmt: skip
    saving = (n_now - need) * idle_watts_per_gpu
    projected = (power or 0.0) - saving
    frac = saving / power if power else 0.0
    flagged = need < n_now and (
        saving >= options.min_saving_watts or frac >= options.min_saving_fraction
    )
    gib = mem["total"] / 2**30
    if flagged:
        reason = (
            f"{named.id}{est} ({dtype}) fits on {need} {gpu.id} ({gib:.1f} GiB per GPU for "
            f"{conc} x {assumptions['context_tokens']}-token sequences); {n_now - need} GPUs "
            f"idle at {idle_watts_per_gpu:.0f} W each"
        )
    elif need < n_now:
        reason = f"could drop to {need} GPUs, but the saving ({saving:.0f} W) is under threshold"
    else:
        reason = f"needs {need} GPUs at {dtype} for the observed load ({gib:.1f} GiB per GPU)"
    alts = [_alternative(a, model, dtype, conc, power, n_now, idle_watts_per_gpu, options)
            for a in options.alternative_gpu_types if a != gpu.id]  # fmt: skip
    return RightSizing(
        status="oversized" if flagged else "right_sized",
        flagged=flagged,
        recommended_gpu_count=need,
        saving_watts=saving,
        saving_fraction=frac,
        saving_kwh_per_day=kwh_from_joules(saving * SECONDS_PER_DAY),
        saving_kg_co2_per_year=saving * _HOURS_PER_YEAR / 1000.0 * g_per_kwh / 1000.0,
        projected_power_watts=projected,
        projected_joules_per_token=projected / rate if jpt_now is not None else None,
        reason=reason,
        alternatives=[a for a in alts if a is not None],
        **common,
    )


def unknown_model(gpu_type: str | None, gpu_count: int, reason: str) -> RightSizing:
    """The verdict for a deployment whose model cannot be resolved: no sizing, and why."""
    return RightSizing(
        status="unknown_model", flagged=False, gpu_type=gpu_type or "", current_gpu_count=gpu_count,
        recommended_gpu_count=None, saving_watts=None, saving_fraction=None,
        saving_kwh_per_day=None, saving_kg_co2_per_year=None, current_power_watts=None,
        projected_power_watts=None, current_joules_per_token=None,
        projected_joules_per_token=None, reason=reason, model={"id": None, "source": None},
    )  # fmt: skip


def _alternative(
    gpu_type: str,
    model: ModelSpec,
    dtype: str,
    conc: int,
    power: float | None,
    n_now: int,
    idle_now: float,
    options: AnalysisOptions,
) -> dict[str, Any] | None:
    """Another catalog GPU: GPUs needed and projected power (catalog idle; marginal unchanged)."""
    try:
        gpu = get_gpu(gpu_type)
    except CatalogError:
        return None
    need = min_gpus(model, gpu, dtype, conc, options)
    if need is None or power is None:
        return {"gpu_type": gpu.id, "gpu_count": need, "projected_power_watts": None}
    projected = power - n_now * idle_now + need * gpu.idle_watts
    return {"gpu_type": gpu.id, "gpu_count": need, "projected_power_watts": projected,
            "idle_watts_source": "catalog"}  # fmt: skip


__all__ = [
    "RightSizeStatus",
    "RightSizing",
    "capacity_per_gpu_bytes",
    "memory_per_gpu_bytes",
    "min_gpus",
    "model_kind",
    "peak_concurrency",
    "right_size",
    "served_dtype",
    "tp_sizes",
    "unknown_model",
]
