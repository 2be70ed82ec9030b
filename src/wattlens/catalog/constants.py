"""Cited constants: every number wattlens uses that is not a GPU, model, grid or paper value."""

from __future__ import annotations

import math
from functools import cache

from wattlens.catalog._load import check_keys, check_sources, field, load_toml, suggestion
from wattlens.catalog.specs import Cited
from wattlens.core import validate as v
from wattlens.core.errors import CatalogError

_FILE = "constants.toml"


def _build(name: str, t: dict) -> Cited:
    where = f"{_FILE}: constants.{name}"
    check_keys(t, ("value", "unit", "source", "year"), ("note", "extra"), where)
    year = field(t, "year", v.integer(1900, 2100, "2024"), where)
    field(t, "value", v.number(-math.inf, "0.5"), where)
    return Cited(
        value=float(t["value"]),
        unit=t["unit"],
        source=check_sources(t["source"], where)[0],
        year=year,
        note=t.get("note", ""),
        extra={k: float(x) for k, x in t.get("extra", {}).items()},
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
