"""`/api/v2/analysis`: the fleet-efficiency analysis (`wattlens analyze --json`) over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from wattlens.web.context import JSONBytes, WebContext
from wattlens.web.params import parse_range

DEFAULT_RANGE = "7d"


def router(ctx: WebContext) -> APIRouter:
    """Routes of the analysis resource."""
    r = APIRouter(prefix="/api/v2", tags=["v2 analysis"])

    @r.get("/analysis", response_class=JSONBytes)
    def analysis(
        range: Annotated[str | None, Query(description="duration up to 90d; default 7d")] = None,  # noqa: A002
        frontier: Annotated[
            str | None, Query(description="frontier spec id (/api/v2/catalog/frontiers)")
        ] = None,
    ) -> Response:
        """Efficiency curves, idle attribution, right-sizing, consolidation, frontier ratio.

        Ends at the newest stored interval; includes chart series (`charts`). Answers are
        cached for a minute per (range, frontier).
        """
        rng = parse_range(range, default=DEFAULT_RANGE)
        return JSONBytes(ctx.analysis(rng.seconds, frontier))

    return r


__all__ = ["DEFAULT_RANGE", "router"]
