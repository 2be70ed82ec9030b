"""The read commands (`status`, `report`, `export`, `analyze`): from the store file, or with
`--url` through a running service's API. Registered on the app in `cli.main`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from wattlens.cli.options import (
    ConfigOpt,
    DbOpt,
    JsonOpt,
    UrlOpt,
    db_path,
    load_cfg,
    print_json,
)


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

        cfg = load_cfg(config)
        with Store.open(db_path(cfg, db), read_only=True) as store:
            rows = fleet_status(
                store,
                window_s=cfg.collect.live_window_s,
                min_tokens_per_s=cfg.thresholds.min_tokens_per_s_for_ratio,
                carbon=carbon_model(cfg),
            )
    print_json({"deployments": rows}) if json_ else status_table(rows)


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
    sci: Annotated[
        bool, typer.Option("--sci", help="Add the GSF SCI per token (operational + embodied).")
    ] = False,
    requests: Annotated[
        bool,
        typer.Option("--requests", help="Add requests and Wh/request by prompt/output length."),
    ] = False,
) -> None:
    """Energy, tokens and CO2 per deployment and for the fleet over a period (default: all)."""
    from wattlens.app.ops import period
    from wattlens.cli.render import report_table

    since_s, until_s = period(since, until, range_, time.time())  # checked here either way
    if url:
        from wattlens.cli.remote import get_json

        body = get_json(url, "/api/v2/report", since=since_s, until=until_s)
    else:
        from wattlens.app.gridcarbon import grid_hook
        from wattlens.app.ops import report as fleet_report
        from wattlens.app.settings import carbon_model
        from wattlens.store import Store

        cfg = load_cfg(config)
        with Store.open(db_path(cfg, db), read_only=True) as store:
            body = fleet_report(
                store,
                since_s=since_s,
                until_s=until_s,
                min_tokens_per_s=cfg.thresholds.min_tokens_per_s_for_ratio,
                grid=grid_hook(cfg, carbon_model(cfg)),
            )
        body = {"since": since_s, "until": until_s, **body}
    if sci:
        from wattlens.integrations.sci import sci_report

        body["sci"] = sci_report(body)
    print_json(body) if json_ else report_table(body)
    fleet = body.get("fleet", {})
    if not json_ and fleet.get("grid_intensity_source"):
        kind, year = fleet.get("grid_intensity_kind"), fleet.get("grid_intensity_year")
        why = fleet.get("grid_intensity_fallback")
        typer.echo(f"Grid intensity: {fleet['grid_intensity_source']} ({kind}, year {year})"
                   + (f"; fell back: {why}" if why else ""))  # fmt: skip
    if sci and not json_:
        from wattlens.cli.ecosystem import print_sci

        print_sci(body["sci"])
    if requests and not json_:
        from wattlens.cli.lengths import print_request_lengths

        print_request_lengths(body)


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

    cfg = load_cfg(config)
    with Store.open(db_path(cfg, db), read_only=True) as store:
        n = store.export(out, fmt=fmt, tier=as_tier(tier), start_s=since_s, end_s=until_s)
    typer.echo(f"wrote {n:,} rows to {out}")


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

        cfg = load_cfg(config)
        opts = AnalysisOptions.from_config(cfg)
        if frontier:
            from wattlens.catalog.frontier import get_frontier

            opts = opts.with_(frontier_spec=get_frontier(frontier).id)
        with Store.open(db_path(cfg, db), read_only=True) as store:
            result = run_analysis(store, range_s=range_s, options=opts)
    if json_:
        print_json(result)
    else:
        render_analysis(result)


__all__ = ["analyze", "export", "report", "status"]
