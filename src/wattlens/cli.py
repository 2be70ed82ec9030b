"""The one typer app. Each command parses options, calls one library function, renders the result."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.callback()
def _root() -> None:
    """wattlens: what each token costs in energy and CO2, and how to spend less."""


@app.command()
def version() -> None:
    """Print the wattlens version."""
    from wattlens import __version__

    typer.echo(__version__)


def main() -> None:
    """Console entry point."""
    app()
