"""The old NRP dashboard's endpoints with the same paths and field names, and `/healthz`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from wattlens.web.context import JSONBytes, WebContext, json_response
from wattlens.web.legacy import carbon_body
from wattlens.web.params import LEGACY_METRICS, check_metric, check_name, parse_range
from wattlens.web.series import legacy_key_series, legacy_timeseries
from wattlens.web.snapshot import Snapshot

RangeQuery = Annotated[
    str | None,
    Query(description="24h, 7d or 30d (or a duration up to 90d); default 24h"),
]
CARBON_KEY = "v1.carbon"


def carbon_view(ctx: WebContext) -> Callable[[Snapshot], dict[str, Any]]:
    """The `/api/v1/carbon` body builder (shared with the app's fast path)."""
    return lambda snap: carbon_body(snap, ctx.config)


def router(ctx: WebContext) -> APIRouter:
    """Routes of the v1 (legacy-compatible) API."""
    r = APIRouter(tags=["v1 (old dashboard)"])

    @r.get("/api/v1/carbon", response_class=JSONBytes)
    async def carbon() -> Response:
        """Live metrics per deployment, in the old `ModelMetrics` shape and rounding."""
        body = ctx.cached_json_nowait(CARBON_KEY, carbon_view(ctx))  # no thread hop if cached
        if body is None:
            body = await run_in_threadpool(ctx.cached_json, CARBON_KEY, carbon_view(ctx))
        return JSONBytes(body)

    @r.get("/api/v1/carbon/timeseries", response_class=JSONBytes)
    def timeseries(range: RangeQuery = None) -> Response:  # noqa: A002 - the old name
        """Fleet power, CO2 g/h and mg/token; step 5m (<= 25h), 1h (<= 8d), else 6h."""
        rng = parse_range(range)
        return JSONBytes(ctx.cached_answer(
            repr(("v1.ts", rng.label)),
            lambda: legacy_timeseries(ctx.store, ctx.config, rng, ctx.clock()),
        ))  # fmt: skip

    @r.get("/api/v1/carbon/{namespace}/{container}/{metric}", response_class=JSONBytes)
    def key_series(
        namespace: str, container: str, metric: str, range: RangeQuery = None
    ) -> Response:  # noqa: A002
        """One metric summed over the deployments of (namespace, container or workload)."""
        check_name(namespace, "namespace")
        check_name(container, "container")
        check_metric(metric, LEGACY_METRICS)
        rng = parse_range(range)
        snap = ctx.snapshot()
        key = repr(("v1.key", namespace, container, metric, rng.label))  # all checked above
        return JSONBytes(ctx.cached_answer(key, lambda: legacy_key_series(
            ctx.store, ctx.config, snap.deployments, namespace, container, metric, rng,
            ctx.clock(),
        )))  # fmt: skip

    @r.get("/healthz", response_class=JSONBytes)
    async def healthz() -> Response:
        """Liveness: 200 while the process serves requests."""
        return json_response({"ok": True})

    return r


__all__ = ["CARBON_KEY", "carbon_view", "router"]
