"""The command line: one typer app (`main`), its rendering (`render`) and `plan` commands."""

from wattlens.cli.main import app, main

__all__ = ["app", "main"]
