"""Commands that feed the operators' stack: `rules` (Prometheus), `grafana` (dashboard), `sci`.

Registered on the app in `cli.main`. They print to stdout so they can be redirected to a file.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from wattlens.cli.options import ConfigOpt, DbOpt, JsonOpt, db_path, load_cfg, print_json
from wattlens.core.errors import ConfigError


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
    detect: Annotated[
        bool, typer.Option(help="Instead: say whether the backend holds the recorded series.")
    ] = False,
) -> None:
    """Prometheus recording and alert rules (YAML) from wattlens's own definitions.

    `wattlens rules > wattlens-rules.yaml`, then `promtool check rules wattlens-rules.yaml`.
    """
    if detect:
        from wattlens.app.settings import prometheus_client
        from wattlens.integrations.recorded import detect_recorded

        cfg = load_cfg(config)
        if not cfg.backend.prometheus_url:
            raise ConfigError(
                "--detect needs backend.prometheus_url; set it in the config or "
                "WATTLENS_BACKEND_PROMETHEUS_URL",
                field="backend.prometheus_url",
            )
        with prometheus_client(cfg) as client:
            typer.echo(detect_recorded(client).message())
        return
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


def sci(
    db: DbOpt = None,
    config: ConfigOpt = None,
    range_: Annotated[str | None, typer.Option("--range", help="Period, e.g. 7d.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Green Software Foundation SCI per token per deployment (operational + embodied)."""
    from wattlens.app.ops import period, report
    from wattlens.integrations.sci import sci_report
    from wattlens.store import Store

    cfg = load_cfg(config)
    with Store.open(db_path(cfg, db), read_only=True) as store:
        since_s, until_s = period(None, None, range_, store.last_ts() or 0.0)
        body = report(store, since_s=since_s, until_s=until_s,
                      min_tokens_per_s=cfg.thresholds.min_tokens_per_s_for_ratio)  # fmt: skip
    result = sci_report(body)
    print_json(result) if json_ else print_sci(result)


def print_sci(result: dict[str, Any]) -> None:
    """SCI per token per deployment, one line each; a missing embodied term is flagged."""
    typer.echo(f"SCI per token ({result['method']['formula']}):")
    for row in result["deployments"]:
        value = row["sci_mg_per_token"]
        shown = "n/a (no tokens)" if value is None else f"{value:.4f} mg CO2e/token"
        flag = "" if row.get("embodied_included", True) else " *"
        typer.echo(f"  {row['deployment']}: {shown}{flag}")
    notes = sorted({r["note"] for r in result["deployments"] if r.get("note")})
    for note in notes:
        typer.echo(f"  * {note}")


def grafana() -> None:
    """A Grafana dashboard (JSON) over the recorded series of `wattlens rules`."""
    from wattlens.integrations.grafana import dashboard

    typer.echo(json.dumps(dashboard(), indent=2))


__all__ = ["grafana", "print_sci", "rules", "sci"]
