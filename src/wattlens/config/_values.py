"""Value types that config fields hold: a masked secret, scrape targets, grid-region rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MASK = "**********"


class Secret:
    """A string that prints masked (repr, str, logs); `reveal()` returns the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str = "") -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value itself; pass it only to the code that sends it."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __str__(self) -> str:
        return MASK if self._value else ""

    def __repr__(self) -> str:
        return f"Secret({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))


@dataclass(frozen=True, slots=True)
class ScrapeTarget:
    """One exporter endpoint scraped directly, with labels added to its series."""

    url: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RegionRule:
    """Map nodes to a grid region: `pattern` tested against the host or namespace label.

    Matching itself lives in `wattlens.catalog.grid.GridRule` (`CarbonConfig.grid_rules()`).
    """

    pattern: str
    region: str
    field: Literal["host", "namespace"] = "host"
    match: Literal["substring", "regex", "exact"] = "substring"


__all__ = ["MASK", "RegionRule", "ScrapeTarget", "Secret"]
