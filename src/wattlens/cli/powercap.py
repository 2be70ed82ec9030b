"""`wattlens plan powercap`: the power-cap what-if model (`wattlens.plan.powercap`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from wattlens.core.errors import WattlensError


def powercap(
    gpu: Annotated[str, typer.Option("--gpu", help="Catalog GPU, e.g. A100.")],
    cap: Annotated[float, typer.Option("--cap", help="Power cap in W per GPU.")],
    base: Annotated[
        float | None, typer.Option("--base", help="Compare with this cap (default: uncapped).")
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Predict the time and energy change of a power cap (an approximation; see the note)."""
    from wattlens.plan.powercap import predict

    try:
        body = predict(gpu, cap, base)
    except WattlensError as e:
        raise e.renamed({"cap": "--cap", "base": "--base", "gpu": "--gpu"}) from e
    if json_:
        typer.echo(json.dumps(body, indent=2))
        return
    fit = body["fit"]
    typer.echo(
        f"{body['gpu']} at {cap:g} W vs {body['base']} ({body['base_watts']:g} W): time "
        f"{body['time_change_percent']:+.1f} %, energy {body['energy_change_percent']:+.1f} % "
        f"(relative clock {body['relative_clock']:.2f})"
    )
    p, r = fit["published"], fit["reproduced"]
    typer.echo(
        f"  fit: published 250 -> 175 W time {p['time_change_percent']:+.2f} %, energy "
        f"{p['energy_change_percent']:+.2f} %; model {r['time_change_percent']:+.2f} %, "
        f"{r['energy_change_percent']:+.2f} % ({fit['source'].split(',')[0]})"
    )
    typer.secho(f"  {body['note']}", fg=typer.colors.YELLOW)


__all__ = ["powercap"]
