"""Typed catalog entries. Loaders in this package build them from the TOML data files.

Units are SI and in the field names. Every entry carries `sources` (citation strings with year).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

AttentionType = Literal["MHA", "GQA", "MQA", "MLA"]


@dataclass(frozen=True, slots=True)
class GpuSpec:
    """One GPU model."""

    id: str  # catalog id, e.g. "H100-SXM"
    name: str  # marketing name, e.g. "NVIDIA H100 SXM5 80GB"
    memory_bytes: float
    memory_bandwidth_bytes_per_s: float
    fp16_flops: float  # dense tensor-core FP16/BF16
    fp8_flops: float | None  # dense FP8; None where the GPU has no FP8 tensor cores
    tdp_watts: float
    idle_watts: float  # typical idle board power
    generation: str  # "Volta", "Ampere", "Ada", "Hopper", "Blackwell"
    aliases: tuple[str, ...] = ()  # includes DCGM modelName strings
    mig_profiles: tuple[str, ...] = ()  # e.g. ("1g.10gb", "2g.20gb", ...)
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """One LLM architecture."""

    id: str  # lowercase short name, e.g. "llama-3.1-70b"
    name: str
    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    intermediate_size: int  # dense FFN width (or shared-expert width for MoE)
    vocab_size: int
    total_params: float
    active_params: float
    attention_type: AttentionType
    moe_experts: int = 0  # routed experts; 0 = dense
    moe_top_k: int = 0
    moe_intermediate_size: int = 0
    moe_shared_experts: int = 0
    kv_lora_rank: int = 0  # MLA latent width
    qk_rope_head_dim: int = 0  # MLA decoupled RoPE width
    sliding_window: int = 0  # tokens; 0 = none
    max_context_tokens: int = 0
    default_dtype: str = "bf16"  # weights as usually served: "bf16", "fp8", "mxfp4", "int4"
    hf_repos: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def is_moe(self) -> bool:
        """True for mixture-of-experts models."""
        return self.moe_experts > 0


@dataclass(frozen=True, slots=True)
class Cited:
    """A number with its source, for constants that the methodology page prints."""

    value: float
    unit: str
    source: str
    year: int
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)


__all__ = ["AttentionType", "Cited", "GpuSpec", "ModelSpec"]
