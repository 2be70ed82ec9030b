"""The one typer app. Each command parses options, calls one library function, renders the result.

Heavy imports (duckdb, scipy, fastapi) happen inside command bodies so `--help` stays fast.
User errors (`WattlensError`) print one red line on stderr and exit 2; anything else is a bug.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wattlens.core.errors import WattlensError

if TYPE_CHECKING:  # the commands import their floors lazily so that --help stays fast
    from wattlens.config import Config

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

    app.add_typer(plan_app, name="plan", help="Plan: tokens per watt, fleet sizing, calibration.")
    app.add_typer(models_app, name="models", help="The model catalog and name resolution.")


_mount_subapps()

DbOpt = Annotated[Path | None, typer.Option("--db", help="DuckDB file (default from config).")]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="wattlens.toml (default ./wattlens.toml).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
UrlOpt = Annotated[
    str | None,
    typer.Option(help="Read through a running service's API (e.g. http://127.0.0.1:8080)."),
]


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


def _config(path: Path | None) -> Any:
    from wattlens.config import load_config

    return load_config(path)


def _db_path(cfg: Config, db: Path | None) -> Path:
    return Path(db) if db is not None else Path(cfg.store.path)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


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

    cfg = _config(config)
    with Store.open(_db_path(cfg, db)) as store, progress_samples(file) as tick:
        stats = import_file(
            store, file, options=derive_options(cfg), carbon=carbon_model(cfg), progress=tick
        )
    typer.echo(
        f"imported {stats.samples_read:,} samples in {stats.series:,} series from {file}: "
        f"{stats.records_written:,} intervals for {stats.deployments} deployment(s)"
    )


@app.command()
def status(
    db: DbOpt = None, config: ConfigOpt = None, json_: JsonOpt = False, url: UrlOpt = None
) -> None:
    """The latest snapshot per deployment."""
    from wattlens.cli.render import status_table

    if url:
        from wattlens.cli.remote import get_json

        rows = get_json(url, "/api/v2/live")["deployments"]
    else:
        from wattlens.app.ops import status as fleet_status
        from wattlens.app.settings import carbon_model
        from wattlens.store import Store

        cfg = _config(config)
        with Store.open(_db_path(cfg, db), read_only=True) as store:
            rows = fleet_status(
                store,
                window_s=cfg.collect.live_window_s,
                min_tokens_per_s=cfg.thresholds.min_tokens_per_s_for_ratio,
                carbon=carbon_model(cfg),
            )
    _print_json({"deployments": rows}) if json_ else status_table(rows)


@app.command()
def report(
    db: DbOpt = None,
    config: ConfigOpt = None,
    since: Annotated[
        str | None, typer.Option(help="Start: ISO time, epoch s, or '7d' ago.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="End: ISO time, epoch s, or '1d' ago.")] = None,
    range_: Annotated[
        str | None, typer.Option("--range", help="Last period, e.g. 24h, 7d (instead of --since).")
    ] = None,
    json_: JsonOpt = False,
    url: UrlOpt = None,
) -> None:
    """Energy, tokens and CO2 per deployment and for the fleet over a period (default: all)."""
    from wattlens.app.ops import period
    from wattlens.cli.render import report_table

    since_s, until_s = period(since, until, range_, time.time())  # checked here either way
    if url:
        from wattlens.cli.remote import get_json

        body = get_json(url, "/api/v2/report", since=since_s, until=until_s)
    else:
        from wattlens.app.ops import report as fleet_report
        from wattlens.store import Store

        cfg = _config(config)
        with Store.open(_db_path(cfg, db), read_only=True) as store:
            body = fleet_report(
                store,
                since_s=since_s,
                until_s=until_s,
                min_tokens_per_s=cfg.thresholds.min_tokens_per_s_for_ratio,
            )
        body = {"since": since_s, "until": until_s, **body}
    _print_json(body) if json_ else report_table(body)


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="Output file: .parquet or .csv")],
    db: DbOpt = None,
    config: ConfigOpt = None,
    fmt: Annotated[str | None, typer.Option("--format", help="parquet or csv")] = None,
    tier: Annotated[str, typer.Option(help="raw, 5m or 1h")] = "raw",
    since: Annotated[str | None, typer.Option(help="Start time")] = None,
    until: Annotated[str | None, typer.Option(help="End time")] = None,
    url: UrlOpt = None,
) -> None:
    """Export stored intervals to Parquet or CSV."""
    from wattlens.app.ops import period

    since_s, until_s = period(since, until, None, time.time())
    if url:
        from wattlens.cli.remote import download

        chosen = fmt or ("csv" if out.suffix.lower() == ".csv" else "parquet")
        size = download(url, "/api/v2/export", out, format=chosen, tier=tier, since=since_s,
                        until=until_s)  # fmt: skip
        typer.echo(f"wrote {size:,} bytes to {out} from {url}")
        return
    from wattlens.store import Store, as_tier

    cfg = _config(config)
    with Store.open(_db_path(cfg, db), read_only=True) as store:
        n = store.export(out, fmt=fmt, tier=as_tier(tier), start_s=since_s, end_s=until_s)
    typer.echo(f"wrote {n:,} rows to {out}")


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
) -> None:
    """Collect telemetry continuously into the store (backfills gaps on start)."""
    from wattlens.app.runner import run_collector
    from wattlens.cli.render import cycle_line, progress_fraction

    cfg = _config(config)
    run_collector(
        cfg,
        db=_db_path(cfg, db),
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


@app.command()
def analyze(
    db: DbOpt = None,
    config: ConfigOpt = None,
    range_: Annotated[str, typer.Option("--range", help="Period to analyse, e.g. 24h, 7d.")] = "7d",
    frontier: Annotated[
        str | None, typer.Option(help="Frontier spec for the comparison (e.g. nrp-2026).")
    ] = None,
    json_: JsonOpt = False,
    url: UrlOpt = None,
) -> None:
    """Fleet efficiency: curves, idle power, right-sizing, consolidation, frontier comparison."""
    from wattlens.analysis.render import render_analysis
    from wattlens.core.durations import parse_duration

    range_s = float(parse_duration(range_, what="range") or 0.0)
    if url:
        from wattlens.cli.remote import get_json

        result = get_json(url, "/api/v2/analysis", range=range_, frontier=frontier)
        result.pop("charts", None)  # the web view's chart series; not part of `analyze`
    else:
        from wattlens.analysis import AnalysisOptions
        from wattlens.analysis import analyze as run_analysis
        from wattlens.store import Store

        cfg = _config(config)
        opts = AnalysisOptions.from_config(cfg)
        if frontier:
            from wattlens.catalog.frontier import get_frontier

            opts = opts.with_(frontier_spec=get_frontier(frontier).id)
        with Store.open(_db_path(cfg, db), read_only=True) as store:
            result = run_analysis(store, range_s=range_s, options=opts)
    if json_:
        _print_json(result)
    else:
        render_analysis(result)


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
) -> None:
    """Collector, store, JSON API and dashboard in one process."""
    from wattlens.app.runner import run_service
    from wattlens.cli.render import console, progress_fraction
    from wattlens.web.server import web_starter

    cfg = _config(config)

    def ready(url: str) -> None:
        console.print(f"wattlens: dashboard at [bold]{url}/[/bold]  (Ctrl-C to stop)")

    run_service(
        cfg,
        db=_db_path(cfg, db),
        start_web=web_starter(host or cfg.service.host, cfg.service.port if port is None else port),
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

    out.write_text(render_methodology_markdown(config=_config(config)))
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
