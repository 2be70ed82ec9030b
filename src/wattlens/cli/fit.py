"""`wattlens fit sweetspot` and `wattlens plan grid`: the SweetSpot model on the command line.

Thin commands: parse options, call one `wattlens.plan` function, render with rich or `--json`.
`mount(app, plan_app)` adds the `fit` sub-app to the root app and `grid` to `plan`. Library
errors name fields (`n_in`); the commands re-raise them naming the flag (FLAGS).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from wattlens.cli.options import naming_flags
from wattlens.core.errors import InputError

fit_app = typer.Typer(no_args_is_help=True, help="Fit planning models to measured data.")

FLAGS = {
    "concurrency": "--concurrency",
    "data": "DATA",
    "dtype": "--dtype",
    "folds": "--folds",
    "form": "--form",
    "gpu": "--gpu",
    "model": "--model",
    "n_in": "--n-in",
    "n_out": "--n-out",
    "noise": "--noise",
    "out": "--out",
    "plot": "--plot",
    "size": "--size",
    "tp": "--tp",
}


_flag_names = naming_flags(FLAGS)


def _ints(text: str | None, option: str) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError as e:
        raise InputError(f"{option} {text!r}: expected comma-separated whole tokens") from e


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "—"
    return f"{v:,.{digits}f}" if isinstance(v, float) else str(v)


@fit_app.command("sweetspot")
@_flag_names
def sweetspot(
    data: Annotated[
        Path,
        typer.Argument(
            help="CSV: n_in, n_out, energy_joules (or "
            "joules_per_output_token)[, concurrency|batch]."
        ),
    ],
    model: Annotated[str, typer.Option("--model", help="Catalog model the data was measured on.")],
    form: Annotated[
        str, typer.Option("--form", help="flops (θ0..θ4) or memory (adds θ5/n_out).")
    ] = "flops",
    concurrency: Annotated[
        float | None,
        typer.Option("--concurrency", help="Serving setting to fit when the data has several."),
    ] = None,
    folds: Annotated[int, typer.Option("--folds", help="Cross-validation folds.")] = 5,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Heatmap: out.png|out.svg|out.html.")
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Fit the SweetSpot energy-per-token model (Cavagna et al. 2026) and find n_out*."""
    from wattlens.catalog import get_model
    from wattlens.plan.sweetspot import FORMS, fit_sweetspot
    from wattlens.plan.sweetspot_data import read_sweetspot_csv

    if form not in FORMS:
        raise InputError(f"--form {form!r}: expected flops or memory")
    spec = get_model(model)
    points = read_sweetspot_csv(data, setting=concurrency)
    result = fit_sweetspot(points, spec, form="flops" if form == "flops" else "memory",
                           folds=folds)  # fmt: skip
    if plot is not None:
        from wattlens.plan.sweetspot_plot import plot_sweetspot

        plot_sweetspot(result, plot)
    body = result.to_json()
    if json_:
        typer.echo(json.dumps(body, indent=2))
        return
    _render(body)
    if plot is not None:
        typer.echo(f"heatmap written to {plot}")


def _render(body: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    t = Table(title=f"SweetSpot fit: {body['model']} ({body['form']} form)", header_style="bold")
    for col in ("θ", "feature", "J/token per unit", "per operation", "unit"):
        t.add_column(col, justify="right")
    for name, value in body["theta"].items():
        per_unit = body["theta_per_unit"][name]
        unit = body["theta_per_unit_units"][name]
        t.add_row(name, body["theta_features"][name], f"{value:.4g}", f"{per_unit:.4g}", unit)
    console.print(t)
    s = Table(title="Sweet spot n_out*(n_in)", header_style="bold")
    for col in ("n_in", "n_out* (formula)", "n_out* (numeric)", "in data range"):
        s.add_column(col, justify="right")
    for row in body["n_out_star"]:
        s.add_row(str(row["n_in"]), _fmt(row["n_out_star"], 1), _fmt(row["n_out_star_numeric"], 1),
                  "yes" if row["in_data_range"] else "no")  # fmt: skip
    console.print(s)
    typer.echo(
        f"  · MAPE {body['mape_percent']:.2f} % ({body['cv_folds']}-fold cross-validated; "
        f"{body['mape_in_sample_percent']:.2f} % in sample) over {body['points']} points"
    )
    typer.echo(
        f"  · worst/best efficiency over the data's lengths: {body['worst_best_ratio']:.2f}x "
        f"(model), {body['worst_best_ratio_measured']:.2f}x (measured)"
    )
    diff = body["n_out_star_max_difference_tokens"]
    if diff is None:
        typer.echo("  · θ4 = 0: energy per token falls with every extra output token; no n_out*")
    else:
        typer.echo(f"  · n_out* formula vs numeric minimiser: at most {diff:.3f} tokens apart")


@_flag_names
def plan_grid(
    model: Annotated[str, typer.Option("--model", help="Catalog model.")],
    gpu: Annotated[str, typer.Option("--gpu", help="Catalog GPU.")] = "H100-SXM",
    n_in: Annotated[
        str | None, typer.Option("--n-in", help="Prompt lengths, comma-separated.")
    ] = None,
    n_out: Annotated[
        str | None, typer.Option("--n-out", help="Output lengths, comma-separated.")
    ] = None,
    size: Annotated[
        int | None,
        typer.Option("--size", help="N geometric lengths 64..4096 on both axes (N x N grid)."),
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Requests in flight.")] = 16,
    tp: Annotated[
        int | None, typer.Option("--tp", help="Tensor parallelism (default: fits).")
    ] = None,
    dtype: Annotated[str | None, typer.Option("--dtype", help="Weights dtype.")] = None,
    noise: Annotated[
        float, typer.Option("--noise", help="Relative Gaussian noise on energy, e.g. 0.02.")
    ] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Noise seed.")] = 0,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the CSV here (default: stdout).")
    ] = None,
) -> None:
    """A synthetic (n_in, n_out, energy) grid from the physics core, for `fit sweetspot`."""
    from wattlens.plan.grid import DEFAULT_LENGTHS, geometric_lengths, synthetic_grid

    axis = geometric_lengths(64, 4096, size) if size is not None else list(DEFAULT_LENGTHS)
    grid = synthetic_grid(
        model, gpu, n_in=_ints(n_in, "--n-in") or axis, n_out=_ints(n_out, "--n-out") or axis,
        concurrency=concurrency, tp=tp, dtype=dtype, noise=noise, seed=seed,
    )  # fmt: skip
    text = grid.to_csv()
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        raise InputError(f"out {str(out)!r}: cannot write ({e})", field="out") from e
    typer.echo(f"{grid.n_in.size} points written to {out}", err=True)


def mount(app: typer.Typer, plan_app: typer.Typer) -> None:
    """Add `fit` to the root app and `grid` to the `plan` sub-app."""
    app.add_typer(fit_app, name="fit", help="Fit planning models (SweetSpot) to measured data.")
    plan_app.command("grid")(plan_grid)


__all__ = ["FLAGS", "fit_app", "mount", "plan_grid", "sweetspot"]
