"""KV-cache memory budget and the concurrency limit it sets for a context window, vectorised.

n_max(W) = floor(V_KV / (kappa x W)) (Chen et al. 2026, arXiv 2603.17280, Eq. 3), with the
context rounded up to whole PagedAttention blocks, as vLLM allocates them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

F64 = NDArray[np.float64]


def kv_budget_bytes(
    gpu_memory_bytes: ArrayLike,
    weight_bytes: ArrayLike,
    tp: ArrayLike = 1,
    *,
    mem_util: ArrayLike = 0.90,
    runtime_overhead_bytes: ArrayLike = 0.0,
    clamp: bool = True,
) -> F64:
    """Per-GPU bytes left for the KV cache: mem_util x memory - weights/tp - runtime overhead.

    `mem_util` is vLLM's --gpu-memory-utilization (default 0.90); `runtime_overhead_bytes` covers
    what else the runtime pins (NCCL buffers, CUDA graphs). With clamp=False a negative result
    says by how much the weights do not fit.
    """
    budget = (
        np.asarray(mem_util, dtype=np.float64) * np.asarray(gpu_memory_bytes, dtype=np.float64)
        - np.asarray(weight_bytes, dtype=np.float64) / np.asarray(tp, dtype=np.float64)
        - np.asarray(runtime_overhead_bytes, dtype=np.float64)
    )
    return np.maximum(budget, 0.0) if clamp else budget


def concurrency_limit(
    kv_budget_bytes: ArrayLike,
    kv_bytes_per_token: ArrayLike,
    context_tokens: ArrayLike,
    block_tokens: int = 16,
) -> NDArray[np.int64]:
    """Sequences of `context_tokens` that fit: (budget // block bytes) // blocks per sequence.

    Budget and bytes per token must refer to the same thing (one GPU's shard, or the instance).
    Zero means not even one sequence fits.
    """
    blk = float(block_tokens)
    per_block = np.asarray(kv_bytes_per_token, dtype=np.float64) * blk
    blocks = np.floor(np.asarray(kv_budget_bytes, dtype=np.float64) / per_block)
    per_seq = np.ceil(np.asarray(context_tokens, dtype=np.float64) / blk)
    return np.floor(blocks / per_seq).astype(np.int64)


def sequences_that_fit(kv_budget_bytes: ArrayLike, sequence_bytes: ArrayLike) -> NDArray[np.int64]:
    """Sequences of `sequence_bytes` each (see kv.kv_bytes_per_sequence) in the budget."""
    budget = np.asarray(kv_budget_bytes, dtype=np.float64)
    return np.floor(budget / np.asarray(sequence_bytes, dtype=np.float64)).astype(np.int64)


__all__ = ["concurrency_limit", "kv_budget_bytes", "sequences_that_fit"]
