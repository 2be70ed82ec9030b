"""`/api/v2/plan/tokw` and `/api/v2/plan/fleet`: the planner (`wattlens plan`) over HTTP."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Query
from starlette.responses import Response

from wattlens.catalog import DTYPES
from wattlens.web.context import JSONBytes, WebContext, json_response
from wattlens.web.params import MAX_CONTEXT_TOKENS, parse_choice, parse_contexts, parse_list
from wattlens.web.params import parse_number as num
from wattlens.web.planning import (
    CONVENTIONS,
    DEFAULT_PROFILE,
    MAX_BATCH,
    MAX_FLEET_GPUS,
    MAX_GAMMA,
    MAX_GPUS,
    MAX_MODELS,
    MAX_RATE_RPS,
    MAX_SLO_TTFT_MS,
    PROFILES,
    TOPOLOGIES,
    TP_CHOICES,
    TRACES,
    VARIANTS,
    Options,
    fleet_body,
    resolve_gpus,
    resolve_models,
    tokw_body,
)

DEFAULT_CONTEXTS = (2048, 4096, 8192, 16384, 32768, 65536, 131072)
_DTYPES = tuple(sorted(DTYPES))

Opt = Annotated[str | None, Query()]
TpQ = Annotated[str | None, Query(description=f"tensor parallelism, one of {TP_CHOICES}")]
DtypeQ = Annotated[str | None, Query(description=f"weights dtype, one of {_DTYPES}")]
ProfileQ = Annotated[
    str | None,
    Query(
        description="calibrated (default: physics model fitted on ML.ENERGY H100), computed "
        "(the 1/W paper's ComputedProfile) or paper (published tables)"
    ),
]
ConvQ = Annotated[str | None, Query(description="physical (default) or paper (per GPU)")]
VariantQ = Annotated[str | None, Query(description="consistent (default) or published")]


C = TypeVar("C", bound=str)


def _choice(value: str | None, name: str, allowed: tuple[C, ...], default: C) -> C:
    """`parse_choice`, typed as the one of `allowed` it matched (a planner Literal)."""
    picked = parse_choice(value, name, allowed, default)
    return next(a for a in allowed if a == picked)


def _options(
    tp: str | None, dtype: str | None, profile: str | None, convention: str | None,
    variant: str | None,
) -> Options:  # fmt: skip
    return Options(
        tp=None if tp in (None, "") else int(parse_choice(tp, "tp", TP_CHOICES, "1")),
        dtype=None if dtype in (None, "") else parse_choice(dtype, "dtype", _DTYPES, "fp16"),
        profile=_choice(profile, "profile", PROFILES, DEFAULT_PROFILE),
        convention=_choice(convention, "convention", CONVENTIONS, "physical"),
        variant=_choice(variant, "variant", VARIANTS, "consistent"),
    )


def router(ctx: WebContext) -> APIRouter:
    """Routes of the planning resource."""
    r = APIRouter(prefix="/api/v2/plan", tags=["v2 planning"])

    @r.get("/tokw", response_class=JSONBytes)
    def tokw(
        model: Annotated[
            str, Query(description=f"catalog model(s), comma-separated, <= {MAX_MODELS}")
        ],
        gpu: Annotated[str, Query(description=f"catalog GPU(s), comma-separated, <= {MAX_GPUS}")],
        context: Annotated[
            str | None,
            Query(
                description=f"context windows in tokens, comma-separated, <= 32 values, each "
                f"<= {MAX_CONTEXT_TOKENS}; default 2048..131072"
            ),
        ] = None,  # fmt: skip
        batch: Annotated[str | None, Query(description="fixed batch (default: KV limit)")] = None,
        tp: TpQ = None,
        dtype: DtypeQ = None,
        profile: ProfileQ = None,
        convention: ConvQ = None,
        variant: VariantQ = None,
    ) -> Response:
        """Tokens per watt against the context window per (model, GPU), with the 1/W line."""
        opts = _options(tp, dtype, profile, convention, variant)
        contexts = parse_contexts(context, DEFAULT_CONTEXTS)
        b = num(batch, "batch", lo=1, hi=MAX_BATCH, integer=True)
        models = resolve_models(parse_list(model, "model", max_items=MAX_MODELS))
        gpus = resolve_gpus(parse_list(gpu, "gpu", max_items=MAX_GPUS))
        return json_response(tokw_body(models, gpus, contexts, None if b is None else int(b), opts))

    @r.get("/fleet", response_class=JSONBytes)
    def fleet(
        model: Annotated[str, Query(description="catalog model")],
        gpu: Annotated[str, Query(description=f"GPU(s), comma-separated, <= {MAX_FLEET_GPUS}")],
        rate: Annotated[str, Query(description=f"arrival rate, requests/s, (0, {MAX_RATE_RPS:g}]")],
        trace: Annotated[str | None, Query(description=f"one of {', '.join(TRACES)}")] = None,
        topology: Annotated[
            str | None, Query(description="homo, pool, fleetopt; comma-separated (default all)")
        ] = None,
        split: Annotated[
            str | None, Query(description="short-pool window (default: optimised)")
        ] = None,
        gamma: Annotated[
            str | None, Query(description="FleetOpt gamma (default: optimised)")
        ] = None,
        slo_ttft_ms: Annotated[str | None, Query(description="P99 TTFT SLO, default 500")] = None,
        max_util: Annotated[str | None, Query(description="utilisation cap, default 0.85")] = None,
        tp: TpQ = None,
        dtype: DtypeQ = None,
        profile: ProfileQ = None,
        convention: ConvQ = None,
        variant: VariantQ = None,
    ) -> Response:
        """Fleet sizing per GPU x topology (M/G/c, Kimura P99) with tok/W gains as ratios."""
        opts = _options(tp, dtype, profile, convention, variant)
        rate_rps = num(rate, "rate", lo=0, hi=MAX_RATE_RPS, lo_open=True)
        topologies = parse_list(topology, "topology", max_items=3, default=",".join(TOPOLOGIES))
        topologies = [parse_choice(t, "topology", TOPOLOGIES, "homo") for t in topologies]
        split_tokens = num(split, "split", lo=1, hi=MAX_CONTEXT_TOKENS, integer=True)
        body = fleet_body(
            resolve_models([model])[0],
            resolve_gpus(parse_list(gpu, "gpu", max_items=MAX_FLEET_GPUS)),
            rate_rps=float(rate_rps or 0.0),
            trace=parse_choice(trace, "trace", TRACES, "azure"),
            topologies=list(dict.fromkeys(topologies)),
            split_tokens=None if split_tokens is None else int(split_tokens),
            gamma=num(gamma, "gamma", lo=1, hi=MAX_GAMMA),
            slo_ttft_ms=float(
                num(
                    slo_ttft_ms,
                    "slo_ttft_ms",
                    lo=0,
                    hi=MAX_SLO_TTFT_MS,
                    lo_open=True,
                    default=500.0,
                )
                or 500.0
            ),  # fmt: skip
            max_util=float(
                num(max_util, "max_util", lo=0, hi=1, lo_open=True, hi_open=True, default=0.85)
                or 0.85
            ),
            opts=opts,
        )
        return json_response(body)

    return r


__all__ = ["DEFAULT_CONTEXTS", "router"]
