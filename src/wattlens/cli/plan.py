"""`wattlens plan ...`: a typer sub-app (mount with `app.add_typer(plan_app, name="plan")`).

Thin commands: parse options, call one `wattlens.plan` function, render with rich or `--json`.
Library errors are `WattlensError`s naming fields (`slo_ttft_ms`); each command shows them with
the flag the user typed (`--slo-ttft-ms`, see FLAGS), and the root app's `main()` turns them into
one line, exit 2. `wattlens.plan` modules are imported inside the commands so that `--help` does
not load numpy and the catalog; `wattlens.plan.options` is light.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from wattlens.cli.options import naming_flags
from wattlens.core.errors import InputError
from wattlens.plan.options import (
    DEFAULT_PROFILE,
    Convention,
    ProfileName,
    Variant,
    parse_topology,
)

plan_app = typer.Typer(
    no_args_is_help=True, help="Plan: tokens per watt, fleet sizing and routing, calibration."
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ProfileOpt = Annotated[
    ProfileName,
    typer.Option(
        "--profile",
        help="calibrated (physics model fitted on ML.ENERGY H100; default), computed (1/W "
        "paper's ComputedProfile) or paper (published tables).",
    ),
]
CalibrationOpt = Annotated[
    Path | None,
    typer.Option("--calibration", help="Step-model profile from `plan calibrate` (.toml/.json)."),
]
ConventionOpt = Annotated[
    Convention,
    typer.Option("--convention", help="physical (whole instance's power) or paper (one GPU's)."),
]
VariantOpt = Annotated[
    Variant,
    typer.Option("--variant", help="consistent (default) or published (the paper's method)."),
]
TpOpt = Annotated[int | None, typer.Option("--tp", help="Tensor parallelism (default: fits).")]
DtypeOpt = Annotated[
    str | None, typer.Option("--dtype", help="fp16, bf16, fp8, mxfp4, int4 (default: model's).")
]
PlotOpt = Annotated[Path | None, typer.Option("--plot", help="Write a chart: out.png|out.html.")]


# The library's error fields and the flags that set them (the one field-to-flag mapping).
FLAGS = {
    "batch": "--batch",
    "bench": "--bench",
    "calibration": "--calibration",
    "dtype": "--dtype",
    "contexts": "--context",
    "convention": "--convention",
    "deployment_id": "--deployment",
    "gamma": "--gamma",
    "gpus": "--gpu",
    "gpu": "--gpu",
    "max_util": "--max-util",
    "model": "--model",
    "out": "--out",
    "plot": "--plot",
    "power_profile": "--power-profile",
    "profile": "--profile",
    "rate_rps": "--rate",
    "slo_ttft_ms": "--slo-ttft-ms",
    "split_tokens": "--split",
    "topologies": "--topology",
    "topology": "--topology",
    "tp": "--tp",
    "trace": "--trace",
    "variant": "--variant",
}


_flag_names = naming_flags(FLAGS)


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _ints(text: str, option: str) -> list[int]:
    try:
        return [int(t) for t in _split(text)]
    except ValueError as e:
        raise InputError(f"{option} {text!r}: expected comma-separated integers") from e


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def _table(title: str, columns: list[tuple[str, str, int]], rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, header_style="bold")
    for header, _, _ in columns:
        t.add_column(header, justify="right")
    for row in rows:
        t.add_row(*(_fmt(row.get(key), digits) for _, key, digits in columns))
    Console().print(t)


def _fmt(v: Any, digits: int) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


def _notes(notes: list[str]) -> None:
    for n in notes:
        typer.echo(f"  · {n}")


TOKW_COLUMNS = [
    ("context", "context_tokens", 0),
    ("KV B/token/GPU", "kv_bytes_per_token_per_gpu", 0),
    ("n_max", "max_concurrency", 0),
    ("batch", "batch", 0),
    ("step ms", "step_time_ms", 2),
    ("tok/s", "tokens_per_sec", 0),
    ("W/GPU", "power_watts_per_gpu", 0),
    ("W instance", "power_watts_instance", 0),
    ("tok/W", "tokens_per_watt", 3),
    ("J/token", "joules_per_token", 4),
]


@plan_app.command()
@_flag_names
def tokw(
    model: Annotated[str, typer.Option("--model", help="Catalog model(s), comma-separated.")],
    gpu: Annotated[str, typer.Option("--gpu", help="Catalog GPU(s), comma-separated.")],
    tp: TpOpt = None,
    dtype: DtypeOpt = None,
    context: Annotated[
        str, typer.Option("--context", help="Context windows in tokens, comma-separated.")
    ] = "2048,4096,8192,16384,32768,65536,131072",
    batch: Annotated[int | None, typer.Option("--batch", help="Fixed batch size.")] = None,
    at_limit: Annotated[
        bool, typer.Option("--at-limit/--no-at-limit", help="Evaluate at the KV limit.")
    ] = True,
    profile: ProfileOpt = DEFAULT_PROFILE,
    convention: ConventionOpt = "physical",
    variant: VariantOpt = "consistent",
    calibration: CalibrationOpt = None,
    power_profile: Annotated[
        Path | None, typer.Option("--power-profile", help="Fitted profile (.json/.toml).")
    ] = None,
    plot: PlotOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Tokens per watt against the context window for a model on a GPU."""
    from wattlens.plan.calibrate import load_power_profile
    from wattlens.plan.stepprofile import load_step_profile
    from wattlens.plan.tokw import plan_tokw

    power = load_power_profile(power_profile) if power_profile else None
    cal = load_step_profile(calibration) if calibration else None
    contexts = _ints(context, "--context")
    results = [
        plan_tokw(
            m,
            g,
            tp=tp,
            dtype=dtype,
            contexts=contexts,
            batch=batch,
            at_limit=at_limit and batch is None,
            profile=profile,
            convention=convention,
            variant=variant,
            power_profile=power,
            calibration=cal,
        )  # fmt: skip
        for m in _split(model)
        for g in _split(gpu)
    ]
    if plot is not None:
        from wattlens.plan.plots import plot_tokw

        plot_tokw(results, plot)
    if json_:
        data = [r.as_dict() for r in results]
        _echo_json(data[0] if len(data) == 1 else data)
        return
    for r in results:
        title = f"{r.model} on {r.gpu}, TP {r.tp}, {r.dtype} ({r.profile}; {r.convention})"
        _table(title, TOKW_COLUMNS, r.rows)
        bands = [
            f"{row['context_tokens']}: {row['joules_per_token_p5']:.4f}-"
            f"{row['joules_per_token_p95']:.4f}"
            for row in r.rows
            if row.get("joules_per_token_p5") is not None
        ]
        if bands:
            typer.echo("  J/token 5-95 % band (parameter covariance): " + ", ".join(bands))
        _notes(r.notes)
    if plot is not None:
        typer.echo(f"chart written to {plot}")


FLEET_COLUMNS = [
    ("pool", "pool", 0),
    ("window", "window_tokens", 0),
    ("req/s", "rate_rps", 1),
    ("instances", "instances", 0),
    ("GPUs", "gpus", 0),
    ("util", "utilisation", 2),
    ("W/GPU", "power_watts_per_gpu", 0),
    ("kW", "power_kw", 1),
    ("tok/W", "tokens_per_watt", 3),
    ("P99 TTFT ms", "p99_ttft_ms", 1),
]
COMPARE_COLUMNS = [
    ("GPU", "gpu", 0),
    ("topology", "topology", 0),
    ("split", "split_tokens", 0),
    ("gamma", "gamma", 2),
    ("instances", "instances", 0),
    ("kW", "power_kw", 1),
    ("tok/W", "tokens_per_watt", 3),
    ("J/token", "joules_per_token", 3),
    ("tok/$", "tokens_per_usd", 0),
    ("P99 ms", "p99_ttft_ms", 1),
    ("gain", "gain_vs_baseline", 2),
    ("topo gain", "topology_gain", 2),
    ("gen gain", "generation_gain", 2),
]


@plan_app.command()
@_flag_names
def fleet(
    model: Annotated[str, typer.Option("--model", help="Catalog model.")],
    gpu: Annotated[str, typer.Option("--gpu", help="GPU; several (comma) compare generations.")],
    rate: Annotated[float, typer.Option("--rate", help="Arrival rate, requests/s.")],
    trace: Annotated[
        str, typer.Option("--trace", help="azure, lmsys, lmsys-multiturn, agent or a JSON CDF.")
    ] = "azure",
    topology: Annotated[
        str, typer.Option("--topology", help="homo, pool, fleetopt; several (comma) compare.")
    ] = "fleetopt",
    split: Annotated[
        int | None, typer.Option("--split", help="Short-pool window (default: optimised).")
    ] = None,
    gamma: Annotated[
        float | None, typer.Option("--gamma", help="FleetOpt gamma (default: optimised).")
    ] = None,
    slo_ttft_ms: Annotated[float, typer.Option("--slo-ttft-ms", help="P99 TTFT SLO.")] = 500.0,
    max_util: Annotated[float, typer.Option("--max-util", help="Utilisation cap.")] = 0.85,
    tp: TpOpt = None,
    dtype: DtypeOpt = None,
    profile: ProfileOpt = DEFAULT_PROFILE,
    convention: ConventionOpt = "physical",
    variant: VariantOpt = "consistent",
    calibration: CalibrationOpt = None,
    plot: PlotOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Size a fleet for a workload (M/G/c, Kimura P99) and its tok/W; compare GPUs/topologies."""
    from wattlens.plan.fleet import compare_fleets, plan_fleet
    from wattlens.plan.stepprofile import load_step_profile

    cal = load_step_profile(calibration) if calibration else None
    gpus, topologies = _split(gpu), _split(topology)
    if len(gpus) != 1 or len(topologies) != 1 or plot is not None:
        comparison = compare_fleets(
            model, gpus, rate_rps=rate, trace=trace, topologies=topologies, split_tokens=split,
            gamma=gamma, slo_ttft_ms=slo_ttft_ms, max_util=max_util, profile=profile,
            convention=convention, variant=variant, tp=tp, dtype=dtype, calibration=cal,
        )  # fmt: skip
        if plot is not None:
            from wattlens.plan.plots import plot_fleet

            plot_fleet(comparison, plot)
        if json_:
            _echo_json(comparison.as_dict())
            return
        _table(f"{model}: fleet comparison ({convention})", COMPARE_COLUMNS, comparison.rows)
        _notes(comparison.notes)
        if plot is not None:
            typer.echo(f"chart written to {plot}")
        return
    r = plan_fleet(
        model, gpus[0], rate_rps=rate, trace=trace, topology=parse_topology(topologies[0]),
        split_tokens=split, gamma=gamma, slo_ttft_ms=slo_ttft_ms, max_util=max_util,
        profile=profile, convention=convention, variant=variant, tp=tp, dtype=dtype,
        calibration=cal,
    )  # fmt: skip
    if json_:
        _echo_json(r.as_dict())
        return
    total = {"pool": "total", **r.total}
    title = f"{r.model} on {r.gpu} TP {r.tp}: {r.topology}, {r.trace}, {r.rate_rps:g} req/s"
    _table(title, FLEET_COLUMNS, [*r.pools, total])
    typer.echo(f"  tp: {r.tp_reason}")
    t = r.total
    if t.get("joules_per_token") is not None:
        band = (
            f" (5-95 %: {t['joules_per_token_p5']:.3f}-{t['joules_per_token_p95']:.3f})"
            if t.get("joules_per_token_p5") is not None
            else ""
        )
        typer.echo(
            f"  energy: {t['energy_kwh_per_hour']:,.1f} kWh/h, "
            f"{t['joules_per_token']:.3f} J/token{band}"
        )
    cost = t.get("usd_per_hour")
    typer.echo(
        f"  cost: {t['gpu_hours_per_hour']:,.0f} GPU-hours/h"
        + (f", ${cost:,.0f}/h, {t['tokens_per_usd']:,.0f} tokens/$" if cost else "")
        + f" ({t['price_source']})"
    )
    _notes(r.notes)


@plan_app.command()
@_flag_names
def calibrate(
    deployment: Annotated[
        str | None, typer.Option("--deployment", help="Deployment id (ns/workload).")
    ] = None,
    db: Annotated[
        Path | None, typer.Option("--db", help="DuckDB file (default from config).")
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="wattlens.toml.")] = None,
    bench: Annotated[
        Path | None, typer.Option("--bench", help="Bench results CSV (docs/planning.md).")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Catalog model (default: the stored one).")
    ] = None,
    gpu: Annotated[
        str | None, typer.Option("--gpu", help="Catalog GPU (default: the stored one).")
    ] = None,
    tp: Annotated[
        int | None, typer.Option("--tp", help="Tensor parallelism (default: GPU count).")
    ] = None,
    dtype: DtypeOpt = None,
    power_curve: Annotated[
        bool, typer.Option("--power-curve", help="Fit the 1/W paper's logistic P(b).")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Save the fitted profile (.toml or .json).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """Fit the step model (default) or the logistic P(b) to telemetry or bench results."""
    from wattlens.cli import plan_calibrate as cal
    from wattlens.plan.stepprofile import save_step_profile

    if power_curve:
        cal.calibrate_power_curve(deployment, db, config, out, json_)
        return
    profile = cal.fit_step_profile(deployment, db, config, bench, model, gpu, tp, dtype)
    if out is not None:
        save_step_profile(profile, out)
    if json_:
        _echo_json(profile.as_dict())
        return
    cal.show_step_profile(profile, out)


__all__ = ["plan_app"]
