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
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, float):
        if abs(v) >= 100 or digits == 0:
            return f"{v:,.0f}"
        return f"{v:,.{digits}f}"
    return str(v)


def _print_deployment_table(
    title: str, numbers: Sequence[str], rows: Sequence[Sequence[str]]
) -> None:
    """Deployment and model (left, folded when narrow), then GPUs and `numbers` (right).

    Numbers are never cut: each number column is as wide as its widest cell (headers fold at
    spaces), the names fold onto more lines, and a table that still does not fit is printed at
    the width it needs (piped output is never truncated)."""
    headers = ("deployment", "model", "GPUs", *numbers)
    t = Table(title=title, header_style="bold")
    need = 1
    for i, col in enumerate(headers):
        word = max(len(w) for w in col.split())
        widest = max([len(r[i]) for r in rows] + [word])
        if i < 2:
            widest = min(widest, NAME_MIN_WIDTH)
            t.add_column(col, justify="left", overflow="fold", min_width=widest)
        else:
            t.add_column(col, justify="right", min_width=widest)
        need += widest + 3
    for r in rows:
        t.add_row(*r)
    console.print(t, width=max(console.width, need), crop=False)


NAME_MIN_WIDTH = 14


def status_table(rows: Sequence[dict[str, Any]]) -> None:
    """Live snapshot table."""
    if not rows:
        console.print("no deployments stored yet: run `wattlens collect`, `import` or `demo`")
        return
    cells = [
        (
            r["deployment"],
            r.get("model_name") or "—",
            f"{r.get('gpu_count') or 0}× {r.get('gpu_type') or r.get('gpu_hardware') or '?'}",
            _fmt(r.get("power_watts")),
            _fmt(r.get("prompt_tokens_per_s")),
            _fmt(r.get("generation_tokens_per_s")),
            _fmt(r.get("joules_per_token"), 2),
            _fmt(r.get("co2_grams_per_hour")),
            _fmt(r.get("co2_mg_per_token"), 3),
            _fmt(r.get("carbon_intensity_kg_per_kwh"), 3)
            + ("*" if r.get("grid_region_source") == "default" else ""),
            r.get("energy_source") or "—",
        )
        for r in rows
    ]
    _print_deployment_table(
        "wattlens status (live window)",
        ("W", "in tok/s", "out tok/s", "J/token", "gCO2/h", "mgCO2/token", "kg/kWh", "energy"),
        cells,
    )
    if any(r.get("grid_region_source") == "default" for r in rows):
        console.print(
            "* no grid-region rule matched the node: the default region's intensity "
            "(carbon.default_region) is used; add a rule under [carbon] to place it"
        )


def report_table(body: dict[str, Any]) -> None:
    """Period totals table: one row per deployment, then the fleet totals."""
    fleet = {"deployment": "fleet", **body["fleet"]}
    cells = [
        (
            r["deployment"],
            r.get("model_name") or "",
            str(r.get("gpu_count") or ""),
            _fmt(r.get("energy_kwh"), 2),
            _fmt(r.get("prompt_tokens"), 0),
            _fmt(r.get("generation_tokens"), 0),
            _fmt(r.get("co2_kg"), 3),
            _fmt(r.get("joules_per_token"), 3),
            _fmt(r.get("joules_per_token_active"), 3),
            _fmt(r.get("energy_wh_per_request"), 3),
            _fmt(r.get("idle_wh_per_request"), 3),
            _fmt(r.get("marginal_wh_per_request"), 3),
        )
        for r in [*body["deployments"], fleet]
    ]
    _print_deployment_table(
        "wattlens report",
        ("kWh", "prompt tok", "output tok", "kg CO2", "J/token", "J/token (active)", "Wh/request",
         "idle Wh/req", "marginal Wh/req"),
        cells,
    )  # fmt: skip
    if body.get("request_lengths"):
        console.print(f"Energy per request by prompt and output length: {body['request_lengths']}",
                      style="dim", soft_wrap=True)  # fmt: skip


def config_table(rows: Sequence[tuple[str, str, str]]) -> None:
    """`config check` output: key, value, where it came from."""
    t = Table(title="configuration OK", header_style="bold")
    for col in ("key", "value", "source"):
        t.add_column(col)
    for key, value, source in rows:
        t.add_row(key, value, source)
    console.print(t)


def estimate_samples(path: Path, probes: int = 16, probe_bytes: int = 256 << 10) -> int | None:
    """About how many samples a text exposition file holds: its size over the mean bytes per
    sample line in `probes` slices spread over the file (families differ in line length).
    None for JSON or an unreadable file."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            if f.read(64).lstrip()[:1] in (b"{", b"["):
                return None
            read = samples = 0
            for k in range(probes):
                f.seek(size * k // probes)
                chunk = f.read(probe_bytes)
                lines = chunk.splitlines()[1:-1]  # drop the partial first and last lines
                read += sum(len(ln) + 1 for ln in lines)
                samples += sum(1 for ln in lines if ln and not ln.startswith(b"#"))
    except OSError:
        return None
    return max(1, round(size * samples / read)) if samples else None


@contextmanager
def progress_samples(path: Path) -> Iterator[Callable[[int], None]]:
    """Samples read from a file out of an estimated total, with the time left; yields
    `tick(samples_done)`."""
    from rich.progress import MofNCompleteColumn, SpinnerColumn, TimeElapsedColumn

    total = estimate_samples(path)
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("samples (estimated total)" if total else "samples"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task(f"importing {path.name}", total=total)
        yield lambda done: bar.update(
            task, completed=done, total=max(total, done) if total else None
        )


@contextmanager
def progress_fraction(description: str) -> Iterator[Callable[[float], None]]:
    """A progress bar over a fraction 0-1; yields `tick(fraction)`. Not drawn where stderr is
    no terminal (a service's log): the bar, transient, would show nothing there, yet its refresh
    thread costs CPU all along (a 20 s backfill: about 0.08 CPU-s, issue #11)."""
    if not err_console.is_terminal:
        yield lambda f: None
        return
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
