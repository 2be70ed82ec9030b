"""Model catalog: `get_model`, `find_model`, `match_model`, `all_models`, `model_arch`.

Entries come from models.toml (hand-checked) and models_hf.toml (built from shipped config.json
copies by `python -m wattlens.catalog.build_models`).

Names resolve through three steps: the exact spelling (id, name, alias or HF repo), then the
"core" name (organisation, a leading 'Meta-' and serving suffixes such as -Instruct, -FP8, -2507
removed), then the core name with punctuation dropped. Each step must give exactly one model.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import get_args

from wattlens.catalog._load import check_keys, check_sources, field, load_toml, suggestion
from wattlens.catalog.naming import core_name, exact_key, squashed
from wattlens.catalog.specs import AttentionType, ModelSpec
from wattlens.core import validate as v
from wattlens.core.errors import CatalogError

_FILE = "models.toml"
_REQUIRED = (
    "name",
    "layers",
    "hidden_size",
    "attention_heads",
    "kv_heads",
    "head_dim",
    "intermediate_size",
    "vocab_size",
    "total_params",
    "active_params",
    "attention_type",
    "sources",
)
_OPTIONAL = (
    "moe_experts",
    "moe_top_k",
    "moe_intermediate_size",
    "moe_shared_experts",
    "kv_lora_rank",
    "qk_rope_head_dim",
    "sliding_window",
    "max_context_tokens",
    "default_dtype",
    "hf_repos",
    "aliases",
    "arch",
)
DTYPES = frozenset({"fp32", "bf16", "fp16", "fp8", "int8", "mxfp4", "int4"})
# The hand-checked file first: its entries win over generated ones (the builder skips clashes).
_FILES = ((_FILE, "catalog"), ("models_hf.toml", "catalog_hf_config"))
MATCH_STEPS = ("exact", "core_name", "squashed_name")


def _exact(name: str) -> str:
    return exact_key(name)


def _core(name: str) -> str:
    """'meta-llama/Meta-Llama-3.1-70B-Instruct' -> 'llama-3.1-70b'."""
    return core_name(name)


def _squash(name: str) -> str:
    return squashed(name)


def _int_fields(t: dict, where: str) -> None:
    for k in ("layers", "hidden_size", "attention_heads", "kv_heads", "head_dim", "vocab_size"):
        field(t, k, v.integer(1, None, "128"), where)


def _build(model_id: str, t: dict, file: str = _FILE) -> tuple[ModelSpec, dict[str, int]]:
    where = f"{file}: models.{model_id}"
    check_keys(t, _REQUIRED, _OPTIONAL, where)
    _int_fields(t, where)
    field(t, "attention_type", v.choice(*get_args(AttentionType)), where)
    dtype = t.get("default_dtype", "bf16")
    field({"default_dtype": dtype}, "default_dtype", v.choice(*sorted(DTYPES)), where)
    if not 0 < t["active_params"] <= t["total_params"]:
        raise CatalogError(f"{where}: need 0 < active_params <= total_params")
    if t["attention_type"] == "MLA" and not (t.get("kv_lora_rank") and t.get("qk_rope_head_dim")):
        raise CatalogError(f"{where}: MLA models need kv_lora_rank and qk_rope_head_dim")
    if t.get("moe_experts", 0) and not 0 < t.get("moe_top_k", 0) <= t["moe_experts"]:
        raise CatalogError(f"{where}: MoE models need 0 < moe_top_k <= moe_experts")
    arch = dict(t.get("arch", {}))
    if not all(isinstance(v, int) for v in arch.values()):
        raise CatalogError(f"{where}.arch: values must be integers")
    skip = ("arch", "sources", "hf_repos", "aliases", "total_params", "active_params")
    fields = {k: v for k, v in t.items() if k not in skip}
    spec = ModelSpec(
        id=model_id,
        **fields,
        total_params=float(t["total_params"]),
        active_params=float(t["active_params"]),
        hf_repos=tuple(t.get("hf_repos", ())),
        aliases=tuple(t.get("aliases", ())),
        sources=check_sources(t["sources"], where),
    )
    return spec, arch


def _index(specs: Iterable[ModelSpec], key) -> dict[str, set[str]]:  # noqa: ANN001
    out: dict[str, set[str]] = {}
    for spec in specs:
        for spelling in (spec.id, spec.name, *spec.aliases, *spec.hf_repos):
            out.setdefault(key(spelling), set()).add(spec.id)
    return out


@cache
def _catalog() -> tuple[dict[str, ModelSpec], dict[str, dict[str, int]], list[dict[str, set[str]]]]:
    built: dict[str, tuple[ModelSpec, dict[str, int]]] = {}
    for file, source in _FILES:
        for mid, t in load_toml(file)["models"].items():
            if mid in built:
                raise CatalogError(f"{file}: models.{mid} is also in {_FILE}; keep one")
            built[mid] = _build(mid, t, file)
            _SOURCES[mid] = source
    specs = {mid: spec for mid, (spec, _) in built.items()}
    arch = {mid: a for mid, (_, a) in built.items()}
    indexes = [_index(specs.values(), k) for k in (_exact, _core)]
    for idx, label in zip(indexes, ("spelling", "core name"), strict=True):
        clash = {k: v for k, v in idx.items() if len(v) > 1}
        if clash:
            raise CatalogError(
                f"model catalog: {label} shared by several models: {clash}; make it unique"
            )
    indexes.append(_index(specs.values(), _squash))  # ambiguity allowed; resolved only if unique
    return specs, arch, indexes


_SOURCES: dict[str, str] = {}


def match_model(name: str | None) -> tuple[ModelSpec, str] | None:
    """(model, how it matched: 'exact', 'core_name' or 'squashed_name'), or None."""
    if not isinstance(name, str) or not name.strip():
        return None
    specs, _, indexes = _catalog()
    for index, key, step in zip(indexes, (_exact, _core, _squash), MATCH_STEPS, strict=True):
        ids = index.get(key(name))
        if ids and len(ids) == 1:
            return specs[next(iter(ids))], step
    return None


def model_source(model_id: str) -> str:
    """'catalog' (models.toml, hand-checked) or 'catalog_hf_config' (built from a config.json)."""
    _catalog()
    return _SOURCES.get(model_id, "catalog")


def _resolve(name: str) -> str | None:
    found = match_model(name)
    return None if found is None else found[0].id


def find_model(name: str | None) -> ModelSpec | None:
    """The model for an id, alias, HF repo or served name, or None when nothing matches uniquely."""
    model_id = _resolve(name) if name else None
    return None if model_id is None else _catalog()[0][model_id]


def get_model(name: str) -> ModelSpec:
    """The model for an id, alias or HF repo ('meta-llama/Llama-3.1-70B-Instruct'), else raise."""
    spec = find_model(name)
    if spec is None:
        specs, _, (_, core, _) = _catalog()
        hint = suggestion(_core(str(name)), core, {k: next(iter(v)) for k, v in core.items()})
        raise CatalogError(
            f"unknown model {name!r}: expected a catalog id, alias or Hugging Face repo "
            f"such as 'llama-3.1-70b' or 'Qwen/Qwen3-235B-A22B'.{hint} "
            "Add the model's config.json to [models] directory in wattlens.toml, or see "
            "`wattlens models list`."
        )
    return spec


def all_models() -> list[ModelSpec]:
    """Every model in the catalog, in file order."""
    return list(_catalog()[0].values())


def model_arch(name: str) -> dict[str, int]:
    """Architecture facts ModelSpec has no field for (e.g. full_attention_layers); may be empty."""
    return dict(_catalog()[1][get_model(name).id])


__all__ = [
    "DTYPES",
    "MATCH_STEPS",
    "all_models",
    "find_model",
    "get_model",
    "match_model",
    "model_arch",
    "model_source",
]
