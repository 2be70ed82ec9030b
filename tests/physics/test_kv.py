"""KV bytes per token and weight bytes; expected values are computed independently here or quoted
from Chen et al. 2026 (arXiv 2603.17280, papers.md 4.2) and the DeepSeek-V3 report."""

from __future__ import annotations

import numpy as np
import pytest

from wattlens.catalog import get_model
from wattlens.core.errors import InputError
from wattlens.physics.kv import (
    default_kv_dtype,
    dtype_bytes,
    kv_bytes_per_sequence,
    kv_bytes_per_token,
    model_kv_bytes_per_token,
    weight_bytes,
)


def test_gqa_llama_70b_matches_paper_table() -> None:
    # papers.md 4.2: Llama-3.1-70B kappa_model = 327,680 B fp16; 40,960 B per GPU at TP 8.
    assert kv_bytes_per_token(80, 8, 128, 2) == 327_680
    assert kv_bytes_per_token(80, 8, 128, 2, tp=8, per_gpu=True) == 40_960
    assert model_kv_bytes_per_token(get_model("llama-3.1-70b"), 2.0) == 327_680


def test_fewer_kv_heads_than_gpus_are_replicated() -> None:
    # Qwen3-235B: 4 KV heads; at TP 8 each GPU still holds one whole head (2 x 94 x 1 x 128 x 2).
    assert kv_bytes_per_token(94, 4, 128, 2, tp=8, per_gpu=True) == 2 * 94 * 1 * 128 * 2
    assert kv_bytes_per_token(94, 4, 128, 2, tp=2, per_gpu=True) == 2 * 94 * 2 * 128 * 2


def test_mla_caches_the_latent_once_and_replicates_it() -> None:
    # DeepSeek-V3: kv_lora_rank 512 + rope 64 values per layer and token, 61 layers.
    expected = 61 * (512 + 64) * 2
    got = kv_bytes_per_token(
        61, 128, 192, 2, attention="MLA", kv_lora_rank=512, qk_rope_head_dim=64
    )
    assert got == expected
    per_gpu = kv_bytes_per_token(
        61, 128, 192, 2, attention="MLA", kv_lora_rank=512, qk_rope_head_dim=64, tp=8, per_gpu=True
    )
    assert per_gpu == expected
    assert model_kv_bytes_per_token(get_model("deepseek-v3"), 1.0) == 61 * 576


def test_broadcasting_over_layers_and_dtypes() -> None:
    out = kv_bytes_per_token(np.array([32, 80])[:, None], 8, 128, np.array([1.0, 2.0]))
    assert out.shape == (2, 2)
    assert out[1, 1] == 327_680 and out[0, 0] == 2 * 32 * 8 * 128


def test_sequence_bytes_round_to_blocks_and_cap_window_layers() -> None:
    # 1000 tokens -> 63 blocks of 16 = 1008 tokens; window layers hold min(1008, 128).
    got = kv_bytes_per_sequence(1000, 10.0, window_bytes_per_token=3.0, window_tokens=128)
    assert got == 10.0 * 1008 + 3.0 * 128


def test_dtypes() -> None:
    assert dtype_bytes("FP16") == 2 and dtype_bytes("fp8") == 1
    assert dtype_bytes("mxfp4") == pytest.approx(4.25 / 8)  # OCP MX v1.0: E8M0 scale per 32
    assert weight_bytes(70e9, "bf16") == pytest.approx(140e9)
    assert default_kv_dtype("mxfp4") == "bf16" and default_kv_dtype("fp8") == "fp8"
    with pytest.raises(InputError, match="unknown dtype 'fp3'"):
        dtype_bytes("fp3")
