"""Cited constants: every number wattlens uses that is not a GPU, model, grid or paper value."""

from __future__ import annotations

from functools import cache

from wattlens.catalog._load import check_keys, check_sources, load_toml, suggestion
from wattlens.catalog.specs import Cited
from wattlens.core.errors import CatalogError

_FILE = "constants.toml"


def _build(name: str, t: dict) -> Cited:
    where = f"{_FILE} [constants.{name}]"
    check_keys(t, ("value", "unit", "source", "year"), ("note", "extra"), where)
    year = t["year"]
    if not isinstance(year, int) or not 1900 <= year <= 2100:
        raise CatalogError(f"{where}: year must be a four-digit integer, got {year!r}")
    if not isinstance(t["value"], int | float):
        raise CatalogError(f"{where}: value must be a number, got {t['value']!r}")
    return Cited(
        value=float(t["value"]),
        unit=t["unit"],
        source=check_sources(t["source"], where)[0],
        year=year,
        note=t.get("note", ""),
        extra={k: float(v) for k, v in t.get("extra", {}).items()},
    )


@cache
def _catalog() -> dict[str, Cited]:
    return {name: _build(name, t) for name, t in load_toml(_FILE)["constants"].items()}


def constant(name: str) -> Cited:
    """The cited constant `name` (e.g. 'min_tokens_per_s_for_ratio'); CatalogError if unknown."""
    table = _catalog()
    if name not in table:
        raise CatalogError(
            f"unknown constant {name!r}.{suggestion(str(name), table, {})} "
            "Add it with a source to wattlens/catalog/constants.toml."
        )
    return table[name]


def all_constants() -> dict[str, Cited]:
    """Name -> Cited for every constant, in file order."""
    return dict(_catalog())


__all__ = ["all_constants", "constant"]
