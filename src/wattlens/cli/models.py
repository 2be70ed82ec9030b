"""`wattlens models ...`: look at the model catalog and at how a served name resolves.

Thin commands: parse options, call one `wattlens.catalog.listing` function, render with rich or
`--json`. Library imports happen inside the commands so that `--help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

models_app = typer.Typer(
    no_args_is_help=True, help="The model catalog: list models, show how a name resolves."
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="wattlens.toml (default ./wattlens.toml).")
]


def _billions(x: float) -> str:
    return f"{x / 1e9:,.2f}B" if x >= 1e9 else f"{x / 1e6:,.0f}M"


@models_app.command("list")
def models_list(
    family: Annotated[
        str | None, typer.Option("--family", "-f", help="Only this family, e.g. qwen2.5, llama.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the shipped catalog (id, parameters, shape, dtype, source)."""
    from rich.console import Console
    from rich.table import Table

    from wattlens.catalog.listing import list_models

    rows = list_models(family)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    cols = ("id", "params", "active", "layers", "heads/kv", "head_dim", "dtype", "source")
    cells = [
        (r["id"], _billions(r["params_total"]), _billions(r["params_active"]), str(r["layers"]),
         f"{r['num_attention_heads']}/{r['num_kv_heads']}", str(r["head_dim"]), r["dtype"],
         r["source"])
        for r in rows
    ]  # fmt: skip
    t = Table(title=f"Models ({len(rows)})")
    need = 1
    for i, col in enumerate(cols):
        widest = max([len(col), *(len(c[i]) for c in cells)])
        t.add_column(col, justify="left" if col in ("id", "dtype", "source") else "right",
                     no_wrap=True, min_width=widest)  # fmt: skip
        need += widest + 3
    for c in cells:
        t.add_row(*c)
    console = Console()
    console.print(t, width=max(console.width, need), crop=False)  # piped output is never cut


@models_app.command("show")
def models_show(
    name: Annotated[str, typer.Argument(help="A served name, HF repo id or catalog id.")],
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Show the model a name resolves to, which entry matched and where it came from."""
    from rich.console import Console
    from rich.table import Table

    from wattlens.analysis.options import AnalysisOptions
    from wattlens.analysis.report import resolver_for
    from wattlens.catalog.listing import show_model
    from wattlens.config import load_config

    rec: dict[str, Any] = show_model(
        name, resolver_for(AnalysisOptions.from_config(load_config(config)))
    )
    if as_json:
        typer.echo(json.dumps(rec, indent=2))
        return
    t = Table(title=f"{name} -> {rec['id']}", show_header=False)
    t.add_column("field")
    t.add_column("value")
    for key, value in rec.items():
        if key == "source" and value == "estimated_from_name":
            value = "[yellow]estimated_from_name[/yellow] (no config found; sized from the name)"
        t.add_row(key, ", ".join(map(str, value)) if isinstance(value, list) else str(value))
    Console().print(t)


__all__ = ["models_app"]
