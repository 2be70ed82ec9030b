"""`report --requests`: a compact table of requests and Wh per request by prompt/output length."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

_console = Console()


def _bound(r: dict[str, Any]) -> str:
    lo, le = r["lo_tokens"], r["le_tokens"]
    return f">{lo:g}" if le is None else f"{lo:g}-{le:g}"


def print_request_lengths(body: dict[str, Any]) -> None:
    """One table per deployment with stored histograms; the note otherwise."""
    shown = False
    for row in body.get("deployments", []):
        dist = row.get("request_length_distribution")
        if not dist:
            continue
        t = Table(title=f"{row['deployment']}: energy per request by length", header_style="bold")
        for col in ("kind", "tokens", "requests", "share", "Wh/request"):
            t.add_column(col, justify="left" if col in ("kind", "tokens") else "right")
        for kind in ("prompt", "generation"):
            for r in dist.get(kind, []):
                wh = r["energy_wh_per_request"]
                t.add_row(kind, _bound(r), f"{r['requests']:.0f}",
                          f"{r['share']:.1%}" if r["share"] is not None else "-",
                          "-" if wh is None else f"{wh:.4f}")  # fmt: skip
        _console.print(t)
        shown = True
    if shown:
        _console.print(f"Assumption: {body.get('request_lengths')}", style="dim", soft_wrap=True)


__all__ = ["print_request_lengths"]
