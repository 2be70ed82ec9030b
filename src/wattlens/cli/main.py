"""The one typer app. Each command parses options, calls one library function, renders the result.

Heavy imports (duckdb, scipy, fastapi) happen inside command bodies so `--help` stays fast.
User errors (`WattlensError`) print one red line on stderr and exit 2; anything else is a bug.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wattlens.cli import ecosystem, reads
from wattlens.cli.options import ConfigOpt, DbOpt, db_path, load_cfg
from wattlens.core.errors import WattlensError

if TYPE_CHECKING:  # the commands import their floors lazily so that --help stays fast
    pass

# Library errors name fields (`WattlensError.field`); shown here with the option the user typed.
FLAGS = {
    "history_days": "--history-days",
    "scrape": "--scrape",
    "since": "--since",
    "until": "--until",
    "range": "--range",
    "seconds": "--seconds",
    "port": "--port",
}

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
config_app = typer.Typer(no_args_is_help=True, help="Check and explain the configuration.")
app.add_typer(config_app, name="config")


def _mount_subapps() -> None:
    from wattlens.cli.models import models_app
    from wattlens.cli.plan import plan_app
    from wattlens.cli.plan_query import mount as mount_plan_query  # plan query, plan daily (#12)

    app.add_typer(plan_app, name="plan", help="Plan: tokens per watt, fleet sizing, calibration.")
    mount_plan_query(plan_app)
    app.add_typer(models_app, name="models", help="The model catalog and name resolution.")
    from wattlens.cli.fit import mount as mount_fit  # `fit sweetspot`, `plan grid`

    mount_fit(app, plan_app)
    from wattlens.cli.measure import mount as mount_measure  # bench, emulate, plan powercap (#13)

    mount_measure(app, plan_app)


_mount_subapps()


def _version(value: bool) -> None:
    if value:
        from wattlens import __version__

        typer.echo(f"wattlens {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """wattlens: what each token costs in energy and CO2, and how to spend less."""


@app.command()
def version() -> None:
    """Print the wattlens version."""
    from wattlens import __version__

    typer.echo(__version__)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="OpenMetrics text (with timestamps) or range JSON.")],
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Import telemetry history from a file (idempotent: importing twice changes nothing)."""
    from wattlens.app.ops import import_file
    from wattlens.app.settings import carbon_model, derive_options
    from wattlens.cli.render import progress_samples
    from wattlens.store import Store

    cfg = load_cfg(config)
    with Store.open(db_path(cfg, db)) as store, progress_samples(file) as tick:
        stats = import_file(
            store, file, options=derive_options(cfg), carbon=carbon_model(cfg), progress=tick
        )
    typer.echo(
        f"imported {stats.samples_read:,} samples in {stats.series:,} series from {file}: "
        f"{stats.records_written:,} intervals for {stats.deployments} deployment(s)"
    )


app.command()(reads.status)
app.command()(reads.report)
app.command()(reads.export)


@app.command()
def collect(
    prometheus: Annotated[
        str | None, typer.Option(help="Prometheus-API URL (Prometheus or VictoriaMetrics).")
    ] = None,
    scrape: Annotated[
        list[str] | None,
        typer.Option(
            help="Exporter URL to scrape directly; repeatable. Add labels: URL;ns=a;pod=b"
        ),
    ] = None,
    sd: Annotated[str | None, typer.Option(help="Prometheus HTTP-SD JSON URL or file.")] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    seconds: Annotated[
        float | None, typer.Option(help="Stop cleanly after this many seconds.")
    ] = None,
    no_backfill: Annotated[
        bool, typer.Option("--no-backfill", help="Skip start-up backfill.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="One line per cycle.")] = False,
    nvml: Annotated[bool, typer.Option("--nvml", help="Local GPUs through NVML.")] = False,
    deployment: Annotated[str | None, typer.Option(help="--nvml: this node's engine.")] = None,
) -> None:
    """Collect telemetry continuously into the store (backfills gaps on start)."""
    from wattlens.app.runner import run_collector
    from wattlens.cli.render import cycle_line, progress_fraction

    cfg = load_cfg(config)
    if nvml:  # issue #13
        from wattlens.app.nvml import run_nvml_collector

        on_cycle = cycle_line if verbose else None
        run_nvml_collector(cfg, db=db_path(cfg, db), deployment=deployment, seconds=seconds,
                           scrape=scrape or [], on_cycle=on_cycle)  # fmt: skip
        return
    run_collector(
        cfg,
        db=db_path(cfg, db),
        prometheus=prometheus,
        scrape=scrape or [],
        sd=sd,
        seconds=seconds,
        backfill_on_start=not no_backfill,
        progress=lambda: progress_fraction("backfilling from the backend"),
        on_cycle=cycle_line if verbose else None,  # failures are logged (stderr) either way
    )


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Dashboard port.")] = 8080,
    seconds: Annotated[
        float | None, typer.Option(help="Stop cleanly after this many seconds.")
    ] = None,
    db: Annotated[Path, typer.Option("--db", help="DuckDB file for the demo.")] = Path(
        "wattlens-demo.duckdb"
    ),
    scenario: Annotated[str, typer.Option(help="Scenario name or TOML file.")] = "nrp",
    history_days: Annotated[float, typer.Option(help="Days of history to pre-generate.")] = 3.0,
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
) -> None:
    """Run the demo fleet: emulator, collector, history and dashboard in one process."""
    from wattlens.app.demo import run_demo
    from wattlens.cli.render import console, progress_fraction
    from wattlens.web.server import web_starter

    def ready(url: str) -> None:
        console.print(f"wattlens demo: dashboard at [bold]{url}/[/bold]  (Ctrl-C to stop)")

    with progress_fraction("generating demo history") as tick:
        run_demo(
            seconds=seconds,
            db=db,
            scenario=scenario,
            history_days=history_days,
            start_web=web_starter(host, port),
            progress=tick,
            on_ready=ready,
        )


app.command()(reads.analyze)
app.command()(ecosystem.rules)
app.command()(ecosystem.grafana)
app.command()(ecosystem.sci)


@app.command()
def serve(
    db: DbOpt = None,
    config: ConfigOpt = None,
    port: Annotated[int | None, typer.Option(help="Port (default from config: 8080).")] = None,
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
    prometheus: Annotated[str | None, typer.Option(help="Prometheus-API URL.")] = None,
    scrape: Annotated[list[str] | None, typer.Option(help="Exporter URL; repeatable.")] = None,
    sd: Annotated[str | None, typer.Option(help="Prometheus HTTP-SD JSON URL or file.")] = None,
    seconds: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    nvml: Annotated[bool, typer.Option("--nvml", help="Local GPUs through NVML.")] = False,
    deployment: Annotated[str | None, typer.Option(help="--nvml: this node's engine.")] = None,
) -> None:
    """Collector, store, JSON API and dashboard in one process."""
    from wattlens.app.runner import run_service
    from wattlens.cli.render import console, progress_fraction
    from wattlens.web.server import web_starter

    cfg = load_cfg(config)

    def ready(url: str) -> None:
        console.print(f"wattlens: dashboard at [bold]{url}/[/bold]  (Ctrl-C to stop)")

    start_web = web_starter(host or cfg.service.host, cfg.service.port if port is None else port)
    if nvml:  # issue #13
        from wattlens.app.nvml import run_nvml_service

        run_nvml_service(cfg, db=db_path(cfg, db), start_web=start_web, deployment=deployment,
                         seconds=seconds, scrape=scrape or [], on_ready=ready)  # fmt: skip
        return
    run_service(
        cfg,
        db=db_path(cfg, db),
        start_web=start_web,
        prometheus=prometheus,
        scrape=scrape or [],
        sd=sd,
        seconds=seconds,
        on_ready=ready,
        progress=lambda: progress_fraction("backfilling from the backend"),
    )


docs_app = typer.Typer(no_args_is_help=True, help="Generate documentation from the catalog.")
app.add_typer(docs_app, name="docs")


@docs_app.command("methodology")
def docs_methodology(
    out: Annotated[Path, typer.Option(help="Markdown file to write.")] = Path(
        "docs/methodology.md"
    ),
    config: ConfigOpt = None,
) -> None:
    """Write the methodology page (formulas, grid table, thresholds) as Markdown."""
    from wattlens.web.methodology import render_methodology_markdown

    out.write_text(render_methodology_markdown(config=load_cfg(config)))
    typer.echo(f"wrote {out}")


@config_app.command("check")
def config_check(config: ConfigOpt = None) -> None:
    """Validate the configuration and show each value with where it came from."""
    from wattlens.cli.render import config_table
    from wattlens.config import config_error_lines, describe, load_config

    problems = config_error_lines(config)
    if problems:
        for line in problems:
            typer.secho(f"error: {line}", fg="red", err=True)
        raise typer.Exit(2)
    config_table(describe(load_config(config)))


def main(argv: list[str] | None = None) -> None:
    """Console entry point: the single error boundary (typer handles its own usage errors)."""
    try:
        app(args=argv)
    except WattlensError as e:
        typer.secho(f"error: {e.renamed(FLAGS)}", fg="red", err=True)
        sys.exit(2)
