"""Cached TOML loading and shared helpers for the catalog loaders."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from wattlens.core.errors import CatalogError

_PACKAGE = "wattlens.catalog"
_YEAR = re.compile(r"(?<!\d)(19|20)\d{2}(?!\d)")

DATA_FILES = (
    "constants.toml",
    "frontier.toml",
    "gpus.toml",
    "grid.toml",
    "models.toml",
    "papers.toml",
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
        raise CatalogError(f"{where}: 'sources' must be a non-empty list of citations with a year")
    for s in sources:
        if not isinstance(s, str) or not has_year(s):
            raise CatalogError(f"{where}: source {s!r} must be a string with a four-digit year")
    return tuple(sources)


def check_keys(
    table: Mapping[str, Any], required: Iterable[str], allowed: Iterable[str], where: str
) -> None:
    """Raise CatalogError naming missing or unknown keys of a data-file table."""
    allowed_set = set(allowed) | set(required)
    missing = [k for k in required if k not in table]
    unknown = sorted(k for k in table if k not in allowed_set)
    if missing:
        raise CatalogError(f"{where}: missing key(s) {', '.join(missing)}; add them to the file")
    if unknown:
        raise CatalogError(
            f"{where}: unknown key(s) {', '.join(unknown)}; "
            f"expected only {', '.join(sorted(allowed_set))}"
        )


def suggestion(key: str, candidates: Iterable[str], labels: Mapping[str, str]) -> str:
    """' Did you mean X, Y?' for the closest candidates (mapped through `labels`), or ''."""
    close = difflib.get_close_matches(key, list(candidates), n=6, cutoff=0.6)
    names: list[str] = []
    for c in close:
        label = labels.get(c, c)
        if label not in names:
            names.append(label)
    return f" Did you mean {', '.join(names[:3])}?" if names else ""


__all__ = ["DATA_FILES", "check_keys", "check_sources", "has_year", "load_toml", "suggestion"]
