"""Roofline decode step and prefill time, vectorised (all arguments broadcast; SI units).

Decode is memory-bound at serving batch sizes: every step streams the weights once and each
sequence's KV cache once (Chen et al. 2026, arXiv 2603.17280, sec. 3; AIConfigurator, NVIDIA
2025, arXiv 2601.06288, Alg. 1-2, for the 0.80 bandwidth efficiency and 3 us per layer). The
step is compute-bound instead when batch x FLOPs per token exceeds the tensor-core rate; the
step time is the larger of the two.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]


def _f(x: ArrayLike) -> F64:
    return np.asarray(x, dtype=np.float64)


def weight_stream_time_s(
    weight_bytes_per_gpu: ArrayLike,
    bandwidth_bytes_per_s: ArrayLike,
    layers: ArrayLike,
    *,
    bandwidth_efficiency: ArrayLike = 0.80,
    per_layer_overhead_s: ArrayLike = 3e-6,
) -> F64:
    """W_s: one pass over the weights at effective bandwidth, plus a fixed cost per layer."""
    return _f(weight_bytes_per_gpu) / (_f(bandwidth_efficiency) * _f(bandwidth_bytes_per_s)) + _f(
        layers
    ) * _f(per_layer_overhead_s)


def kv_scan_time_s(
    kv_tokens: ArrayLike,
    kv_bytes_per_token_per_gpu: ArrayLike,
    bandwidth_bytes_per_s: ArrayLike,
    *,
    bandwidth_efficiency: ArrayLike = 0.80,
) -> F64:
    """Time for one sequence's attention to read `kv_tokens` tokens of KV (H at that length)."""
    return (
        _f(kv_tokens)
        * _f(kv_bytes_per_token_per_gpu)
        / (_f(bandwidth_efficiency) * _f(bandwidth_bytes_per_s))
    )


def moe_expert_fraction(batch: ArrayLike, experts: ArrayLike, top_k: ArrayLike) -> F64:
    """Expected share of routed experts a decode step reads: 1 - (1 - k/E)^batch.

    Assumes uniform, independent routing (the load-balancing objective's target): one token reads
    k of E experts per layer; `batch` tokens read the union. Dense models: pass experts=0 (-> 1).
    """
    e = _f(experts)
    with np.errstate(divide="ignore", invalid="ignore"):
        miss = np.where(e > 0, 1.0 - _f(top_k) / np.where(e > 0, e, 1.0), 0.0)
    return 1.0 - np.power(miss, np.maximum(_f(batch), 1.0))


def decode_step_time_s(
    batch: ArrayLike,
    mean_kv_tokens: ArrayLike,
    *,
    weight_bytes_per_gpu: ArrayLike,
    kv_bytes_per_token_per_gpu: ArrayLike,
    bandwidth_bytes_per_s: ArrayLike,
    layers: ArrayLike,
    bandwidth_efficiency: ArrayLike = 0.80,
    per_layer_overhead_s: ArrayLike = 3e-6,
    flops_per_token_per_gpu: ArrayLike = 0.0,
    peak_flops: ArrayLike = np.inf,
    extra_s: ArrayLike = 0.0,
) -> F64:
    """One decode step for `batch` sequences holding `mean_kv_tokens` each, in seconds.

    memory = (weights + batch x mean_kv x kappa) / (eff x BW) + layers x overhead + extra;
    compute = batch x FLOPs per token / peak; step = max(memory, compute). `extra_s` carries
    costs outside the roofline (e.g. an assumed MoE dispatch time).
    """
    n = np.maximum(_f(batch), 0.0)
    memory = (
        weight_stream_time_s(
            weight_bytes_per_gpu,
            bandwidth_bytes_per_s,
            layers,
            bandwidth_efficiency=bandwidth_efficiency,
            per_layer_overhead_s=per_layer_overhead_s,
        )
        + n
        * kv_scan_time_s(
            mean_kv_tokens,
            kv_bytes_per_token_per_gpu,
            bandwidth_bytes_per_s,
            bandwidth_efficiency=bandwidth_efficiency,
        )
        + _f(extra_s)
    )
    compute = n * _f(flops_per_token_per_gpu) / _f(peak_flops)
    return np.maximum(memory, compute)


def prefill_flops(
    prompt_tokens: ArrayLike,
    *,
    active_params: ArrayLike,
    layers: ArrayLike,
    attention_heads: ArrayLike,
    head_dim: ArrayLike,
) -> F64:
    """FLOPs to prefill one prompt: 2 x active params x l + causal attention 2 x L x h x d x l^2.

    The attention term counts QK^T and AV (2 FLOPs per multiply-add each) over the causal half
    of the l x l score matrix (Kaplan et al. 2020, arXiv 2001.08361, Table 1).
    """
    tokens = _f(prompt_tokens)
    return (
        2.0 * _f(active_params) * tokens
        + 2.0 * _f(layers) * _f(attention_heads) * _f(head_dim) * tokens * tokens
    )


def prefill_time_s(
    prompt_tokens: ArrayLike,
    *,
    active_params: ArrayLike,
    layers: ArrayLike,
    attention_heads: ArrayLike,
    head_dim: ArrayLike,
    tp: ArrayLike,
    peak_flops: ArrayLike,
    weight_bytes_per_gpu: ArrayLike,
    bandwidth_bytes_per_s: ArrayLike,
    chunk_tokens: ArrayLike = 512,
    bandwidth_efficiency: ArrayLike = 0.80,
    per_layer_overhead_s: ArrayLike = 3e-6,
) -> F64:
    """Roofline prefill time of one prompt: max(FLOPs / (tp x peak), chunks x weight stream)."""
    compute = prefill_flops(
        prompt_tokens,
        active_params=active_params,
        layers=layers,
        attention_heads=attention_heads,
        head_dim=head_dim,
    ) / (_f(tp) * _f(peak_flops))
    chunks = np.ceil(_f(prompt_tokens) / _f(chunk_tokens))
    memory = chunks * weight_stream_time_s(
        weight_bytes_per_gpu,
        bandwidth_bytes_per_s,
        layers,
        bandwidth_efficiency=bandwidth_efficiency,
        per_layer_overhead_s=per_layer_overhead_s,
    )
    return np.maximum(compute, memory)


__all__ = [
    "decode_step_time_s",
    "kv_scan_time_s",
    "moe_expert_fraction",
    "prefill_flops",
    "prefill_time_s",
    "weight_stream_time_s",
]
