"""`/api/v2/plan/query` and `/api/v2/plan/daily`: energy per query and per day at scale
(Oviedo et al. 2025), as `wattlens plan query` / `plan daily` compute them.

Parameters carry the library's field names (`power_use`, `node_kw`, ...), so an error message
names the parameter to fix. Sample counts are capped to keep one answer under a second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from wattlens.web.context import JSONBytes, WebContext, json_response
from wattlens.web.params import check_name, parse_number, parse_range

if TYPE_CHECKING:
    from wattlens.plan.query import QueryInputs

MAX_WEB_SAMPLES = 200_000
MAX_WEB_BOOTSTRAP = 2_000
HISTOGRAM_BINS = 48

Opt = Annotated[str | None, Query()]
ModelQ = Annotated[
    str | None, Query(description="model(s) of the throughput table, comma-separated")
]
BlendQ = Annotated[
    str | None,
    Query(description="top3 (default without model: the paper's >200B blend), topN, m1,m2, none"),
]
NodeKwQ = Annotated[
    str | None, Query(description="node max power kW: 11.3 or deepseek-r1=14.1,default=11.3")
]
PuQ = Annotated[str | None, Query(description="power use of max, P5-P95, default 0.4-0.9")]
PueQ = Annotated[str | None, Query(description="PUE, P5-P95, default 1.05-1.6")]
InQ = Annotated[str | None, Query(description="input tokens, default 500")]
OutQ = Annotated[str | None, Query(description="median output tokens (exponential), default 300")]
SamplesQ = Annotated[
    str | None, Query(description=f"samples per model, 100 to {MAX_WEB_SAMPLES}, default 10000")
]
SeedQ = Annotated[str | None, Query(description="random seed, default 42")]
QuantQ = Annotated[str | None, Query(description="throughput rows: FP8 (default), FP16 or all")]


def _query_inputs(
    model: str | None, blend: str | None, node_kw: str | None, power_use: str | None,
    pue: str | None, input_tokens: str | None, output_median: str | None, samples: str | None,
    seed: str | None, quantization: str | None, *, default_blend: str,
) -> QueryInputs:  # fmt: skip
    from wattlens.plan.query import QueryInputs, parse_node_kw
    from wattlens.plan.query import parse_range as lognormal_range

    models = tuple(m.strip() for m in (model or "").split(",") if m.strip())
    b = (blend or "").strip() or default_blend
    n = parse_number(samples, "samples", lo=100, hi=MAX_WEB_SAMPLES, integer=True)
    s = parse_number(seed, "seed", lo=0, hi=2**63 - 1, integer=True)
    return QueryInputs(
        models=models,
        blend=None if b.lower() == "none" else b,
        node_kw=parse_node_kw(node_kw) if node_kw else {},
        power_use=lognormal_range(power_use, "power_use") if power_use else None,
        pue=lognormal_range(pue, "pue") if pue else None,
        input_tokens=parse_number(input_tokens, "input_tokens", lo=0, hi=1e7, lo_open=True),
        output_median_tokens=parse_number(
            output_median, "output_median", lo=0, hi=1e7, lo_open=True
        ),  # fmt: skip
        samples=None if n is None else int(n),
        seed=None if s is None else int(s),
        quantization=quantization or None,
    )


def router(ctx: WebContext) -> APIRouter:
    """Routes of the per-query and per-day energy resource."""
    r = APIRouter(prefix="/api/v2/plan", tags=["v2 planning"])

    @r.get("/query", response_class=JSONBytes)
    def query(
        model: ModelQ = None,
        blend: BlendQ = None,
        node_kw: NodeKwQ = None,
        power_use: PuQ = None,
        pue: PueQ = None,
        input_tokens: InQ = None,
        output_median: OutQ = None,
        samples: SamplesQ = None,
        seed: SeedQ = None,
        quantization: QuantQ = None,
        from_fleet: Annotated[
            str | None,
            Query(description="deployment id (namespace/workload): its measured tok/s and power"),
        ] = None,
        range_: Annotated[
            str | None, Query(alias="range", description="history for from_fleet, default 7d")
        ] = None,
    ) -> Response:
        """Wh per query (median, p25, p75, mean) per model and blend, with a histogram."""
        from wattlens.plan.fleet_measure import measure_deployment
        from wattlens.plan.query import plan_query

        inp = _query_inputs(model, blend, node_kw, power_use, pue, input_tokens, output_median,
                            samples, seed, quantization,
                            default_blend="none" if model else "top3")  # fmt: skip
        measure = None
        period = parse_range(range_, default="7d")  # checked even without from_fleet
        if from_fleet:
            for part in from_fleet.split("/", 1):
                check_name(part, "from_fleet")
            now = ctx.clock()
            measure = measure_deployment(
                ctx.store, from_fleet, since_s=now - period.seconds, until_s=now,
                min_tokens_per_s=ctx.config.thresholds.min_tokens_per_s_for_ratio,
            )  # fmt: skip
        result = plan_query(inp, fleet=measure)
        return json_response(result.as_dict(histogram_bins=HISTOGRAM_BINS))

    @r.get("/daily", response_class=JSONBytes)
    def daily(
        queries: Annotated[str | None, Query(description="queries per day, default 1e9")] = None,
        long_share: Annotated[
            str | None, Query(description="share of long queries 0-1, default 0.1")
        ] = None,
        long_output_median: Annotated[
            str | None, Query(description="median output tokens of long queries, default 5000")
        ] = None,
        overhead: Annotated[
            str | None, Query(description="fleet overhead on the mean, default 1.10*1.076*1.12")
        ] = None,
        interventions: Annotated[
            str | None,
            Query(description="none, or model,serving,hardware,serving_v1 (default serving_v1)"),
        ] = None,
        bootstrap: Annotated[
            str | None, Query(description=f"bootstrap resamples, 10 to {MAX_WEB_BOOTSTRAP}")
        ] = None,
        model: ModelQ = None,
        blend: BlendQ = None,
        node_kw: NodeKwQ = None,
        power_use: PuQ = None,
        pue: PueQ = None,
        input_tokens: InQ = None,
        output_median: OutQ = None,
        samples: SamplesQ = None,
        seed: SeedQ = None,
        quantization: QuantQ = None,
    ) -> Response:
        """GWh/day with bootstrap low/high per scenario, interventions and waterfall steps."""
        from wattlens.plan.daily import (
            MAX_QUERIES_PER_DAY,
            DailyInputs,
            parse_interventions,
            parse_overhead,
            plan_daily,
        )

        # a day is over a blend: the named models (all of them), else the paper's top 3
        inp = _query_inputs(model, blend, node_kw, power_use, pue, input_tokens, output_median,
                            samples, seed, quantization, default_blend=model or "top3")  # fmt: skip
        boot = parse_number(bootstrap, "bootstrap", lo=10, hi=MAX_WEB_BOOTSTRAP, integer=True)
        body = plan_daily(
            DailyInputs(
                query=inp,
                queries_per_day=parse_number(
                    queries, "queries", lo=0, hi=MAX_QUERIES_PER_DAY, lo_open=True
                ),  # fmt: skip
                long_share=parse_number(long_share, "long_share", lo=0, hi=1),
                long_output_median_tokens=parse_number(
                    long_output_median, "long_output_median", lo=0, hi=1e7, lo_open=True
                ),
                overhead=parse_overhead(overhead) if overhead else None,
                interventions=parse_interventions(interventions) if interventions else None,
                bootstrap_resamples=None if boot is None else int(boot),
            )
        )
        return json_response(body)

    return r


__all__ = ["MAX_WEB_BOOTSTRAP", "MAX_WEB_SAMPLES", "router"]
