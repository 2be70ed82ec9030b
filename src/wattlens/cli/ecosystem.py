"""Commands that feed the operators' stack: `rules` (Prometheus) and `grafana` (dashboard).

Registered on the app in `cli.main`. Both print to stdout so they can be redirected to a file.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from wattlens.cli.options import ConfigOpt, load_cfg


def rules(
    config: ConfigOpt = None,
    rate_window: Annotated[
        str | None, typer.Option(help="rate() window; at least 2 scrape intervals (default 2m).")
    ] = None,
    interval: Annotated[
        str | None, typer.Option(help="Rule evaluation interval (default 1m).")
    ] = None,
    idle_watts: Annotated[
        float | None, typer.Option(help="Idle alert: power above this many W (alerts.toml).")
    ] = None,
    idle_for: Annotated[
        str | None, typer.Option(help="Idle alert: for this long (alerts.toml).")
    ] = None,
    otel_names: Annotated[
        bool, typer.Option(help="Also record the draft OpenTelemetry gen_ai energy names.")
    ] = False,
) -> None:
    """Prometheus recording and alert rules (YAML) from wattlens's own definitions.

    `wattlens rules > wattlens-rules.yaml`, then `promtool check rules wattlens-rules.yaml`.
    """
    from wattlens.integrations.rules import options_from_config, render_rules

    opts = options_from_config(
        load_cfg(config),
        rate_window=rate_window,
        interval=interval,
        idle_watts=idle_watts,
        idle_for=idle_for,
        otel_names=otel_names or None,
    )
    typer.echo(render_rules(opts), nl=False)


def grafana() -> None:
    """A Grafana dashboard (JSON) over the recorded series of `wattlens rules`."""
    from wattlens.integrations.grafana import dashboard

    typer.echo(json.dumps(dashboard(), indent=2))


__all__ = ["grafana", "rules"]
