"""Grid intensity for a deployment's node: configurable rules over an eGRID table, then PUE."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from wattlens.catalog import grid


@dataclass(frozen=True)
class CarbonModel:
    """Resolves (node, namespace) to a grid region and intensity; carries the PUE factor.

    `rules` are `wattlens.catalog.grid.GridRule`s tried in order (first match wins, so overlapping
    patterns resolve the same way every time); None means the catalog's default (NRP) rules.
    """

    vintage: str = "egrid2024"
    default_region: str = "CAMX"
    rules: Sequence[Any] | None = None
    pue: float = 1.0
    intensity_override_kg_per_kwh: float | None = None
    # (host, namespace) -> what `_lookup` found; every drain asks once per deployment, and a
    # dict of the answers beats a cache keyed on the model (hashing its rules: ~12 us a call)
    _found: dict[tuple[str | None, str | None], tuple[str | None, float, RegionSource]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:

        grid.get_region(self.default_region, self.vintage)  # fail fast on a bad region/vintage
        rules = tuple(grid.default_rules() if self.rules is None else self.rules)
        object.__setattr__(self, "rules", rules)
        for rule in rules:
            grid.get_region(rule.region, self.vintage)

    def lookup(self, host: str | None, namespace: str | None) -> tuple[str | None, float]:
        """(region code, kg CO2 per kWh) for a node host and namespace."""
        return self._find(host, namespace)[:2]

    def region_source(self, host: str | None, namespace: str | None) -> RegionSource:
        """How the intensity was chosen: a matching `rule`, the `default` region (no rule
        matched: shown as such, never silently), or the configured `override`."""
        return self._find(host, namespace)[2]

    def _find(
        self, host: str | None, namespace: str | None
    ) -> tuple[str | None, float, RegionSource]:
        key = (host, namespace)
        found = self._found.get(key)
        if found is None:
            if len(self._found) >= _MAX_FOUND:
                self._found.clear()
            found = self._found[key] = _lookup(self, host, namespace)
        return found


RegionSource = Literal["rule", "default", "override"]
_MAX_FOUND = 4096  # (host, namespace) pairs remembered per model


def _lookup(
    model: CarbonModel, host: str | None, namespace: str | None
) -> tuple[str | None, float, RegionSource]:
    if model.intensity_override_kg_per_kwh is not None:
        return None, model.intensity_override_kg_per_kwh, "override"
    region, rule = grid.intensity_for(
        host, namespace, list(model.rules or ()), model.vintage, model.default_region
    )
    return region.code, region.intensity_kg_per_kwh, "default" if rule is None else "rule"


__all__ = ["CarbonModel", "RegionSource"]
