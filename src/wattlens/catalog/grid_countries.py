"""Country-level grid intensity (OWID annual averages) for nodes outside the eGRID subregions.

`get_country("FRA")` gives a `grid.GridRegion` whose vintage names the data year, so a grid
rule, the fallback of live intensity and the outputs can state which year was used.
"""

from __future__ import annotations

from functools import cache

from wattlens.catalog._load import check_sources, load_toml, suggestion
from wattlens.catalog.grid import GridRegion
from wattlens.core.errors import CatalogError
from wattlens.core.units import GRAMS_PER_KG

_FILE = "grid_countries.toml"


@cache
def _table() -> dict[str, tuple[GridRegion, int]]:
    data = load_toml(_FILE)
    source = check_sources(data["source"], _FILE)[0]
    out = {}
    for code, row in data["countries"].items():
        value = row["g_per_kwh"]
        if not isinstance(value, int | float) or value <= 0:
            raise CatalogError(f"{_FILE} {code}: g_per_kwh must be a positive number")
        year = int(row["year"])
        region = GridRegion(code, row["name"], value / GRAMS_PER_KG, f"owid{year}", source)
        out[code] = (region, year)
    return out


def countries() -> list[str]:
    """ISO 3166-1 alpha-3 codes in the table."""
    return sorted(_table())


def get_country(code: str) -> GridRegion:
    """The annual average intensity of a country (alpha-3 code, case-insensitive)."""
    key = code.strip().upper()
    table = _table()
    if key not in table:
        hint = suggestion(key, table, {})
        raise CatalogError(
            f"unknown country code {code!r}: expected ISO alpha-3 such as FRA.{hint}"
        )
    return table[key][0]


def country_year(code: str) -> int:
    """The data year of a country's value."""
    get_country(code)
    return _table()[code.strip().upper()][1]


def licence() -> str:
    """The data licence, as the file states it."""
    return str(load_toml(_FILE)["licence"])


__all__ = ["countries", "country_year", "get_country", "licence"]
