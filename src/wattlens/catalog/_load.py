"""Cached TOML loading and shared helpers for the catalog loaders."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from wattlens.core import validate as v
from wattlens.core.errors import CatalogError

_PACKAGE = "wattlens.catalog"
_YEAR = re.compile(r"(?<!\d)(19|20)\d{2}(?!\d)")
_CITATION = 'use e.g. "Author et al., Title, Venue 2024" (a string naming a four-digit year)'

DATA_FILES = (
    "constants.toml",
    "frontier.toml",
    "gpus.toml",
    "grid.toml",
    "grid_countries.toml",
    "models.toml",
    "models_hf.toml",
    "papers.toml",
    "prices.toml",
    "stepmodel.toml",
)


@cache
def load_toml(filename: str) -> dict[str, Any]:
    """Parse one TOML file shipped in `wattlens.catalog` (parsed once; callers must not mutate)."""
    try:
        raw = resources.files(_PACKAGE).joinpath(filename).read_bytes()
    except (FileNotFoundError, IsADirectoryError) as e:
        raise CatalogError(
            f"catalog file {filename!r} is missing from the installed package; "
            "reinstall wattlens (the file is listed in package-data)"
        ) from e
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise CatalogError(
            f"catalog file {filename!r} is not valid TOML ({e}); fix the file"
        ) from e


def has_year(text: str) -> bool:
    """True when `text` contains a four-digit year (19xx or 20xx)."""
    return _YEAR.search(text) is not None


def check_sources(sources: object, where: str) -> tuple[str, ...]:
    """Return `sources` as a tuple after checking each is a string that names a year."""
    if isinstance(sources, str):
        sources = [sources]
    if not isinstance(sources, list) or not sources:
        raise CatalogError(
            v.message(f"{where}.sources", sources, v.bad("a list of citations", _CITATION))
        )
    for i, s in enumerate(sources):
        if not isinstance(s, str) or not has_year(s):
            raise CatalogError(
                v.message(f"{where}.sources[{i}]", s, v.bad("a citation with a year", _CITATION))
            )
    return tuple(sources)


def field(table: Mapping[str, Any], key: str, parse: v.Parser, where: str) -> Any:
    """`table[key]` checked by a `wattlens.core.validate` parser; CatalogError naming the key."""
    return v.check(parse, table[key], f"{where}.{key}", error=CatalogError)


def check_keys(
    table: Mapping[str, Any], required: Iterable[str], allowed: Iterable[str], where: str
) -> None:
    """Raise CatalogError naming missing or unknown keys of a data-file table."""
    allowed_set = set(allowed) | set(required)
    missing = [k for k in required if k not in table]
    unknown = sorted(k for k in table if k not in allowed_set)
    if missing:
        raise CatalogError(v.missing_keys(where, missing))
    if unknown:
        raise CatalogError(v.unknown_key(where, unknown[0], allowed_set))


def suggestion(key: str, candidates: Iterable[str], labels: Mapping[str, str]) -> str:
    """' Did you mean X, Y?' for the closest candidates (mapped through `labels`), or ''."""
    close = difflib.get_close_matches(key, list(candidates), n=6, cutoff=0.6)
    names: list[str] = []
    for c in close:
        label = labels.get(c, c)
        if label not in names:
            names.append(label)
    return f" Did you mean {', '.join(names[:3])}?" if names else ""


__all__ = [
    "DATA_FILES",
    "check_keys",
    "check_sources",
    "field",
    "has_year",
    "load_toml",
    "suggestion",
]
