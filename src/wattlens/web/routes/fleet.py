"""Fleet tiles, cumulative CO2, freshness (`/api/v2/status`, `/readyz`) and the public config."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from wattlens.web.context import JSONBytes, WebContext, json_response
from wattlens.web.params import parse_range
from wattlens.web.series import cumulative_co2
from wattlens.web.views import fleet_view, freshness_view


def router(ctx: WebContext) -> APIRouter:
    """Routes of the fleet and service resources."""
    r = APIRouter(tags=["v2 fleet"])

    @r.get("/api/v2/fleet", response_class=JSONBytes)
    def fleet() -> Response:
        """Tiles: total power, CO2 per hour and day, active GPUs and models, grid intensity."""
        return JSONBytes(
            ctx.cached_json("v2.fleet", lambda s: fleet_view(s, ctx.config, ctx.freshness()))
        )

    @r.get("/api/v2/fleet/co2", response_class=JSONBytes)
    def fleet_co2(
        range: Annotated[str | None, Query(description="24h, 7d, 30d or up to 90d")] = None,  # noqa: A002
    ) -> Response:
        """Cumulative fleet CO2 over the range, with everyday reference frames."""
        rng = parse_range(range)
        return JSONBytes(ctx.cached_answer(
            repr(("v2.co2", rng.label)), lambda: cumulative_co2(ctx.store, rng, ctx.clock())
        ))  # fmt: skip

    @r.get("/api/v2/status", response_class=JSONBytes)
    def status() -> Response:
        """Backend state and data freshness (always 200; see /readyz for a probe)."""
        return json_response(freshness_view(ctx.freshness()))

    @r.get("/readyz", response_class=JSONBytes)
    def readyz() -> Response:
        """200 when the last good sample is fresh, 503 when stale or when there is no data."""
        view = freshness_view(ctx.freshness())
        return json_response(view, status=200 if view["ready"] else 503)

    @r.get("/api/v2/config", response_class=JSONBytes)
    def config() -> Response:
        """The running configuration, secrets masked, with where each value came from."""
        return json_response(ctx.config.to_public_dict())

    return r


__all__ = ["router"]
