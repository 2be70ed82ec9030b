"""The CLI's reads over HTTP (`status`, `report`, `export` with `--url`): the same functions the
CLI runs on a file, so a running service answers exactly what the file would."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from wattlens.app.gridcarbon import grid_hook
from wattlens.app.ops import period, report, status
from wattlens.app.settings import carbon_model
from wattlens.core.errors import InputError
from wattlens.store import as_tier
from wattlens.web.context import JSONBytes, WebContext, json_response

MEDIA = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv"}


def router(ctx: WebContext) -> APIRouter:
    """Routes of the CLI's reads."""
    r = APIRouter(prefix="/api/v2", tags=["v2 cli reads"])
    carbon = carbon_model(ctx.config)
    grid = grid_hook(ctx.config, carbon)  # report CO2 from [grid] (live hourly or static)

    @r.get("/live", response_class=JSONBytes)
    def live() -> Response:
        """`wattlens status --json`: rates per deployment over the live window of stored data."""
        thr = ctx.config.thresholds.min_tokens_per_s_for_ratio
        window = ctx.config.collect.live_window_s
        rows = status(ctx.store, window_s=window, min_tokens_per_s=thr, carbon=carbon)
        return json_response({"deployments": rows})

    @r.get("/report", response_class=JSONBytes)
    def report_(
        since: Annotated[str | None, Query(description="ISO time, epoch s or '7d' ago")] = None,
        until: Annotated[str | None, Query(description="ISO time, epoch s or '1d' ago")] = None,
        range: Annotated[str | None, Query(description="last period, e.g. 24h")] = None,  # noqa: A002
    ) -> Response:
        """`wattlens report --json`: totals per deployment and for the fleet over a period."""
        since_s, until_s = period(since, until, range, time.time())
        thr = ctx.config.thresholds.min_tokens_per_s_for_ratio
        body = report(ctx.store, since_s=since_s, until_s=until_s, min_tokens_per_s=thr, grid=grid)
        return json_response({"since": since_s, "until": until_s, **body})

    @r.get("/export")
    def export(
        format: Annotated[str, Query(description="parquet or csv")] = "parquet",  # noqa: A002
        tier: Annotated[str, Query(description="raw, 5m or 1h")] = "raw",
        since: Annotated[str | None, Query(description="ISO time, epoch s or '7d' ago")] = None,
        until: Annotated[str | None, Query(description="ISO time, epoch s or '1d' ago")] = None,
    ) -> Response:
        """`wattlens export`: stored intervals as a Parquet or CSV file."""
        if format not in MEDIA:
            raise InputError(f"format {format!r}: expected parquet or csv", field="format")
        since_s, until_s = period(since, until, None, time.time())
        folder = tempfile.mkdtemp(prefix="wattlens-export-")
        path = Path(folder) / f"wattlens.{format}"
        ctx.store.export(path, fmt=format, tier=as_tier(tier), start_s=since_s, end_s=until_s)
        return FileResponse(path, media_type=MEDIA[format], filename=path.name,
                            background=BackgroundTask(_remove, Path(folder)))  # fmt: skip

    return r


def _remove(folder: Path) -> None:
    for f in folder.iterdir():
        f.unlink(missing_ok=True)
    folder.rmdir()


__all__ = ["router"]
