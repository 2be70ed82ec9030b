"""Model records for people and JSON: `wattlens models list` and `wattlens models show`."""

from __future__ import annotations

import re
from typing import Any

from wattlens.catalog.models import all_models, model_arch, model_source
from wattlens.catalog.resolve import ModelMatch, ModelResolver
from wattlens.catalog.specs import ModelSpec
from wattlens.core.errors import CatalogError

# A size token ends the family part of an id: 'qwen2.5-coder-7b' -> 'qwen2.5-coder'.
_SIZE = re.compile(r"^(\d+(\.\d+)?[mbt]|\d+x\d+(\.\d+)?b|a\d+(\.\d+)?b|e\d+b|\d+e)$")


def family_of(model_id: str) -> str:
    """The id up to its first size token ('llama-3.1-70b' -> 'llama-3.1')."""
    tokens = model_id.split("-")
    for i, t in enumerate(tokens):
        if i and _SIZE.match(t):
            return "-".join(tokens[:i])
    return model_id


def record(spec: ModelSpec, match: ModelMatch | None = None) -> dict[str, Any]:
    """The JSON record of a model (the `--json` fields of `wattlens models`)."""
    source = match.source if match else model_source(spec.id)
    arch = model_arch(spec.id) if match is None or source.startswith("catalog") else {}
    return {
        "id": spec.id,
        "name": spec.name,
        "family": family_of(spec.id),
        "params_total": spec.total_params,
        "params_active": spec.active_params,
        "layers": spec.layers,
        "hidden_size": spec.hidden_size,
        "num_attention_heads": spec.attention_heads,
        "num_kv_heads": spec.kv_heads,
        "head_dim": spec.head_dim,
        "attention_type": spec.attention_type,
        "intermediate_size": spec.intermediate_size,
        "vocab_size": spec.vocab_size,
        "is_moe": spec.is_moe,
        "moe_experts": spec.moe_experts,
        "moe_top_k": spec.moe_top_k,
        "sliding_window": spec.sliding_window,
        "full_attention_layers": arch.get("full_attention_layers", spec.layers),
        "task": "pooling" if arch.get("pooling_model") else "generate",  # embed/score: no decode
        "vision_params": arch.get("vision_params", 0),  # not in params_total (Qwen2.5-VL ViT)
        "max_context_tokens": spec.max_context_tokens,
        "dtype": match.dtype if match else spec.default_dtype,
        "source": source,
        "matched_by": match.matched_by if match else "id",
        "uncertainty_fraction": match.uncertainty_fraction if match else None,
        "hf_repos": list(spec.hf_repos),
        "sources": list(spec.sources),
    }


def list_models(family: str | None = None) -> list[dict[str, Any]]:
    """Every catalog model (or those whose family contains `family`), sorted by id."""
    want = (family or "").strip().casefold()
    rows = [record(m) for m in all_models()]
    rows = [r for r in rows if not want or want in r["family"] or r["id"] == want]
    if want and not rows:
        families = sorted({family_of(m.id) for m in all_models()})
        raise CatalogError(
            f"no model family contains {family!r}; expected one of {', '.join(families)}"
        )
    return sorted(rows, key=lambda r: r["id"])


def show_model(name: str, resolver: ModelResolver) -> dict[str, Any]:
    """The record the name resolves to (user models, catalog, hub, estimate), else raise."""
    match = resolver.resolve(name)
    if match is None:
        raise CatalogError(resolver.explain(name))
    return record(match.spec, match)


__all__ = ["family_of", "list_models", "record", "show_model"]
