"""`wattlens plan query` and `wattlens plan daily`: energy per query and per day at scale
(Oviedo et al. 2025). `mount(plan_app)` adds both commands to the `plan` sub-app.

Thin commands: parse options, call `wattlens.plan.query.plan_query` / `wattlens.plan.daily.
plan_daily`, render a rich table or `--json`. Library errors name fields (`node_kw`); the
commands re-raise them naming the flag (FLAGS); the root app prints them as one line.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wattlens.cli.options import naming_flags

if TYPE_CHECKING:
    from wattlens.plan.query import QueryInputs

FLAGS = {
    "blend": "--blend",
    "bootstrap": "--bootstrap",
    "from_fleet": "--from-fleet",
    "input_tokens": "--input",
    "interventions": "--interventions",
    "long_output_median": "--long-output-median",
    "long_share": "--long-share",
    "model": "--model",
    "node_kw": "--node-kw",
    "output_dist": "--output-dist",
    "output_median": "--output-median",
    "overhead": "--overhead",
    "plot": "--plot",
    "power_use": "--pu",
    "pue": "--pue",
    "quantization": "--quantization",
    "queries": "--queries",
    "samples": "--samples",
    "seed": "--seed",
    "throughput": "--throughput",
    "tokens_per_s": "--from-fleet",
}


_flags = naming_flags(FLAGS)


ModelOpt = Annotated[
    str | None, typer.Option("--model", help="Model(s) of the throughput table, comma-separated.")
]
NodeKwOpt = Annotated[
    str | None,
    typer.Option("--node-kw", help="Node max power, kW: 11.3, or deepseek-r1=14.1,default=11.3."),
]
PuOpt = Annotated[
    str | None, typer.Option("--pu", help="Power use of max, P5-P95 (default 0.4-0.9).")
]
PueOpt = Annotated[str | None, typer.Option("--pue", help="PUE, P5-P95 (default 1.05-1.6).")]
InputOpt = Annotated[float | None, typer.Option("--input", help="Input tokens (default 500).")]
OutMedOpt = Annotated[
    float | None,
    typer.Option("--output-median", help="Median output tokens, exponential (default 300)."),
]
OutDistOpt = Annotated[
    Path | None,
    typer.Option("--output-dist", help="File of output lengths (one a line, or output_tokens)."),
]
SamplesOpt = Annotated[
    int | None, typer.Option("--samples", help="Samples per model (default 10000).")
]
SeedOpt = Annotated[int | None, typer.Option("--seed", help="Random seed (default 42).")]
BlendOpt = Annotated[
    str | None,
    typer.Option("--blend", help="top3 (the paper's >200B blend), topN, m1,m2 or none."),
]
QuantOpt = Annotated[
    str | None, typer.Option("--quantization", help="Rows to fit: FP8 (paper), FP16 or all.")
]
ThroughputOpt = Annotated[
    Path | None,
    typer.Option(
        "--throughput",
        help="Own bench CSV: model,input_tokens,output_tokens,tokens_per_s (default: shipped).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _inputs(
    model: str | None, node_kw: str | None, pu: str | None, pue: str | None,
    input_tokens: float | None, output_median: float | None, output_dist: Path | None,
    samples: int | None, seed: int | None, blend: str | None, quantization: str | None,
    throughput: Path | None,
) -> QueryInputs:  # fmt: skip
    from wattlens.plan.query import QueryInputs, parse_node_kw, parse_range, read_output_lengths
    from wattlens.plan.throughput import read_points

    models = tuple(m.strip() for m in (model or "").split(",") if m.strip())
    if blend is None:
        blend = "none" if models else "top3"
    return QueryInputs(
        models=models,
        blend=None if blend.strip().lower() == "none" else blend.strip(),
        node_kw=parse_node_kw(node_kw) if node_kw is not None else {},
        power_use=parse_range(pu, "power_use") if pu is not None else None,
        pue=parse_range(pue, "pue") if pue is not None else None,
        input_tokens=input_tokens,
        output_median_tokens=output_median,
        output_lengths=read_output_lengths(output_dist) if output_dist is not None else None,
        samples=samples,
        seed=seed,
        quantization=quantization,
        points=tuple(read_points(throughput)) if throughput is not None else None,
    )


def _wh(v: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:,.3f}" if v < 100 else f"{v:,.0f}"


def _num(v: float | None, fmt: str) -> str:
    return "—" if v is None else format(v, fmt)


def _print_table(title: str, headers: list[str], rows: list[list[str]], bold: int = -1) -> None:
    """A rich table whose cells are never cut: each column as wide as its widest cell, and the
    table printed as wide as it needs (piped output is not truncated)."""
    from rich.table import Table

    from wattlens.cli.render import console

    t = Table(title=title, header_style="bold")
    need = 1
    for i, h in enumerate(headers):
        widest = max([len(r[i]) for r in rows] + [len(h)])
        t.add_column(h, justify="left" if i == 0 else "right", no_wrap=i > 0, min_width=widest)
        need += widest + 3
    for i, r in enumerate(rows):
        t.add_row(*r, style="bold" if i == bold else None)
    console.print(t, width=max(console.width, need), crop=False)


def _fit_rows(models: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for r in models:
        f = r["fit"]
        if f is None:
            continue
        b = f["beta"] or [None, None, None]
        loo = f["loo_mape_percent"]
        rows.append([r["model"], str(f["points"]), _num(b[0], ".3f"), _num(b[1], "+.3f"),
                     _num(b[2], "+.3f"), f"{f['tokens_per_s_max']:,.0f}",
                     _num(f["rmse_log"], ".3f"), _num(f["loo_rmse_log"], ".3f"),
                     "—" if loo is None else f"{loo:.0f} %"])  # fmt: skip
    return rows


def _show_query(body: dict[str, Any]) -> None:
    from wattlens.cli.render import console

    p = body["parameters"]
    rows = [[r["model"], f"{r['node_kw']:g}", _wh(r["median_wh"]), _wh(r["p25_wh"]),
             _wh(r["p75_wh"]), _wh(r["mean_wh"])] for r in body["models"]]  # fmt: skip
    b, f = body.get("blend"), body.get("fleet")
    bold = -1
    if b:
        bold = len(rows)
        rows.append(["blend", "", _wh(b["median_wh"]), _wh(b["p25_wh"]), _wh(b["p75_wh"]),
                     _wh(b["mean_wh"])])  # fmt: skip
    if f:
        rows.append([f"fleet {f['deployment_id']}", f"{f['power_kw']:.3g}", _wh(f["median_wh"]),
                     _wh(f["p25_wh"]), _wh(f["p75_wh"]), _wh(f["mean_wh"])])  # fmt: skip
    _print_table("Energy per query (Wh), Monte Carlo",
                 ["model", "node kW", "median", "p25", "p75", "mean"], rows, bold)  # fmt: skip
    if b:
        console.print(f"blend of {', '.join(b['models'])}", style="dim")
    _print_table("Throughput regression ln TPS = b0 + b1 ln L_in + b2 ln L_out, capped at max",
                 ["model", "pts", "b0", "b1", "b2", "max tok/s", "rmse", "rmse LOO", "err LOO"],
                 _fit_rows(body["models"]))  # fmt: skip
    out = p["output_tokens_median"]
    lout = f"exponential, median {out:g}" if out else "from file"
    console.print(
        f"L_in {p['input_tokens']:g} tokens; L_out {lout}; PU {p['power_use_p5']:g}-"
        f"{p['power_use_p95']:g}, PUE {p['pue_p5']:g}-{p['pue_p95']:g} (log-normal P5-P95); "
        f"{p['samples_per_model']:,} samples/model, seed {p['seed']}; {p['quantization']} rows "
        f"of the {p['throughput_table']} throughput table. rmse: of ln TPS (in-sample; LOO: "
        "leave-one-out, held-out points; 3 points leave none); err LOO: mean |error| of TPS at "
        f"held-out points. Blend: each model trimmed to P5-P95, "
        "then P10-P90, pooled; its mean is over the untrimmed samples.",
        style="dim",
    )
    if f:
        req = f["measured_wh_per_request"]
        console.print(
            f"measured on {f['deployment_id']}: {_wh(req)} Wh/request GPU energy "
            f"(idle {_wh(f['idle_wh_per_request'])}, marginal {_wh(f['marginal_wh_per_request'])}"
            f"), mean {f['mean_output_tokens_per_request'] or 0:,.0f} output tokens/request"
            if req is not None
            else f"{f['deployment_id']}: no finished-request counts stored (Wh/request unknown)"
        )


@_flags
def query(
    model: ModelOpt = None,
    node_kw: NodeKwOpt = None,
    pu: PuOpt = None,
    pue: PueOpt = None,
    input_tokens: InputOpt = None,
    output_median: OutMedOpt = None,
    output_dist: OutDistOpt = None,
    samples: SamplesOpt = None,
    seed: SeedOpt = None,
    blend: BlendOpt = None,
    quantization: QuantOpt = None,
    throughput: ThroughputOpt = None,
    from_fleet: Annotated[
        str | None,
        typer.Option("--from-fleet", help="Deployment id: its measured tok/s and power, beside."),
    ] = None,
    db: Annotated[Path | None, typer.Option("--db", help="DuckDB file (--from-fleet).")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="wattlens.toml.")] = None,
    range_: Annotated[
        str, typer.Option("--range", help="Period of --from-fleet history, e.g. 7d.")
    ] = "7d",
    json_: JsonOpt = False,
) -> None:
    """Energy per query (Wh): median, IQR and mean per model and for a blend (Oviedo et al.)."""
    from wattlens.plan.query import plan_query

    inp = _inputs(model, node_kw, pu, pue, input_tokens, output_median, output_dist, samples,
                  seed, blend, quantization, throughput)  # fmt: skip
    measure = _measure(from_fleet, db, config, range_) if from_fleet else None
    body = plan_query(inp, fleet=measure).as_dict()
    if json_:
        typer.echo(json.dumps(body, indent=2))
        return
    _show_query(body)


def _measure(deployment: str, db: Path | None, config: Path | None, range_: str) -> Any:
    from wattlens.app.ops import period
    from wattlens.cli.options import db_path, load_cfg
    from wattlens.plan.fleet_measure import measure_deployment
    from wattlens.store import Store

    cfg = load_cfg(config)
    since_s, until_s = period(None, None, range_, time.time())
    with Store.open(db_path(cfg, db), read_only=True) as store:
        return measure_deployment(
            store,
            deployment,
            since_s=since_s,
            until_s=until_s,
            min_tokens_per_s=cfg.thresholds.min_tokens_per_s_for_ratio,
        )


@_flags
def daily(
    queries: Annotated[
        float | None, typer.Option("--queries", help="Queries per day (default 1e9).")
    ] = None,
    long_share: Annotated[
        float | None, typer.Option("--long-share", help="Share of long queries (default 0.1).")
    ] = None,
    long_output_median: Annotated[
        float | None,
        typer.Option("--long-output-median", help="Median output of long queries (5000)."),
    ] = None,
    overhead: Annotated[
        str | None,
        typer.Option("--overhead", help="Fleet overhead on the mean (default 1.10*1.076*1.12)."),
    ] = None,
    interventions: Annotated[
        str | None,
        typer.Option(
            "--interventions",
            help="none, or model,serving,hardware and/or serving_v1 (default serving_v1).",
        ),
    ] = None,
    bootstrap: Annotated[
        int | None, typer.Option("--bootstrap", help="Bootstrap resamples (default 1000).")
    ] = None,
    model: ModelOpt = None,
    node_kw: NodeKwOpt = None,
    pu: PuOpt = None,
    pue: PueOpt = None,
    input_tokens: InputOpt = None,
    output_median: OutMedOpt = None,
    samples: SamplesOpt = None,
    seed: SeedOpt = None,
    blend: BlendOpt = None,
    quantization: QuantOpt = None,
    throughput: ThroughputOpt = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Waterfall chart: out.png|out.svg|out.html.")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Fleet energy per day (GWh) for traditional, long and mixed days, with interventions."""
    from wattlens.plan.daily import DailyInputs, parse_interventions, parse_overhead, plan_daily

    # a day is over a blend: the named models (all of them), else the paper's top 3
    inp = _inputs(model, node_kw, pu, pue, input_tokens, output_median, None, samples, seed,
                  blend or model or "top3", quantization, throughput)  # fmt: skip
    body = plan_daily(
        DailyInputs(
            query=inp,
            queries_per_day=queries,
            long_share=long_share,
            long_output_median_tokens=long_output_median,
            overhead=parse_overhead(overhead) if overhead is not None else None,
            interventions=parse_interventions(interventions) if interventions else None,
            bootstrap_resamples=bootstrap,
        )
    )
    if plot is not None:
        from wattlens.plan.daily_plot import plot_waterfall

        plot_waterfall(body, plot)
    if json_:
        typer.echo(json.dumps(body, indent=2))
        return
    _show_daily(body, plot)


def _show_daily(body: dict[str, Any], plot: Path | None) -> None:
    from wattlens.cli.render import console

    p = body["parameters"]
    rows = [[r["scenario"], f"{r['gwh_per_day']:.3f}", f"{r['low']:.3f}-{r['high']:.3f}",
             f"{r['mean_wh_per_query']:.3f}"] for r in body["scenarios"]]  # fmt: skip
    _print_table(f"Fleet energy per day, {p['queries_per_day']:.3g} queries/day",
                 ["scenario", "GWh/day", "95 % interval", "Wh/query (mean)"], rows)  # fmt: skip
    for s in body["waterfall"]:
        sign = "" if s["kind"] == "total" else ("+" if s["gwh_per_day"] >= 0 else "")
        console.print(f"  {s['step']:<48} {sign}{s['gwh_per_day']:.3f} GWh/day")
    console.print(
        f"blend {', '.join(p['blend'])}; long share {p['long_share']:.0%} (median "
        f"{p['long_output_tokens_median']:g} output tokens); overhead x{p['overhead_factor']:.4g}"
        f" on the mean; interval: {p['interval']} ({p['bootstrap_resamples']} resamples)",
        style="dim",
    )
    if plot is not None:
        console.print(f"waterfall written to {plot}")


def mount(plan_app: typer.Typer) -> None:
    """Add `query` and `daily` to the `plan` sub-app."""
    plan_app.command("query")(query)
    plan_app.command("daily")(daily)


__all__ = ["FLAGS", "daily", "mount", "query"]
