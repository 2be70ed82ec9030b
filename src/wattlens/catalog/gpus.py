"""GPU catalog: `get_gpu`, `all_gpus`, `gpu_id_for_dcgm_name` over gpus.toml."""

from __future__ import annotations

import re
from functools import cache

from wattlens.catalog._load import check_keys, check_sources, field, load_toml, suggestion
from wattlens.catalog.specs import GpuSpec
from wattlens.core import validate as v
from wattlens.core.errors import CatalogError

_FILE = "gpus.toml"
_REQUIRED = (
    "name",
    "generation",
    "memory_bytes",
    "memory_bandwidth_bytes_per_s",
    "fp16_flops",
    "tdp_watts",
    "idle_watts",
    "sources",
)
_OPTIONAL = ("fp8_flops", "aliases", "mig_profiles")
_GENERATIONS = frozenset({"Volta", "Turing", "Ampere", "Ada", "Hopper", "Blackwell"})
_VENDOR_WORDS = re.compile(r"\b(nvidia|tesla)\b")
_NON_ALNUM = re.compile(r"[^a-z0-9]")


def _key(name: str) -> str:
    """Lookup key without case, vendor words or punctuation ('NVIDIA H100 SXM' -> 'h100sxm')."""
    return _NON_ALNUM.sub("", _VENDOR_WORDS.sub("", name.casefold()))


def _build(gpu_id: str, t: dict) -> GpuSpec:
    where = f"{_FILE}: gpus.{gpu_id}"
    check_keys(t, _REQUIRED, _OPTIONAL, where)
    field(t, "generation", v.choice(*sorted(_GENERATIONS)), where)
    for key in (*_REQUIRED[2:7], *(("fp8_flops",) if "fp8_flops" in t else ())):
        field(t, key, v.number(0, "400", above=True), where)
    if t["idle_watts"] >= t["tdp_watts"]:
        raise CatalogError(f"{where}: idle_watts must be below tdp_watts")
    fp8 = t.get("fp8_flops")
    return GpuSpec(
        id=gpu_id,
        name=t["name"],
        memory_bytes=float(t["memory_bytes"]),
        memory_bandwidth_bytes_per_s=float(t["memory_bandwidth_bytes_per_s"]),
        fp16_flops=float(t["fp16_flops"]),
        fp8_flops=None if fp8 is None else float(fp8),
        tdp_watts=float(t["tdp_watts"]),
        idle_watts=float(t["idle_watts"]),
        generation=t["generation"],
        aliases=tuple(t.get("aliases", ())),
        mig_profiles=tuple(t.get("mig_profiles", ())),
        sources=check_sources(t["sources"], where),
    )


@cache
def _catalog() -> tuple[dict[str, GpuSpec], dict[str, str]]:
    """(id -> spec, lookup key -> id); a key claimed by two GPUs is a data error."""
    specs = {gid: _build(gid, t) for gid, t in load_toml(_FILE)["gpus"].items()}
    index: dict[str, str] = {}
    for spec in specs.values():
        for spelling in (spec.id, spec.name, *spec.aliases):
            k = _key(spelling)
            if index.setdefault(k, spec.id) != spec.id:
                raise CatalogError(
                    f"{_FILE}: {spelling!r} of {spec.id} also names {index[k]}; make it unique"
                )
    return specs, index


def get_gpu(name: str) -> GpuSpec:
    """The GPU for a catalog id, name, alias or DCGM `modelName` (case and punctuation ignored)."""
    specs, index = _catalog()
    gpu_id = index.get(_key(name)) if isinstance(name, str) else None
    if gpu_id is None:
        hint = suggestion(_key(str(name)), index, index)
        raise CatalogError(
            f"unknown GPU {name!r}: expected a catalog id, alias or DCGM modelName "
            f"such as 'H100-SXM' or 'NVIDIA A100-SXM4-80GB'.{hint} "
            "Add new GPUs to wattlens/catalog/gpus.toml."
        )
    return specs[gpu_id]


def gpu_id_for_dcgm_name(model_name: str | None) -> str | None:
    """Catalog id for a DCGM `modelName` label value, or None when the GPU is not in the catalog."""
    if not model_name:
        return None
    return _catalog()[1].get(_key(model_name))


def all_gpus() -> list[GpuSpec]:
    """Every GPU in the catalog, in file order."""
    return list(_catalog()[0].values())


__all__ = ["all_gpus", "get_gpu", "gpu_id_for_dcgm_name"]
