"""`/api/v2/catalog/*`: the GPUs, models and frontier specs the planner and analysis know."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from wattlens.catalog import DTYPES, all_frontiers, all_gpus, all_models
from wattlens.catalog.frontier import default_frontier
from wattlens.web.context import JSONBytes, WebContext
from wattlens.web.planning import TRACES


def _models() -> dict[str, Any]:
    rows = [{**asdict(m), "is_moe": m.is_moe} for m in all_models()]
    return {"models": rows, "dtypes": sorted(DTYPES), "traces": list(TRACES)}


def _frontiers() -> dict[str, Any]:
    return {
        "default": default_frontier().id,
        "frontiers": [asdict(f) for f in all_frontiers()],
    }


def router(ctx: WebContext) -> APIRouter:
    """Routes of the catalog resource (the catalog is fixed while the process runs)."""
    r = APIRouter(prefix="/api/v2/catalog", tags=["v2 catalog"])

    @r.get("/gpus", response_class=JSONBytes)
    def gpus() -> Response:
        """Every catalog GPU: id, name, generation, memory, bandwidth, FLOPs, TDP, idle W."""
        return JSONBytes(ctx.cached_static("catalog.gpus", lambda: {
            "gpus": [asdict(g) for g in all_gpus()]}))  # fmt: skip

    @r.get("/models", response_class=JSONBytes)
    def models() -> Response:
        """Every catalog model (architecture, parameters, default dtype), the dtypes, traces."""
        return JSONBytes(ctx.cached_static("catalog.models", _models))

    @r.get("/frontiers", response_class=JSONBytes)
    def frontiers() -> Response:
        """Frontier comparison specs (`/api/v2/analysis?frontier=`) and the default one."""
        return JSONBytes(ctx.cached_static("catalog.frontiers", _frontiers))

    return r


__all__ = ["router"]
