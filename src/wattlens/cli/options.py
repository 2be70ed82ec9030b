"""Options and helpers the CLI commands share."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec

import typer

if TYPE_CHECKING:  # the commands import their floors lazily so that --help stays fast
    from wattlens.config import Config

P = ParamSpec("P")


def naming_flags(flags: Mapping[str, str]) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """A decorator: library errors that name a field are re-raised naming its flag (`flags`)."""
    from wattlens.core.errors import WattlensError

    def decorate(command: Callable[P, None]) -> Callable[P, None]:
        @functools.wraps(command)
        def run(*args: P.args, **kwargs: P.kwargs) -> None:
            try:
                command(*args, **kwargs)
            except WattlensError as e:
                renamed = e.renamed(flags)
                if renamed is e:
                    raise
                raise renamed from e

        return run

    return decorate


DbOpt = Annotated[Path | None, typer.Option("--db", help="DuckDB file (default from config).")]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", "-c", help="wattlens.toml (default ./wattlens.toml).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
UrlOpt = Annotated[
    str | None,
    typer.Option(help="Read through a running service's API (e.g. http://127.0.0.1:8080)."),
]


def load_cfg(path: Path | None) -> Any:
    from wattlens.config import load_config

    return load_config(path)


def db_path(cfg: Config, db: Path | None) -> Path:
    return Path(db) if db is not None else Path(cfg.store.path)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


__all__ = ["ConfigOpt", "DbOpt", "JsonOpt", "UrlOpt", "db_path", "load_cfg", "print_json"]
