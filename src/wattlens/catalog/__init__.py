"""Catalog: data files with sources (TOML) and typed loaders.

Modules: gpus (GPU specs, DCGM names), models (LLM architectures, HF repos), resolve (served
name -> model: user models, catalog, hub, estimate), hfconfig (config.json -> shapes), grid (eGRID
intensity and host/namespace rules), constants (cited constants), frontier (frontier comparison
specs), papers (published parameters of the planning papers), specs (the entry types).
"""

from wattlens.catalog.constants import all_constants, constant
from wattlens.catalog.frontier import FrontierSpec, all_frontiers, get_frontier
from wattlens.catalog.gpus import all_gpus, get_gpu, gpu_id_for_dcgm_name
from wattlens.catalog.grid import (
    GridRegion,
    GridRule,
    default_region_code,
    default_rules,
    default_vintage,
    get_region,
    intensity_for,
    regions,
    resolve_region,
    vintages,
)
from wattlens.catalog.models import (
    DTYPES,
    all_models,
    find_model,
    get_model,
    match_model,
    model_arch,
    model_source,
)
from wattlens.catalog.papers import paper_ids, paper_params
from wattlens.catalog.resolve import ModelMatch, ModelResolver
from wattlens.catalog.specs import AttentionType, Cited, GpuSpec, ModelSpec

__all__ = [
    "DTYPES",
    "AttentionType",
    "Cited",
    "FrontierSpec",
    "GpuSpec",
    "GridRegion",
    "GridRule",
    "ModelMatch",
    "ModelResolver",
    "ModelSpec",
    "all_constants",
    "all_frontiers",
    "all_gpus",
    "all_models",
    "constant",
    "default_region_code",
    "default_rules",
    "default_vintage",
    "find_model",
    "get_frontier",
    "get_gpu",
    "get_model",
    "get_region",
    "gpu_id_for_dcgm_name",
    "intensity_for",
    "match_model",
    "model_arch",
    "model_source",
    "paper_ids",
    "paper_params",
    "regions",
    "resolve_region",
    "vintages",
]
