"""Rich rendering for the CLI: tables and progress bars. No computation here."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def _fmt(v: Any, digits: int = 1) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        if abs(v) >= 100 or digits == 0:
            return f"{v:,.0f}"
        return f"{v:,.{digits}f}"
    return str(v)


def _deployment_table(title: str, numbers: Sequence[str]) -> Table:
    """A table of deployment and model (left-aligned), then GPUs and `numbers` (right)."""
    t = Table(title=title, header_style="bold")
    for col in ("deployment", "model", "GPUs", *numbers):
        t.add_column(col, justify="left" if col in ("deployment", "model") else "right")
    return t


def status_table(rows: Sequence[dict[str, Any]]) -> None:
    """Live snapshot table."""
    if not rows:
        console.print("no deployments stored yet: run `wattlens collect`, `import` or `demo`")
        return
    t = _deployment_table(
        "wattlens status (live window)",
        ("W", "in tok/s", "out tok/s", "J/token", "gCO2/h", "mgCO2/token", "kg/kWh", "energy"),
    )
    for r in rows:
        t.add_row(
            r["deployment"],
            r.get("model_name") or "—",
            f"{r.get('gpu_count') or 0}× {r.get('gpu_type') or r.get('gpu_hardware') or '?'}",
            _fmt(r.get("power_watts")),
            _fmt(r.get("prompt_tokens_per_s")),
            _fmt(r.get("generation_tokens_per_s")),
            _fmt(r.get("joules_per_token"), 2),
            _fmt(r.get("co2_grams_per_hour")),
            _fmt(r.get("co2_mg_per_token"), 3),
            _fmt(r.get("carbon_intensity_kg_per_kwh"), 3),
            r.get("energy_source") or "—",
        )
    console.print(t)


def report_table(body: dict[str, Any]) -> None:
    """Period totals table: one row per deployment, then the fleet totals."""
    t = _deployment_table(
        "wattlens report",
        ("kWh", "prompt tok", "output tok", "kg CO2", "J/token", "J/token (active)"),
    )
    fleet = {"deployment": "fleet", **body["fleet"]}
    for r in [*body["deployments"], fleet]:
        t.add_row(
            r["deployment"],
            r.get("model_name") or "",
            str(r.get("gpu_count") or ""),
            _fmt(r.get("energy_kwh"), 2),
            _fmt(r.get("prompt_tokens"), 0),
            _fmt(r.get("generation_tokens"), 0),
            _fmt(r.get("co2_kg"), 3),
            _fmt(r.get("joules_per_token"), 3),
            _fmt(r.get("joules_per_token_active"), 3),
        )
    console.print(t)


def config_table(rows: Sequence[tuple[str, str, str]]) -> None:
    """`config check` output: key, value, where it came from."""
    t = Table(title="configuration OK", header_style="bold")
    for col in ("key", "value", "source"):
        t.add_column(col)
    for key, value, source in rows:
        t.add_row(key, value, source)
    console.print(t)


@contextmanager
def progress_samples(path: Path) -> Iterator[Callable[[int], None]]:
    """A live count of samples read from a file; yields `tick(samples_done)`."""
    from rich.progress import MofNCompleteColumn, SpinnerColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        MofNCompleteColumn(),
        TextColumn("samples"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"importing {path.name}", total=None)
        yield lambda done: bar.update(task, completed=done)


@contextmanager
def progress_fraction(description: str) -> Iterator[Callable[[float], None]]:
    """A progress bar over a fraction 0-1; yields `tick(fraction)`."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=1.0)
        yield lambda f: bar.update(task, completed=f)


def cycle_line(stats: Any) -> None:
    """One stderr line per collection cycle (`collect -v`)."""
    through = "-" if stats.committed_through_s is None else f"{stats.committed_through_s:.0f}"
    errs = f" errors={len(stats.errors)}" if stats.errors else ""
    print(
        f"cycle samples={stats.samples} intervals={stats.records} committed_through={through}"
        f" cpu_ms={stats.cpu_s * 1000:.1f}{errs}",
        file=sys.stderr,
        flush=True,
    )
