"""Grid carbon intensity: eGRID subregion tables by vintage and host/namespace -> region rules.

Rules are tried in list order and the first match wins, so overlapping patterns resolve the same
way every time (the old NRP Go code iterated a map, whose order is random).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from wattlens.catalog._load import check_sources, load_toml, suggestion
from wattlens.core.errors import CatalogError, ConfigError
from wattlens.core.units import GRAMS_PER_KG, kg_per_kwh_from_lb_per_mwh

_FILE = "grid.toml"
_LEGACY_CODES = {"ERCO": "ERCT"}  # the NRP Go code's typo for ERCOT
RuleField = Literal["host", "namespace"]
RuleMatch = Literal["substring", "regex", "exact"]


@dataclass(frozen=True, slots=True)
class GridRegion:
    """Annual average grid intensity of one region in one data vintage."""

    code: str
    name: str
    intensity_kg_per_kwh: float
    vintage: str
    source: str


@dataclass(frozen=True, slots=True)
class GridRule:
    """Map a node (`host`) or Kubernetes `namespace` to a region code; case-insensitive."""

    pattern: str
    region: str
    field: RuleField = "host"
    match: RuleMatch = "substring"
    note: str = ""

    def __post_init__(self) -> None:
        if self.field not in ("host", "namespace"):
            raise ConfigError(
                f"grid rule {self.pattern!r}: field {self.field!r} must be 'host' or 'namespace'"
            )
        if self.match not in ("substring", "regex", "exact"):
            raise ConfigError(
                f"grid rule {self.pattern!r}: match {self.match!r} must be "
                "'substring', 'regex' or 'exact'"
            )
        if not self.pattern or not self.region:
            raise ConfigError("grid rule: pattern and region must be non-empty strings")
        if self.match == "regex":
            try:
                _compiled(self.pattern)
            except re.error as e:
                raise ConfigError(
                    f"grid rule {self.pattern!r}: not a valid regular expression ({e}); fix it"
                ) from e

    def matches(self, host: str | None, namespace: str | None) -> bool:
        """True when this rule's field is present and matches its pattern."""
        value = host if self.field == "host" else namespace
        if not value:
            return False
        if self.match == "regex":
            return _compiled(self.pattern).search(value) is not None
        if self.match == "exact":
            return value.casefold() == self.pattern.casefold()
        return self.pattern.casefold() in value.casefold()


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def _intensity(code: str, row: dict, where: str) -> float:
    units = [k for k in ("lb_per_mwh", "kg_per_kwh", "g_per_kwh") if k in row]
    if len(units) != 1 or not isinstance(row[units[0]], int | float) or row[units[0]] <= 0:
        raise CatalogError(
            f"{where} {code}: give exactly one positive lb_per_mwh/kg_per_kwh/g_per_kwh"
        )
    value = float(row[units[0]])
    if units[0] == "lb_per_mwh":
        return float(kg_per_kwh_from_lb_per_mwh(value))
    return value / GRAMS_PER_KG if units[0] == "g_per_kwh" else value


def _table(vintage: str, section: dict, where: str) -> dict[str, GridRegion]:
    source = check_sources(section["source"], where)[0]
    return {
        code: GridRegion(code, row["name"], _intensity(code, row, where), vintage, source)
        for code, row in section["regions"].items()
    }


@cache
def _catalog() -> tuple[dict[str, dict[str, GridRegion]], dict[str, GridRegion], dict]:
    data = load_toml(_FILE)
    tables = {v: _table(v, sec, f"{_FILE} [vintages.{v}]") for v, sec in data["vintages"].items()}
    extra = _table("supplementary", data["supplementary"], f"{_FILE} [supplementary]")
    return tables, extra, data


def vintages() -> list[str]:
    """Vintage ids in the data file, e.g. ['egrid2024', 'egrid2023', 'nrp2022']."""
    return list(_catalog()[0])


def default_vintage() -> str:
    """The vintage used when none is configured (stated in grid.toml)."""
    return str(_catalog()[2]["default_vintage"])


def default_region_code() -> str:
    """The region used when no rule matches: CAMX (stated in grid.toml, with the reason)."""
    return str(_catalog()[2]["default_region"])


def _vintage_table(vintage: str) -> dict[str, GridRegion]:
    tables = _catalog()[0]
    if vintage not in tables:
        hint = suggestion(vintage, tables, {})
        raise CatalogError(
            f"unknown grid vintage {vintage!r}: expected one of {', '.join(tables)}.{hint}"
        )
    return tables[vintage]


def regions(vintage: str = "egrid2024") -> dict[str, GridRegion]:
    """Region code -> GridRegion for a vintage, plus the non-eGRID supplementary regions."""
    return {**_catalog()[1], **_vintage_table(vintage)}


def get_region(code: str, vintage: str = "egrid2024") -> GridRegion:
    """The region for an eGRID subregion code (case-insensitive; 'ERCO' is read as ERCT)."""
    table = regions(vintage)
    key = str(code).strip().upper()
    key = _LEGACY_CODES.get(key, key)
    if key not in table:
        hint = suggestion(key, table, {})
        raise CatalogError(
            f"unknown grid region {code!r} in vintage {vintage!r}: expected an eGRID subregion "
            f"code such as CAMX or ERCT.{hint} Add it to wattlens/catalog/grid.toml."
        )
    return table[key]


@cache
def _default_rules() -> tuple[GridRule, ...]:
    rows = _catalog()[2]["rules"]["rule"]
    return tuple(
        GridRule(
            pattern=r["pattern"],
            region=r["region"],
            field=r.get("field", "host"),
            match=r.get("match", "substring"),
            note=r.get("check", ""),
        )
        for r in rows
    )


def default_rules() -> list[GridRule]:
    """The NRP 2022 hostname table as ordered rules (ERCO fixed to ERCT; see grid.toml notes)."""
    return list(_default_rules())


def resolve_region(
    host: str | None,
    namespace: str | None,
    rules: Sequence[GridRule] | None = None,
    default_region: str = "CAMX",
) -> tuple[str, GridRule | None]:
    """Region code of the first matching rule in list order, else (default_region, None)."""
    for rule in default_rules() if rules is None else rules:
        if rule.matches(host, namespace):
            return rule.region, rule
    return default_region, None


def intensity_for(
    host: str | None,
    namespace: str | None,
    rules: Sequence[GridRule] | None = None,
    vintage: str = "egrid2024",
    default_region: str = "CAMX",
) -> tuple[GridRegion, GridRule | None]:
    """GridRegion (with its intensity) for a node and namespace, and the rule that chose it."""
    code, rule = resolve_region(host, namespace, rules, default_region)
    return get_region(code, vintage), rule


__all__ = [
    "GridRegion",
    "GridRule",
    "default_region_code",
    "default_rules",
    "default_vintage",
    "get_region",
    "intensity_for",
    "regions",
    "resolve_region",
    "vintages",
]
