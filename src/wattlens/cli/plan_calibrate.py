"""Rendering and store access of `wattlens plan calibrate` (kept out of cli/plan.py for size)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

from wattlens.core.errors import InputError
from wattlens.plan.stepprofile import StepProfile


def show_step_profile(profile: StepProfile, out: Path | None) -> None:
    """The fitted parameters with their errors, the fit's errors and identifiability."""
    se = profile.as_dict()["stderr"]
    fit = profile.fit
    typer.echo(
        f"step model fitted ({profile.source}; {fit['model']} on {fit['gpu']} TP {fit['tp']})"
    )
    for name in fit["free"]:
        typer.echo(f"  {name:12} {getattr(profile.params, name):9.4g} ± {se[name]:.2g}")
    typer.echo(
        f"  fit: J/token MAPE {fit['mape_joules_per_token_percent']:.1f} %, power MAPE "
        f"{fit['mape_power_percent']:.1f} % over {fit['points']} intervals (in-sample); held at "
        f"the shipped values: {', '.join(fit['held'])}"
    )
    identifiability(profile.identifiable, profile.reasons)
    if out is not None:
        typer.echo(f"profile saved to {out}; use it with `plan tokw --calibration {out}`")


def fit_step_profile(
    deployment: str | None,
    db: Path | None,
    config: Path | None,
    bench: Path | None,
    model: str | None,
    gpu: str | None,
    tp: int | None,
    dtype: str | None,
) -> StepProfile:
    """The step model fitted to bench results (`--bench`) or to a stored deployment."""
    if bench is not None:
        from wattlens.plan.stepcalibrate import calibrate_step_model, observations_from_csv

        if model is None or gpu is None:
            raise InputError("--bench needs --model and --gpu (the setting the bench ran)")
        return calibrate_step_model(
            observations_from_csv(bench), model, gpu, tp=tp or 1, dtype=dtype,
            source=f"fitted to {bench.name} (wattlens plan calibrate --bench)",
        )  # fmt: skip
    from wattlens.plan.stepcalibrate import calibrate_from_store

    with open_store(deployment, db, config) as store:
        return calibrate_from_store(
            store, str(deployment), model=model, gpu=gpu, tp=tp, dtype=dtype
        )


def identifiability(identifiable: bool, reasons: tuple[str, ...]) -> None:
    """`identifiable: true`, or false with the reasons (in yellow)."""
    if identifiable:
        typer.echo("  identifiable: true")
        return
    typer.secho("  identifiable: false: " + "; ".join(reasons), fg=typer.colors.YELLOW)


def open_store(deployment: str | None, db: Path | None, config: Path | None) -> Any:
    """The store read-only (`--db`, else the config's), for `--deployment`."""
    from wattlens.config import load_config
    from wattlens.store import Store

    if deployment is None:
        raise InputError("--deployment is needed to calibrate from the store (or pass --bench)")
    path = db if db is not None else Path(load_config(config).store.path)
    return Store.open(path, read_only=True)


def calibrate_power_curve(
    deployment: str | None, db: Path | None, config: Path | None, out: Path | None, json_: bool
) -> None:
    """`--power-curve`: the logistic P(b) fitted to the stored deployment, shown or as JSON."""
    from wattlens.plan.calibrate import calibrate_from_store, save_power_profile

    with open_store(deployment, db, config) as store:
        fit = calibrate_from_store(store, str(deployment))
    if out is not None:
        save_power_profile(fit, out)
    if json_:
        typer.echo(json.dumps(asdict(fit), indent=2, default=str))
        return
    se = fit.stderr
    typer.echo(f"{deployment}: P(b) = idle + (nominal - idle) / (1 + exp(-k (log2 b - x0)))")
    for name, value, unit in (
        ("idle", fit.p_idle_watts, "W"),
        ("nominal", fit.p_nominal_watts, "W"),
        ("x0", fit.x0, "log2 batch"),
        ("k", fit.k, ""),
    ):
        key = {"idle": "p_idle_watts", "nominal": "p_nominal_watts"}.get(name, name)
        typer.echo(f"  {name:8} {value:9.2f} ± {se.get(key, float('nan')):.2g} {unit}")
    typer.echo(
        f"  fit: RMSE {fit.rmse_watts:.1f} W, MAPE {fit.mape_percent:.1f} % over {fit.points}"
    )
    identifiability(fit.identifiable, fit.reasons)
    if out is not None:
        typer.echo(f"profile saved to {out}; use it with `plan tokw --power-profile {out}`")


__all__ = [
    "calibrate_power_curve",
    "fit_step_profile",
    "identifiability",
    "open_store",
    "show_step_profile",
]
