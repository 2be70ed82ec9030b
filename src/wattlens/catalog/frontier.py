"""Frontier-model comparison specs: what a frontier-scale deployment draws for the same tokens."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from wattlens.catalog._load import check_keys, check_sources, field, load_toml, suggestion
from wattlens.catalog.gpus import get_gpu
from wattlens.core import validate as v
from wattlens.core.errors import CatalogError

_FILE = "frontier.toml"
_REQUIRED = (
    "description",
    "total_params",
    "active_params",
    "dtype_bytes",
    "gpu",
    "gpu_count",
    "sources",
)
_OPTIONAL = (
    "idle_watts_per_gpu",
    "prompt_joules_per_token",
    "generation_joules_per_token",
    "legacy",
    "notes",
)


@dataclass(frozen=True, slots=True)
class FrontierSpec:
    """A hypothetical frontier deployment. None marginal energies = derive from physics."""

    id: str
    description: str
    total_params: float
    active_params: float
    dtype_bytes: float
    gpu: str  # GPU catalog id
    gpu_count: int
    idle_watts_per_gpu: float | None  # None = the GPU catalog's idle_watts
    prompt_joules_per_token: float | None
    generation_joules_per_token: float | None
    legacy: bool = False
    sources: tuple[str, ...] = ()
    notes: str = ""

    @property
    def idle_floor_watts(self) -> float:
        """gpu_count x idle watts per GPU (from this spec, else from the GPU catalog)."""
        per_gpu = self.idle_watts_per_gpu
        if per_gpu is None:
            per_gpu = get_gpu(self.gpu).idle_watts
        return self.gpu_count * per_gpu


def _optional_float(t: dict, key: str) -> float | None:
    return None if t.get(key) is None else float(t[key])


def _build(fid: str, t: dict) -> FrontierSpec:
    where = f"{_FILE}: frontiers.{fid}"
    check_keys(t, _REQUIRED, _OPTIONAL, where)
    field(t, "gpu_count", v.integer(1, None, "8"), where)
    return FrontierSpec(
        id=fid,
        description=t["description"],
        total_params=float(t["total_params"]),
        active_params=float(t["active_params"]),
        dtype_bytes=float(t["dtype_bytes"]),
        gpu=get_gpu(t["gpu"]).id,
        gpu_count=t["gpu_count"],
        idle_watts_per_gpu=_optional_float(t, "idle_watts_per_gpu"),
        prompt_joules_per_token=_optional_float(t, "prompt_joules_per_token"),
        generation_joules_per_token=_optional_float(t, "generation_joules_per_token"),
        legacy=bool(t.get("legacy", False)),
        sources=check_sources(t["sources"], where),
        notes=t.get("notes", ""),
    )


@cache
def _catalog() -> dict[str, FrontierSpec]:
    return {fid: _build(fid, t) for fid, t in load_toml(_FILE)["frontiers"].items()}


def get_frontier(name: str) -> FrontierSpec:
    """The frontier spec `name` (case-insensitive), e.g. 'nrp-2026'; CatalogError if unknown."""
    table = _catalog()
    key = str(name).strip().casefold()
    if key not in table:
        raise CatalogError(
            f"unknown frontier spec {name!r}: expected one of {', '.join(table)}."
            f"{suggestion(key, table, {})}"
        )
    return table[key]


def default_frontier() -> FrontierSpec:
    """The spec every output uses unless one is asked for (`default` in frontier.toml)."""
    return get_frontier(str(load_toml(_FILE)["default"]))


def all_frontiers() -> list[FrontierSpec]:
    """Every frontier spec, in file order."""
    return list(_catalog().values())


__all__ = ["FrontierSpec", "all_frontiers", "default_frontier", "get_frontier"]
