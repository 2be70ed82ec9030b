"""KV-cache bytes per token (GQA/MHA/MQA and MLA) and weight bytes per dtype, vectorised.

GQA/MHA/MQA cache a key and a value vector per KV head, layer and token:
    kappa = 2 x layers x kv_heads x head_dim x dtype_bytes
(Chen et al. 2026, arXiv 2603.17280, sec. 3). Under tensor parallelism the KV heads are split
across GPUs; when there are fewer KV heads than GPUs, vLLM replicates them, so each GPU holds
ceil(kv_heads / tp) heads. MLA (DeepSeek-V2/V3) caches one compressed latent of
kv_lora_rank + qk_rope_head_dim values per layer and token, with no separate K and V
(DeepSeek-AI 2024, arXiv 2412.19437, sec. 2.1.1), and vLLM replicates that latent on every GPU.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wattlens.catalog.specs import ModelSpec
from wattlens.core.errors import InputError

F64 = NDArray[np.float64]
Attention = Literal["MHA", "GQA", "MQA", "MLA"]

# Bytes per stored value. Block-scaled 4-bit formats carry their scales: MXFP4 is 4-bit E2M1
# elements with one 8-bit E8M0 scale per 32 (OCP Microscaling Formats v1.0, 2023) = 4.25 bits;
# group-wise int4 (GPTQ/AWQ, group 128, one fp16 scale) = 4.125 bits (Frantar et al. 2023,
# arXiv 2210.17323; Lin et al. 2024, arXiv 2306.00978).
DTYPE_BYTES: dict[str, float] = {
    "fp32": 4.0,
    "fp16": 2.0,
    "bf16": 2.0,
    "fp8": 1.0,
    "int8": 1.0,
    "mxfp4": 4.25 / 8.0,
    "int4": 4.125 / 8.0,
}
# KV cache precision vLLM uses by default for each weight dtype: the activation dtype, i.e. bf16
# for 4-bit weight formats (vLLM docs, --kv-cache-dtype auto, 2025); fp8 weights are modelled
# with an fp8 cache, as the 1/W paper does (one dtype_bytes for weights and KV).
_DEFAULT_KV_DTYPE = {"mxfp4": "bf16", "int4": "bf16", "int8": "bf16"}


def dtype_bytes(dtype: str) -> float:
    """Bytes per value for a dtype name ('fp16', 'bf16', 'fp8', 'mxfp4', 'int4', ...)."""
    key = str(dtype).strip().lower()
    if key not in DTYPE_BYTES:
        raise InputError(
            f"unknown dtype {dtype!r}: expected one of {', '.join(DTYPE_BYTES)}; "
            "set dtype, e.g. fp16 or fp8"
        )
    return DTYPE_BYTES[key]


def default_kv_dtype(weight_dtype: str) -> str:
    """The KV-cache dtype served with a weight dtype (bf16 for 4-bit and int8 weights)."""
    key = str(weight_dtype).strip().lower()
    dtype_bytes(key)
    return _DEFAULT_KV_DTYPE.get(key, key)


def weight_bytes(params: ArrayLike, dtype: str) -> F64:
    """Bytes of `params` weights stored in `dtype` (scales of block formats included)."""
    return np.asarray(params, dtype=np.float64) * dtype_bytes(dtype)


def kv_bytes_per_token(
    layers: ArrayLike,
    kv_heads: ArrayLike,
    head_dim: ArrayLike,
    dtype_bytes: ArrayLike,
    *,
    attention: Attention = "GQA",
    kv_lora_rank: ArrayLike = 0,
    qk_rope_head_dim: ArrayLike = 0,
    tp: ArrayLike = 1,
    per_gpu: bool = False,
) -> F64:
    """KV-cache bytes one token occupies, for the instance or (per_gpu=True) one TP shard.

    GQA/MHA/MQA: 2 x layers x heads x head_dim x bytes, heads = kv_heads, or ceil(kv_heads/tp)
    per GPU. MLA: layers x (kv_lora_rank + qk_rope_head_dim) x bytes, the same on every GPU
    (replicated). All numeric arguments broadcast.
    """
    b = np.asarray(dtype_bytes, dtype=np.float64)
    n_layers = np.asarray(layers, dtype=np.float64)
    if attention == "MLA":
        width = np.asarray(kv_lora_rank, dtype=np.float64) + np.asarray(
            qk_rope_head_dim, dtype=np.float64
        )
        return n_layers * width * b + 0.0 * np.asarray(tp, dtype=np.float64)
    if attention not in ("MHA", "GQA", "MQA"):
        raise InputError(f"unknown attention type {attention!r}: expected MHA, GQA, MQA or MLA")
    heads = np.asarray(kv_heads, dtype=np.float64)
    if per_gpu:
        heads = np.ceil(heads / np.asarray(tp, dtype=np.float64))
    return 2.0 * n_layers * heads * np.asarray(head_dim, dtype=np.float64) * b


def model_kv_bytes_per_token(
    model: ModelSpec,
    dtype_bytes: float,
    *,
    tp: int = 1,
    per_gpu: bool = False,
    layers: int | None = None,
) -> float:
    """`kv_bytes_per_token` for a catalog model; `layers` overrides the layer count (hybrids)."""
    return float(
        kv_bytes_per_token(
            model.layers if layers is None else layers,
            model.kv_heads,
            model.head_dim,
            dtype_bytes,
            attention="MLA" if model.attention_type == "MLA" else "GQA",
            kv_lora_rank=model.kv_lora_rank,
            qk_rope_head_dim=model.qk_rope_head_dim,
            tp=tp,
            per_gpu=per_gpu,
        )
    )


def kv_bytes_per_sequence(
    context_tokens: ArrayLike,
    full_bytes_per_token: ArrayLike,
    *,
    window_bytes_per_token: ArrayLike = 0.0,
    window_tokens: ArrayLike = 0,
    block_tokens: int = 16,
) -> F64:
    """Bytes of KV one sequence of `context_tokens` holds, rounded up to whole blocks.

    Full-attention layers hold every token; sliding-window layers (`window_bytes_per_token`, the
    KV of those layers per token) hold at most `window_tokens`. vLLM allocates in blocks of
    `block_tokens` (PagedAttention, Kwon et al. 2023, arXiv 2309.06180).
    """
    blk = float(block_tokens)
    ctx = np.ceil(np.asarray(context_tokens, dtype=np.float64) / blk) * blk
    win = np.ceil(np.asarray(window_tokens, dtype=np.float64) / blk) * blk
    held = np.where(win > 0, np.minimum(ctx, win), 0.0)
    return (
        np.asarray(full_bytes_per_token, dtype=np.float64) * ctx
        + np.asarray(window_bytes_per_token, dtype=np.float64) * held
    )


__all__ = [
    "DTYPE_BYTES",
    "default_kv_dtype",
    "dtype_bytes",
    "kv_bytes_per_sequence",
    "kv_bytes_per_token",
    "model_kv_bytes_per_token",
    "weight_bytes",
]
