"""Model catalog: name resolution and config.json spot checks."""

from __future__ import annotations

import pytest

from wattlens.catalog import DTYPES, all_models, find_model, get_model, model_arch, model_source
from wattlens.core.errors import CatalogError

NRP_FLEET = {
    "gpt-oss-120b", "gpt-oss-20b", "gemma-3-27b", "gemma-4-31b", "qwen3.5-397b-a17b",
    "kimi-k2.5", "minimax-m2.5", "olmo-2-32b", "olmo-2-7b",
}  # fmt: skip
OTHERS = {
    "llama-2-7b", "llama-2-13b", "llama-2-70b", "llama-3.1-8b", "llama-3.1-70b",
    "llama-3.1-405b", "llama-3.3-70b", "qwen3-8b", "qwen3-14b", "qwen3-32b", "qwen3-30b-a3b",
    "qwen3-235b-a22b", "deepseek-v3", "deepseek-r1", "mixtral-8x7b", "mixtral-8x22b",
}  # fmt: skip


def test_required_models_present() -> None:
    assert {m.id for m in all_models()} >= NRP_FLEET | OTHERS


@pytest.mark.parametrize(
    ("name", "model_id"),
    [
        ("meta-llama/Llama-3.1-70B-Instruct", "llama-3.1-70b"),
        ("meta-llama/Meta-Llama-3.1-70B-Instruct", "llama-3.1-70b"),
        ("Llama-3.1-70B-Instruct", "llama-3.1-70b"),
        ("RedHatAI/Meta-Llama-3.1-70B-Instruct-FP8-dynamic", "llama-3.1-70b"),
        ("LLAMA-3.1-70B", "llama-3.1-70b"),
        ("Llama 3.1 70B", "llama-3.1-70b"),
        ("Qwen/Qwen3-235B-A22B", "qwen3-235b-a22b"),
        ("Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", "qwen3-235b-a22b"),
        ("Qwen3-30B-A3B-Thinking-2507", "qwen3-30b-a3b"),
        ("openai/gpt-oss-120b", "gpt-oss-120b"),
        ("gpt-oss", "gpt-oss-120b"),  # NRP served name
        ("qwen3.5", "qwen3.5-397b-a17b"),  # served name
        ("Qwen3.5-397B", "qwen3.5-397b-a17b"),
        ("deepseek-ai/DeepSeek-V3", "deepseek-v3"),
        ("deepseek-ai/DeepSeek-R1-0528", "deepseek-r1"),
        ("moonshotai/Kimi-K2.5", "kimi-k2.5"),
        ("Kimi-K2.5", "kimi-k2.5"),
        ("MiniMax-M2.5", "minimax-m2.5"),
        ("MiniMaxAI/MiniMax-M2", "minimax-m2.5"),
        ("gemma-4-31B", "gemma-4-31b"),  # the NRP label in seed issue #3
        ("google/gemma-4-31B-it", "gemma-4-31b"),
        ("google/gemma-3-27b-it", "gemma-3-27b"),
        ("allenai/OLMo-2-0325-32B-Instruct", "olmo-2-32b"),
        ("allenai/OLMo-2-1124-7B", "olmo-2-7b"),
        ("mistralai/Mixtral-8x7B-Instruct-v0.1", "mixtral-8x7b"),
        ("meta-llama/Llama-2-70b-chat-hf", "llama-2-70b"),
        ("/models/Llama-3.3-70B-Instruct", "llama-3.3-70b"),
        ("qwen3_8b", "qwen3-8b"),
        ("llama3.1-8b", "llama-3.1-8b"),
    ],
)
def test_names_resolve(name: str, model_id: str) -> None:
    assert get_model(name).id == model_id
    assert find_model(name) is get_model(name)


def test_every_repo_alias_and_name_resolves_to_its_own_entry() -> None:
    for m in all_models():
        for spelling in (m.id, m.name, m.id.upper(), *m.aliases, *m.hf_repos):
            assert get_model(spelling).id == m.id, spelling


@pytest.mark.parametrize("name", ["", "   ", "vllm", "llama", "deepseek", "some-custom-model"])
def test_find_model_returns_none_for_unknown_or_ambiguous(name: str) -> None:
    assert find_model(name) is None


def test_find_model_accepts_none() -> None:
    assert find_model(None) is None


def test_unknown_model_raises_with_suggestion() -> None:
    with pytest.raises(CatalogError, match="llama-3.1-8b") as exc:
        get_model("llama-3.1-7b")
    assert "'llama-3.1-7b'" in str(exc.value)


def test_llama_31_70b_config() -> None:
    # meta-llama/Llama-3.1-70B config.json (2024): 80 layers, 64 heads, 8 KV heads, hidden 8192.
    m = get_model("llama-3.1-70b")
    assert (m.layers, m.attention_heads, m.kv_heads, m.hidden_size) == (80, 64, 8, 8192)
    assert (m.head_dim, m.intermediate_size, m.vocab_size) == (128, 28672, 128256)
    assert m.attention_type == "GQA" and not m.is_moe
    # papers.md 4.2: kappa = 2 x layers x kv_heads x head_dim x 2 bytes = 327,680 B/token (fp16)
    assert 2 * m.layers * m.kv_heads * m.head_dim * 2 == 327_680


def test_deepseek_v3_mla() -> None:
    # DeepSeek-V3 report (2024): MLA latent 512 + decoupled RoPE key 64; 256 routed experts,
    # 8 per token, 1 shared; 671B total, 37B active; 61 layers of width 7168.
    m = get_model("deepseek-v3")
    assert m.attention_type == "MLA"
    assert (m.kv_lora_rank, m.qk_rope_head_dim) == (512, 64)
    assert (m.moe_experts, m.moe_top_k, m.moe_shared_experts) == (256, 8, 1)
    assert (m.layers, m.hidden_size) == (61, 7168)
    assert (m.total_params, m.active_params) == (671e9, 37e9)
    assert m.default_dtype == "fp8"
    assert model_arch("deepseek-v3")["first_dense_layers"] == 3


def test_qwen3_head_dim_is_the_config_value() -> None:
    # Qwen3 configs set head_dim = 128 explicitly; hidden/heads would give 64 (papers.md 4.4 #4).
    m = get_model("qwen3-235b-a22b")
    assert m.head_dim == 128 and m.hidden_size // m.attention_heads == 64
    assert (m.layers, m.kv_heads, m.moe_experts, m.moe_top_k) == (94, 4, 128, 8)
    assert get_model("qwen3-32b").intermediate_size == 25600


def test_nrp_fleet_configs() -> None:
    # openai/gpt-oss-120b config (2025) and model card: 36 layers, 128 experts top-4,
    # 116.83B total / 5.13B active, MXFP4, alternating 128-token sliding window.
    g = get_model("gpt-oss-120b")
    assert (g.layers, g.moe_experts, g.moe_top_k, g.head_dim) == (36, 128, 4, 64)
    assert (g.total_params, g.active_params, g.default_dtype) == (116.83e9, 5.13e9, "mxfp4")
    assert g.sliding_window == 128 and model_arch("gpt-oss")["full_attention_layers"] == 18
    # Qwen3.5-397B-A17B (2026): 60 layers, 32 heads / 2 KV heads of 256, 512 experts top-10.
    q = get_model("qwen3.5")
    assert (q.layers, q.attention_heads, q.kv_heads, q.head_dim) == (60, 32, 2, 256)
    assert (q.moe_experts, q.moe_top_k, q.moe_shared_experts) == (512, 10, 1)
    assert model_arch("qwen3.5")["full_attention_layers"] == 15
    # Kimi K2 report (2025): 1.04T total / 32B active, MLA, 384 experts.
    k = get_model("kimi-k2.5")
    assert (k.total_params, k.active_params, k.moe_experts) == (1.04e12, 32e9, 384)
    assert (k.attention_type, k.kv_lora_rank, k.qk_rope_head_dim) == ("MLA", 512, 64)
    # MiniMax-M2 (2025): 230B / 10B, 62 layers, 256 experts top-8.
    mm = get_model("minimax-m2.5")
    assert (mm.total_params, mm.active_params, mm.layers, mm.moe_experts) == (230e9, 10e9, 62, 256)
    # Gemma 4 31B config (2026): 60 layers, hidden 5376, 16 KV heads of 256, window 1024.
    g4 = get_model("gemma-4-31b")
    assert (g4.layers, g4.hidden_size, g4.kv_heads, g4.head_dim) == (60, 5376, 16, 256)
    assert g4.sliding_window == 1024 and g4.max_context_tokens == 262144


def test_internal_consistency() -> None:
    for m in all_models():
        assert m.default_dtype in DTYPES, m.id
        assert 0 < m.active_params <= m.total_params, m.id
        assert m.attention_heads % m.kv_heads == 0, m.id
        if m.attention_type != "MLA":
            assert (m.attention_type == "MHA") == (m.kv_heads == m.attention_heads), m.id
        if m.is_moe:
            assert 0 < m.moe_top_k <= m.moe_experts and m.moe_intermediate_size > 0, m.id
            assert m.active_params < m.total_params, m.id
        else:
            assert m.active_params == m.total_params and m.intermediate_size > 0, m.id
        if m.attention_type == "MLA":
            assert m.kv_lora_rank > 0 and m.qk_rope_head_dim > 0, m.id
        # Transcribed configs (data/model_configs) may lack the context length; hand entries not.
        assert m.max_context_tokens > 0 or model_source(m.id) == "catalog_hf_config", m.id


def _param_count(m, arch: dict[str, int]) -> float:  # noqa: ANN001
    """Weights implied by the config fields (norms and biases ignored), written out for the test."""
    h, n_layers = m.hidden_size, m.layers
    if m.attention_type == "MLA":
        qk, v = m.head_dim, arch["v_head_dim"]
        attn = (
            h * arch["q_lora_rank"]
            + arch["q_lora_rank"] * m.attention_heads * qk
            + h * (m.kv_lora_rank + m.qk_rope_head_dim)
            + m.kv_lora_rank * m.attention_heads * (qk - m.qk_rope_head_dim + v)
            + m.attention_heads * v * h
        )
    else:
        attn = 2 * h * m.attention_heads * m.head_dim + 2 * h * m.kv_heads * m.head_dim
    dense = arch.get("first_dense_layers", 0)
    if m.is_moe:
        per_moe = 3 * h * (m.moe_experts * m.moe_intermediate_size)
        per_moe += 3 * h * m.moe_shared_experts * m.intermediate_size
        ffn = (n_layers - dense) * per_moe + dense * 3 * h * arch.get("dense_intermediate_size", 0)
    else:
        ffn = n_layers * 3 * h * m.intermediate_size
    tied = m.id.startswith("gemma")  # Gemma ties the LM head to the embedding
    return n_layers * attn + ffn + (1 if tied else 2) * m.vocab_size * h


def test_config_fields_reproduce_official_parameter_counts() -> None:
    # An independent check on every shape field: the weights they imply must match the model
    # card's total. Gemma cards include a ~0.4-0.55B vision encoder and Gemma 4's global layers
    # differ in shape, hence 2.5 %; Qwen3.5's Gated-DeltaNet layers are not modelled here.
    for m in all_models():  # the hand-checked entries; generated ones: test_model_configs.py
        if m.id == "qwen3.5-397b-a17b" or model_source(m.id) != "catalog":
            continue
        tol = 0.025 if m.id.startswith("gemma") else 0.015
        assert _param_count(m, model_arch(m.id)) == pytest.approx(m.total_params, rel=tol), m.id
