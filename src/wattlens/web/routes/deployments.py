"""`/api/v2/deployments`: each deployment live, 24 h active-only, activity; derived series."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from wattlens.web.context import JSONBytes, WebContext, json_response
from wattlens.web.params import (
    SERIES_METRICS,
    check_metric,
    check_name,
    parse_range,
    parse_step,
)
from wattlens.web.series import deployment_series
from wattlens.web.views import deployment_view, deployments_view, find_deployment


def router(ctx: WebContext) -> APIRouter:
    """Routes of the deployments resource."""
    r = APIRouter(prefix="/api/v2/deployments", tags=["v2 deployments"])

    @r.get("", response_class=JSONBytes)
    def list_deployments() -> Response:
        """Every deployment: identity, live window, 24 h active-only averages, activity."""
        return JSONBytes(
            ctx.cached_json("v2.deployments", lambda s: deployments_view(s, ctx.config))
        )

    @r.get("/{namespace}/{workload}", response_class=JSONBytes)
    def one_deployment(namespace: str, workload: str) -> Response:
        """One deployment, same fields as in the list."""
        dep_id = f"{check_name(namespace, 'namespace')}/{check_name(workload, 'workload')}"
        snap = ctx.snapshot()
        return json_response(deployment_view(find_deployment(snap, dep_id), snap, ctx.config))

    @r.get("/{namespace}/{workload}/series", response_class=JSONBytes)
    def series(
        namespace: str,
        workload: str,
        metric: Annotated[str, Query(description=f"one of {', '.join(SERIES_METRICS)}")],
        range: Annotated[str | None, Query(description="duration up to 90d; default 24h")] = None,  # noqa: A002
        step: Annotated[str | None, Query(description="bucket size; default from range")] = None,
    ) -> Response:
        """A derived metric of one deployment, bucketed (ratios only above the threshold)."""
        dep_id = f"{check_name(namespace, 'namespace')}/{check_name(workload, 'workload')}"
        check_metric(metric, SERIES_METRICS)
        rng = parse_step(step, parse_range(range), min_step_s=ctx.config.collect.step_s)
        find_deployment(ctx.snapshot(), dep_id)
        key = repr(("v2.series", dep_id, metric, rng.label, rng.step_s))  # all checked above
        return JSONBytes(ctx.cached_answer(key, lambda: deployment_series(
            ctx.store, ctx.config, dep_id, metric, rng, ctx.clock()
        )))  # fmt: skip

    return r


__all__ = ["router"]
