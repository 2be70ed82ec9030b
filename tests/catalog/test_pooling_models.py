"""Embedding models, rerankers, Cohere and vision towers (#10): parameter layouts written out by
hand from the papers and printed module trees, and right-sizing for models that never decode."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from wattlens.analysis import AnalysisOptions, right_size
from wattlens.analysis.data import Series
from wattlens.analysis.rightsize import memory_per_gpu_bytes, model_kind
from wattlens.catalog import get_model, model_arch
from wattlens.catalog.hfconfig import shapes_from_config
from wattlens.catalog.listing import list_models

CONFIGS = Path(__file__).parents[2] / "src/wattlens/catalog/data/model_configs"
OPTS = AnalysisOptions.default()


def _config(name: str) -> dict:  # type: ignore[type-arg]
    return dict(json.loads((CONFIGS / f"{name}.json").read_text())["config"])


def _bert_layer(h: int, inter: int) -> int:
    """One BERT/XLM-R layer (Devlin et al. 2019): Q, K, V, O with biases, LayerNorm, GELU FFN of
    two biased matrices, LayerNorm (weight and bias each)."""
    return 4 * (h * h + h) + 2 * h + (h * inter + inter) + (inter * h + h) + 2 * h


def test_bge_m3_encoder_by_hand() -> None:
    # bge-m3 config.json: XLM-R, 24 layers of 1024, FFN 4096, vocab 250002, 8194 positions,
    # 1 token type; word + position + token-type embeddings and their LayerNorm, then the pooler.
    h = 1024
    embeddings = (250002 + 8194 + 1) * h + 2 * h
    want = embeddings + 24 * _bert_layer(h, 4096) + (h * h + h)
    s = shapes_from_config(_config("BAAI--bge-m3"))
    assert s.total_params == want
    assert s.total_params == pytest.approx(568e6, rel=0.01)  # hub page: 568M
    assert s.arch == {"encoder_only": 1, "pooling_model": 1}


def test_cross_encoder_reranker_has_a_classifier_not_a_pooler() -> None:
    # XLMRobertaForSequenceClassification: dense h x h + tanh + out_proj h x 1 (one label).
    h = 1024
    want = (250002 + 8194 + 1) * h + 2 * h + 24 * _bert_layer(h, 4096) + (h * h + h) + (h + 1)
    assert shapes_from_config(_config("BAAI--bge-reranker-v2-m3")).total_params == want


def test_bert_large_layout_matches_bge_large_card() -> None:
    h = 1024
    want = (30522 + 512 + 2) * h + 2 * h + 24 * _bert_layer(h, 4096) + (h * h + h)
    s = shapes_from_config(_config("BAAI--bge-large-en-v1.5"))
    assert s.total_params == want and want == pytest.approx(335e6, rel=0.01)  # card: 335M


def test_cohere_tied_head_and_one_layernorm_per_layer() -> None:
    # Aya 23 8B (CohereForCausalLM): embedding tied to the head, GQA 32/8 heads of 128, SwiGLU
    # 14336, a single weight-only LayerNorm before the parallel attention and MLP.
    h, L = 4096, 32
    attn = 2 * h * h + 2 * h * 8 * 128
    want = 256000 * h + h + L * (attn + 3 * h * 14336 + h)
    s = shapes_from_config(_config("CohereForAI--aya-23-8B"))
    assert s.total_params == want
    assert s.total_params == pytest.approx(8.03e9, rel=0.005)


def test_headless_base_model_has_no_lm_head() -> None:
    cfg = {"architectures": ["Qwen3Model"], "model_type": "qwen3", "hidden_size": 64,
           "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
           "head_dim": 16, "intermediate_size": 128, "vocab_size": 1000,
           "tie_word_embeddings": False}  # fmt: skip
    with_head = shapes_from_config({**cfg, "architectures": ["Qwen3ForCausalLM"]})
    headless = shapes_from_config(cfg)
    assert with_head.total_params - headless.total_params == 1000 * 64
    assert headless.arch["no_lm_head"] == 1 and headless.arch["pooling_model"] == 1


def test_qwen25_vl_vision_tower_from_the_module_tree() -> None:
    # The printed Qwen2_5_VLForConditionalGeneration tree (7B): Conv3d(3, 1280, (2, 14, 14),
    # bias=False); 32 blocks of norm1/norm2 (1280), qkv 1280->3840 and proj 1280->1280 with
    # biases, gate/up 1280->3420 and down 3420->1280 with biases; merger ln_q (1280),
    # Linear(5120, 5120) and Linear(5120, 3584) with biases.
    patch = 3 * 1280 * 2 * 14 * 14
    block = 2 * 1280 + (1280 * 3840 + 3840) + (1280 * 1280 + 1280)
    block += 2 * (1280 * 3420 + 3420) + (3420 * 1280 + 1280)
    merger = 1280 + (5120 * 5120 + 5120) + (5120 * 3584 + 3584)
    assert model_arch("qwen2.5-vl-7b")["vision_params"] == patch + 32 * block + merger
    # text model + ViT = the 8.29B the hub lists for Qwen2.5-VL-7B-Instruct
    m = get_model("qwen2.5-vl-7b")
    assert m.total_params + patch + 32 * block + merger == pytest.approx(8.29e9, rel=0.005)


@pytest.mark.parametrize(
    ("family", "ids"),
    [
        ("bge", {"bge-m3", "bge-reranker-v2-m3", "bge-large-en-v1.5"}),
        ("qwen2.5-vl", {"qwen2.5-vl-3b", "qwen2.5-vl-7b"}),
        ("qwen2.5-coder", {"qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b", "qwen2.5-coder-3b"}),
        ("mistral-nemo", {"mistral-nemo"}),
        ("aya", {"aya-23-8b"}),
        ("falcon3", {"falcon3-1b", "falcon3-3b", "falcon3-7b", "falcon3-10b"}),
        ("qwen3-reranker", {"qwen3-reranker-0.6b"}),
    ],
)
def test_family_lists_the_new_models(family: str, ids: set[str]) -> None:
    rows = list_models(family)
    assert {r["id"] for r in rows} >= ids
    pooling = {r["id"] for r in rows if r["task"] == "pooling"}
    assert pooling == ({r["id"] for r in rows} if family in ("bge", "qwen3-reranker") else set())


def _series(n_gpu: int, watts: float, tok_s: float, running: float, n: int = 120) -> Series:
    """An embedding deployment: prompt tokens only, no generated tokens."""
    dt = np.full(n, 30.0)
    e = np.full(n, watts * 30.0)
    return Series("ns/embed", 1e9 + 30 * np.arange(n), dt, e, np.full(n, tok_s * 30),
                  np.zeros(n), np.full(n, running), np.full(n, 1.0),
                  np.full(n, float(n_gpu)), e / 3.6e6 * 200.0)  # fmt: skip


def test_right_sizing_an_encoder_embedder_sizes_weights_without_kv() -> None:
    # bge-m3 on 4 L40S at 20 concurrent requests: 1.1 GB of fp16 weights and no KV cache, so
    # one GPU holds it; 3 idle GPUs at 60 W each are the saving.
    m = get_model("bge-m3")
    assert model_kind(m) == "pooling_encoder"
    mem = memory_per_gpu_bytes(m, 1, "fp16", 20, OPTS)
    assert mem["kv"] == 0 and mem["weights"] == pytest.approx(568e6 * 2, rel=0.01)
    rs = right_size(_series(4, 400.0, 5000.0, 20.0), m, "L40S", "BAAI/bge-m3", 80.0, OPTS)
    assert rs.status == "oversized" and rs.recommended_gpu_count == 1
    assert rs.assumptions["model_kind"] == "pooling_encoder"
    assert "no KV cache" in rs.reason
    assert rs.saving_watts == pytest.approx(3 * 80.0)


def test_right_sizing_a_decoder_reranker_keeps_prompt_kv_only() -> None:
    m = get_model("qwen3-reranker-0.6b")
    assert model_kind(m) == "pooling_decoder"
    rs = right_size(_series(2, 300.0, 3000.0, 8.0), m, "L40S", "Qwen/Qwen3-Reranker-0.6B", 80.0,
                    OPTS)  # fmt: skip
    assert rs.status in ("oversized", "right_sized") and rs.recommended_gpu_count == 1
    assert rs.assumptions["kv_bytes_per_token_per_gpu"] > 0
    assert model_kind(get_model("qwen2.5-7b")) == "generative"
