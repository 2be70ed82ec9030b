"""A Hugging Face `config.json` -> ModelSpec fields: shapes, parameter counts, dtype.

Pure functions over the parsed JSON (no I/O). Used by the catalog builder
(`python -m wattlens.catalog.build_models`), the user's directory of configs and the hub.

Parameter counts are the weights the shapes imply (Vaswani et al. 2017 layer layout with the
gated MLP of Llama, Touvron et al. 2023 arXiv 2302.13971): embedding, attention projections
(with their biases where the config or the architecture has them), MLP or experts, router,
norms, and an untied LM head (none for a base `...Model` checkpoint such as an embedding
model's `MistralModel` or `Qwen3Model`). Vision towers of multimodal checkpoints are not in the
total (the text model is what the KV cache and the decode bandwidth scale with); where the
config describes one wattlens knows (Qwen2.5-VL), its weights go in `arch["vision_params"]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wattlens.core.errors import CatalogError

# Architectures whose configs leave `tie_word_embeddings` at a default of True (transformers
# configuration_gemma*.py and configuration_cohere*.py, 2024-2026); every other model_type
# defaults to False (Falcon-7B/40B reach their cards' 7.22B / 41.8B only with a separate LM head).
_TIED_BY_DEFAULT = ("gemma", "cohere")
# Cohere (Command R, Aya): one LayerNorm before the parallel attention and MLP, no second norm;
# optional per-head q/k LayerNorms (transformers modeling_cohere.py, 2024). logit_scale has no
# weights.
_ONE_NORM = ("cohere", "cohere2")
# Two-matrix GELU MLPs (Falcon, GPT-NeoX/Pythia, Phi-1/2: transformers modeling_*.py); with
# biases on every projection for GPT-NeoX and Phi.
_PLAIN_MLP = ("falcon", "gpt_neox", "phi")
_ALL_BIASES = ("gpt_neox", "phi")
# Qwen2-family attention always has q/k/v biases (transformers modeling_qwen2.py, 2024).
_QKV_BIAS_BY_DEFAULT = ("qwen2", "qwen2_moe", "qwen2_vl", "qwen2_5_vl")
# Gated full attention doubles the query projection (Qwen3-Next / Qwen3.5 configs, 2025-2026:
# attn_output_gate).
_GATED_ATTENTION = ("qwen3_next", "qwen3_5", "qwen3_5_moe")
# Weight dtype names in config.json (torch_dtype / dtype) and quantization methods -> catalog.
# float32 checkpoints are served in fp16 by vLLM's dtype "auto" (vLLM engine args docs, 2025).
_TORCH_DTYPES = {"bfloat16": "bf16", "float16": "fp16", "float32": "fp16"}
_QUANT_DTYPES = {
    "fp8": "fp8",
    "mxfp4": "mxfp4",
    "awq": "int4",
    "gptq": "int4",
    "bitsandbytes": "int4",
}
_UNSUPPORTED = ("hybrid_override_pattern", "mamba_num_heads", "ssm_state_size")
# Encoder-only embedding and reranker models (BERT, Devlin et al. 2019, arXiv 1810.04805; XLM-R,
# Conneau et al. 2020): biased projections, a GELU MLP of two matrices, learned positions, no LM
# head. They hold no KV cache between requests.
_ENCODERS = ("bert", "xlm-roberta", "roberta")
# Tasks whose models embed or score the prompt and generate nothing (vLLM's pooling runner).
POOLING_TASKS = ("embed", "score")


@dataclass(frozen=True, slots=True)
class Shapes:
    """What a config.json says about one text model, in catalog terms."""

    fields: dict[str, Any]  # ModelSpec keyword fields (without id, name, repos, sources)
    arch: dict[str, int]  # integer facts ModelSpec has no field for (see models.toml header)
    total_params: float
    active_params: float


def text_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The text model's keys: `text_config` (multimodal checkpoints) over the top level."""
    inner = config.get("text_config") or config.get("llm_config") or {}
    merged = {k: v for k, v in config.items() if k not in ("text_config", "llm_config")}
    merged.update(inner if isinstance(inner, Mapping) else {})
    if "model_type" in config and "model_type" not in inner:
        merged["model_type"] = config["model_type"]
    return merged


def _int(c: Mapping[str, Any], *keys: str, default: int | None = None) -> int:
    for k in keys:
        value = c.get(k)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    if default is None:
        raise CatalogError(
            f"config.json has no integer {' or '.join(keys)}; expected a Hugging Face "
            "causal-LM config (hidden_size, num_hidden_layers, num_attention_heads, ...); "
            "give the model's own config.json"
        )
    return default


def served_dtype_of(config: Mapping[str, Any]) -> str:
    """The weight dtype a config describes: its quantization method, else torch_dtype."""
    q = config.get("quantization_config") or {}
    if isinstance(q, Mapping):
        method = str(q.get("quant_method", "")).lower()
        algo = str(q.get("quant_algo", "") or q.get("format", "")).lower()
        if "fp4" in algo or "nvfp4" in algo:
            return "int4"
        if method in _QUANT_DTYPES:
            return _QUANT_DTYPES[method]
        if q.get("bits") in (4, 8):
            return "int4" if q.get("bits") == 4 else "int8"
        if "fp8" in algo or "float-quantized" in algo:
            return "fp8"
    raw = config.get("torch_dtype") or config.get("dtype") or "bfloat16"
    return _TORCH_DTYPES.get(str(raw), "bf16")


def _layer_kinds(c: Mapping[str, Any], layers: int) -> list[str]:
    """'full', 'sliding' or 'linear' per layer, from layer_types or the family's pattern."""
    types = c.get("layer_types")
    if isinstance(types, list) and len(types) == layers:
        kind = {"sliding_attention": "sliding", "linear_attention": "linear"}
        return [kind.get(str(t), "full") for t in types]
    mt = str(c.get("model_type", ""))
    if c.get("sliding_window") and mt == "gemma2":  # local, global, local, ... (Gemma 2 report)
        return ["sliding" if i % 2 == 0 else "full" for i in range(layers)]
    pattern = c.get("sliding_window_pattern")  # Cohere2 (Command R7B): 3 sliding, then 1 global
    if c.get("sliding_window") and isinstance(pattern, int) and pattern > 1:
        return ["full" if (i + 1) % pattern == 0 else "sliding" for i in range(layers)]
    interval = c.get("full_attention_interval")
    if isinstance(interval, int) and interval > 0:  # Qwen3-Next: 3 linear, then 1 full
        return ["full" if (i + 1) % interval == 0 else "linear" for i in range(layers)]
    return ["full"] * layers


def _attention(c: Mapping[str, Any], h: int, kind: str) -> int:
    """Weights of one attention block ('full', 'sliding' or 'linear')."""
    nh = _int(c, "num_attention_heads")
    if kind == "linear":  # Gated DeltaNet (Qwen3-Next, 2025): qkvz, ba, conv, norm, out
        nk, dk = _int(c, "linear_num_key_heads"), _int(c, "linear_key_head_dim")
        nv, dv = _int(c, "linear_num_value_heads"), _int(c, "linear_value_head_dim")
        conv = _int(c, "linear_conv_kernel_dim", default=4)
        return (
            h * (2 * nk * dk + 2 * nv * dv)
            + h * 2 * nv
            + (2 * nk * dk + nv * dv) * conv
            + (nv * dv * h)
        )
    if c.get("kv_lora_rank"):  # MLA (DeepSeek-V2 report, arXiv 2405.04434, sec. 2.1)
        qr = c.get("q_lora_rank") or 0
        nope, rope = _int(c, "qk_nope_head_dim"), _int(c, "qk_rope_head_dim")
        v, kvr = _int(c, "v_head_dim"), _int(c, "kv_lora_rank")
        q = h * qr + qr * nh * (nope + rope) if qr else h * nh * (nope + rope)
        return q + h * (kvr + rope) + kvr * nh * (nope + v) + nh * v * h
    hd = _int(c, "head_dim", default=h // nh)
    nkv = _int(c, "num_key_value_heads", default=nh)
    kv_mult = 2
    if kind == "full" and c.get("global_head_dim"):  # Gemma 4 global layers
        hd = _int(c, "global_head_dim")
        nkv = _int(c, "num_global_key_value_heads", default=nkv)
        kv_mult = 1 if c.get("attention_k_eq_v") else 2
    q_mult = 2 if str(c.get("model_type", "")) in _GATED_ATTENTION else 1
    weights = h * nh * hd * q_mult + kv_mult * h * nkv * hd + nh * hd * h
    bias = c.get("attention_bias", c.get("qkv_bias"))
    mt = str(c.get("model_type", ""))
    if bias is None:
        bias = mt in _QKV_BIAS_BY_DEFAULT or mt in _ALL_BIASES
    return weights + ((nh + 2 * nkv) * hd if bias else 0) + (h if mt in _ALL_BIASES else 0)


def _experts(c: Mapping[str, Any]) -> tuple[int, int, int]:
    """(routed experts, experts per token, routed expert width); zeros for dense models."""
    n = _int(c, "num_local_experts", "num_experts", "n_routed_experts", default=0)
    if n <= 1:
        return 0, 0, 0
    k = _int(c, "num_experts_per_tok", "moe_topk", "num_experts_per_token", "top_k_experts")
    width = _int(c, "moe_intermediate_size", "expert_intermediate_size", "intermediate_size")
    return n, k, width


def _moe_layers(c: Mapping[str, Any], layers: int) -> list[bool]:
    """Which layers hold experts: leading dense layers, a sparse step, or listed dense ones."""
    first_dense = _int(c, "first_k_dense_replace", default=0)
    step = _int(c, "interleave_moe_layer_step", "decoder_sparse_step", default=1)
    dense = set(c.get("mlp_only_layers") or [])
    return [i >= first_dense and (i + 1) % step == 0 and i not in dense for i in range(layers)]


def _headless(config: Mapping[str, Any]) -> bool:
    """A base-model checkpoint ('MistralModel', 'Qwen3Model'): hidden states out, no LM head."""
    archs = config.get("architectures") or []
    return bool(archs) and all(str(a).endswith("Model") for a in archs)


def _vision_params(config: Mapping[str, Any]) -> int:
    """Qwen2.5-VL's ViT (report arXiv 2502.13923, sec. 2.1; transformers modeling_qwen2_5_vl.py):
    a bias-free Conv3d patch embedding, blocks of two RMSNorms, fused qkv and output projections
    with biases and a biased SwiGLU MLP, then a patch merger (RMSNorm and a two-layer MLP over
    merge^2 patches). 0 for any other vision tower."""
    v = config.get("vision_config")
    if str(config.get("model_type")) != "qwen2_5_vl" or not isinstance(v, Mapping):
        return 0
    h, inter, depth = _int(v, "hidden_size"), _int(v, "intermediate_size"), _int(v, "depth")
    patch = _int(v, "in_chans", "in_channels", default=3) * h * _int(v, "temporal_patch_size")
    patch *= _int(v, "patch_size") ** 2
    block = 2 * h + (3 * h * h + 3 * h) + (h * h + h) + 2 * (h * inter + inter) + inter * h + h
    merged = h * _int(v, "spatial_merge_size") ** 2
    merger = (
        h
        + merged * merged
        + merged
        + merged * _int(v, "out_hidden_size")
        + (_int(v, "out_hidden_size"))
    )
    return patch + depth * block + merger


def shapes_from_config(config: Mapping[str, Any]) -> Shapes:
    """ModelSpec fields, arch facts and parameter counts (total, active) from a config.json."""
    if any(k in config or k in (config.get("text_config") or {}) for k in _UNSUPPORTED):
        raise CatalogError(
            "config.json describes a Mamba/SSM hybrid (hybrid_override_pattern, ssm_*), whose "
            "weights and cache wattlens does not model; add the model by hand to models.toml"
        )
    c = text_config(config)
    if str(c.get("model_type", "")) in _ENCODERS:
        return _encoder(c)
    if str(c.get("model_type", "")) == "nomic_bert":
        return _nomic_bert(c)
    h, layers = _int(c, "hidden_size", "d_model"), _int(c, "num_hidden_layers", "num_layers")
    nh = _int(c, "num_attention_heads")
    mla = bool(c.get("kv_lora_rank"))
    nkv = nh if mla else _int(c, "num_key_value_heads", default=nh)
    head_dim = (
        _int(c, "qk_nope_head_dim") + _int(c, "qk_rope_head_dim")
        if mla
        else _int(c, "head_dim", default=h // nh)
    )
    vocab, inter = _int(c, "vocab_size"), _int(c, "intermediate_size", default=0)
    mt = str(c.get("model_type", ""))
    tied = c.get("tie_word_embeddings", config.get("tie_word_embeddings"))
    if tied is None:
        tied = mt.startswith(_TIED_BY_DEFAULT)
    kinds = _layer_kinds(c, layers)
    n_exp, top_k, width = _experts(c)
    moe = _moe_layers(c, layers) if n_exp else [False] * layers
    shared_n = _int(c, "n_shared_experts", "num_shared_experts", default=0)
    shared_w = _int(c, "shared_expert_intermediate_size", default=0)
    if shared_n and not shared_w:
        shared_w = shared_n * width  # DeepSeek: n shared experts of the routed width
    dense_w = _int(c, "intermediate_size_mlp", default=inter)  # Llama 4 dense layers
    if n_exp and mt in ("mixtral", "minimax_m2", "gpt_oss", "phimoe", "minimax"):
        dense_w = 0
    expert = 3 * h * width + (2 * width + h if mt == "gpt_oss" else 0)  # gpt-oss: biases
    mlp = 3 * h * dense_w
    if mt in _PLAIN_MLP:
        mlp = 2 * h * dense_w + (dense_w + h if mt in _ALL_BIASES else 0)
    headless = _headless(config)
    total = active = float(vocab * h * (1 if tied or headless else 2) + h)  # embed, head, norm
    norms = h if mt in _ONE_NORM else 2 * h
    if mt in _ONE_NORM and c.get("use_qk_norm"):
        norms += (nh + nkv) * head_dim
    for kind, is_moe in zip(kinds, moe, strict=True):
        block = _attention(c, h, kind) + norms
        if is_moe:
            shared = 3 * h * shared_w + (h if shared_w and mt.startswith("qwen") else 0)
            router = h * n_exp
            both = mlp if c.get("enable_moe_block") else 0  # Gemma 4: MLP + experts
            total += block + router + shared + both + n_exp * expert
            active += block + router + shared + both + top_k * expert
        else:
            total += block + mlp
            active += block + mlp
    full = sum(k == "full" for k in kinds)
    sliding = sum(k == "sliding" for k in kinds)
    window = _int(c, "sliding_window", default=0) if sliding else 0
    arch: dict[str, int] = {"plain_mlp": 1} if mt in _PLAIN_MLP else {}
    if full != layers:
        arch["full_attention_layers"] = full
    if sum(k == "linear" for k in kinds):
        arch["linear_attention_layers"] = sum(k == "linear" for k in kinds)
    if n_exp and not all(moe):
        arch["first_dense_layers"] = layers - sum(moe)
        arch["dense_intermediate_size"] = dense_w
    if n_exp:
        arch["config_intermediate_size"] = inter
    if c.get("global_head_dim"):
        arch["global_kv_heads"] = _int(c, "num_global_key_value_heads", default=nkv)
        arch["global_head_dim"] = _int(c, "global_head_dim")
        arch["global_k_eq_v"] = int(bool(c.get("attention_k_eq_v")))
    if mla:
        arch["q_lora_rank"] = _int(c, "q_lora_rank", default=0)
        arch["qk_nope_head_dim"] = _int(c, "qk_nope_head_dim")
        arch["v_head_dim"] = _int(c, "v_head_dim")
    if headless:
        arch["no_lm_head"] = 1
        arch["pooling_model"] = 1
    vision = _vision_params(config)
    if vision:
        arch["vision_params"] = vision
    attention = "MLA" if mla else "MHA" if nkv == nh else "MQA" if nkv == 1 else "GQA"
    fields: dict[str, Any] = {
        "layers": layers,
        "hidden_size": h,
        "attention_heads": nh,
        "kv_heads": nkv,
        "head_dim": head_dim,
        "intermediate_size": shared_w if n_exp else inter,
        "vocab_size": vocab,
        "attention_type": attention,
        "moe_experts": n_exp,
        "moe_top_k": top_k,
        "moe_intermediate_size": width,
        "moe_shared_experts": shared_n or (1 if shared_w else 0),
        "kv_lora_rank": _int(c, "kv_lora_rank", default=0),
        "qk_rope_head_dim": _int(c, "qk_rope_head_dim", default=0) if mla else 0,
        "sliding_window": window,
        # Command R: max_position_embeddings 8192, model_max_length 131072 (trained to 128K; the
        # card and llama.cpp's convert_hf_to_gguf.py, 2024)
        "max_context_tokens": max(
            _int(c, "max_position_embeddings", "seq_length", default=0),
            _int(c, "model_max_length", default=0),
        ),
        "default_dtype": served_dtype_of(config),
    }
    return Shapes(fields, arch, total, active)


def _encoder(c: Mapping[str, Any]) -> Shapes:
    """BERT-style encoders: weights and shapes (MHA, no sliding window, no LM head)."""
    h, layers = _int(c, "hidden_size"), _int(c, "num_hidden_layers")
    nh, inter, vocab = (
        _int(c, "num_attention_heads"),
        _int(c, "intermediate_size"),
        _int(c, "vocab_size"),
    )
    positions = _int(c, "max_position_embeddings", default=512)
    embed = (vocab + positions + _int(c, "type_vocab_size", default=2)) * h + 2 * h
    block = 4 * h * h + 4 * h + 2 * h * inter + inter + h + 4 * h  # attention, MLP, 2 LayerNorms
    # A bare encoder ends in the pooler (dense h x h); a cross-encoder reranker
    # (...ForSequenceClassification, add_pooling_layer=False) in a classifier: dense h x h, then
    # h -> labels (transformers modeling_bert.py / modeling_xlm_roberta.py).
    head = h * h + h
    if any(str(a).endswith("ForSequenceClassification") for a in c.get("architectures") or []):
        labels = len(c.get("id2label") or {}) or _int(c, "num_labels", default=2)
        head += h * labels + labels
    total = float(embed + layers * block + head)
    fields: dict[str, Any] = {
        "layers": layers, "hidden_size": h, "attention_heads": nh, "kv_heads": nh,
        "head_dim": h // nh, "intermediate_size": inter, "vocab_size": vocab,
        "attention_type": "MHA", "moe_experts": 0, "moe_top_k": 0, "moe_intermediate_size": 0,
        "moe_shared_experts": 0, "kv_lora_rank": 0, "qk_rope_head_dim": 0, "sliding_window": 0,
        "max_context_tokens": positions, "default_dtype": served_dtype_of(c),
    }  # fmt: skip
    return Shapes(fields, {"encoder_only": 1, "pooling_model": 1}, total, total)


def _nomic_bert(c: Mapping[str, Any]) -> Shapes:
    """NomicBERT (nomic-embed-text; Nussbaum et al. 2024, arXiv 2402.01613; nomic-ai
    modeling_hf_nomic_bert.py): GPT-2 key names, word and token-type embeddings with a LayerNorm,
    rotary positions (a learned table only when rotary_emb_fraction is 0), fused Wqkv and an
    output projection (biased per qkv_proj_bias), a SwiGLU (fc11, fc12, fc2) or two-matrix MLP
    (biased per mlp_fc1_bias / mlp_fc2_bias), two LayerNorms per layer; no pooler, no LM head."""
    h, layers = _int(c, "n_embd", "hidden_size"), _int(c, "n_layer", "num_hidden_layers")
    nh, vocab = _int(c, "n_head", "num_attention_heads"), _int(c, "vocab_size")
    inter = _int(c, "n_inner", "intermediate_size", default=4 * h)
    positions = _int(c, "n_positions", "max_position_embeddings", default=2048)
    table = 0 if c.get("rotary_emb_fraction") else positions
    embed = (vocab + _int(c, "type_vocab_size", default=2) + table) * h + 2 * h
    qkv_bias = bool(c.get("qkv_proj_bias", True))
    attn = 4 * h * h + (4 * h if qkv_bias else 0)
    gated = str(c.get("activation_function", "")) in ("swiglu", "geglu")
    mlp = (3 if gated else 2) * h * inter
    mlp += (2 if gated else 1) * inter * bool(c.get("mlp_fc1_bias", True))
    mlp += h * bool(c.get("mlp_fc2_bias", True))
    total = float(embed + layers * (attn + mlp + 4 * h))
    fields: dict[str, Any] = {
        "layers": layers, "hidden_size": h, "attention_heads": nh, "kv_heads": nh,
        "head_dim": h // nh, "intermediate_size": inter, "vocab_size": vocab,
        "attention_type": "MHA", "moe_experts": 0, "moe_top_k": 0, "moe_intermediate_size": 0,
        "moe_shared_experts": 0, "kv_lora_rank": 0, "qk_rope_head_dim": 0, "sliding_window": 0,
        "max_context_tokens": _int(c, "max_trained_positions", default=positions),
        "default_dtype": served_dtype_of(c),
    }  # fmt: skip
    return Shapes(fields, {"encoder_only": 1, "pooling_model": 1, "no_lm_head": 1}, total, total)


__all__ = ["POOLING_TASKS", "Shapes", "served_dtype_of", "shapes_from_config", "text_config"]
