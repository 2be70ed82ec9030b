"""`/api/v2/fit/sweetspot`: the SweetSpot fit (`wattlens fit sweetspot`) over an uploaded CSV,
and `/api/v2/fit/sweetspot/grid`: the synthetic grid of `wattlens plan grid` as CSV."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, UploadFile
from starlette.responses import Response

from wattlens.core.errors import InputError
from wattlens.web.context import JSONBytes, WebContext, json_response
from wattlens.web.params import parse_choice
from wattlens.web.params import parse_number as num
from wattlens.web.planning import query_names, resolve_gpus, resolve_models

MAX_UPLOAD_BYTES = 16 << 20
FORMS = ("flops", "memory")
GRID_SIZES = (7, 16, 32, 64)


def router(ctx: WebContext) -> APIRouter:
    """Routes of the sweet-spot fit."""
    r = APIRouter(prefix="/api/v2/fit", tags=["v2 planning"])

    @r.post("/sweetspot", response_class=JSONBytes)
    def sweetspot(
        data: Annotated[
            UploadFile,
            File(
                description="CSV: n_in, n_out, energy_joules (or joules_per_output_token)"
                "[, concurrency|batch]"
            ),
        ],  # fmt: skip
        model: Annotated[str, Query(description="catalog model the data was measured on")],
        form: Annotated[str | None, Query(description="flops (default) or memory")] = None,
        concurrency: Annotated[
            str | None, Query(description="serving setting to fit when the data has several")
        ] = None,
        folds: Annotated[str | None, Query(description="cross-validation folds, 2..20")] = None,
        cells: Annotated[str | None, Query(description="heatmap cells per axis, 4..64")] = None,
    ) -> Response:
        """θ, cross-validated MAPE, n_out* per prompt length and the tokens-per-joule heatmap."""
        from wattlens.catalog import get_model
        from wattlens.plan.sweetspot import fit_sweetspot, heatmap
        from wattlens.plan.sweetspot_data import parse_sweetspot_csv

        spec = get_model(resolve_models([model])[0])
        memory = parse_choice(form, "form", FORMS, "flops") == "memory"
        chosen: Literal["flops", "memory"] = "memory" if memory else "flops"
        setting = num(concurrency, "concurrency", lo=0, hi=1e9)
        k = int(num(folds, "folds", lo=2, hi=20, integer=True, default=5) or 5)
        n_cells = int(num(cells, "cells", lo=4, hi=64, integer=True, default=32) or 32)
        raw = data.file.read(MAX_UPLOAD_BYTES + 1)
        if len(raw) > MAX_UPLOAD_BYTES:
            raise InputError(f"data: upload over {MAX_UPLOAD_BYTES >> 20} MiB", field="data")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise InputError(f"data: not UTF-8 text ({e.reason})", field="data") from e
        with query_names():
            points = parse_sweetspot_csv(text, setting=setting, source=data.filename or "data")
            fit = fit_sweetspot(points, spec, form=chosen, folds=k)
        return json_response({**fit.to_json(), "heatmap": heatmap(fit, cells=n_cells).to_json()})

    @r.get("/sweetspot/grid")
    def grid(
        model: Annotated[str, Query(description="catalog model")],
        gpu: Annotated[str | None, Query(description="catalog GPU (default H100-SXM)")] = None,
        size: Annotated[
            str | None, Query(description=f"lengths per axis, one of {GRID_SIZES}")
        ] = None,
        concurrency: Annotated[str | None, Query(description="requests in flight, 1..4096")] = None,
        noise: Annotated[str | None, Query(description="relative noise, 0..0.5")] = None,
        seed: Annotated[str | None, Query(description="noise seed")] = None,
    ) -> Response:
        """`wattlens plan grid` as text/csv: energy over (n_in, n_out) from the physics core."""
        from wattlens.plan.grid import geometric_lengths, synthetic_grid

        m = resolve_models([model])[0]
        g = resolve_gpus([gpu or "H100-SXM"])[0]
        n = int(parse_choice(size, "size", tuple(str(s) for s in GRID_SIZES), "7"))
        with query_names():
            axis = geometric_lengths(64, 4096, n)
            out = synthetic_grid(
                m, g, n_in=axis, n_out=axis,
                concurrency=int(num(concurrency, "concurrency", lo=1, hi=4096, integer=True,
                                    default=16) or 16),
                noise=float(num(noise, "noise", lo=0, hi=0.5, default=0.0) or 0.0),
                seed=int(num(seed, "seed", lo=0, hi=2**31, integer=True, default=0) or 0),
            )  # fmt: skip
        return Response(out.to_csv(), media_type="text/csv; charset=utf-8")

    return r


__all__ = ["MAX_UPLOAD_BYTES", "router"]
