"""Knobs of the derivation, and the carbon lookup a `Deriver` is given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

CarbonLookup = Callable[[str | None, str | None], tuple[str | None, float]]
"""(node host, namespace) -> (grid region code, kg CO2 per kWh)."""


@dataclass(frozen=True, slots=True)
class DeriveOptions:
    """Knobs of the derivation."""

    step_s: float = 30.0
    namespaces: frozenset[str] | None = None
    deployment_label: str | None = None
    max_gauge_gap_s: float = 300.0  # power-gauge integration never bridges a longer gap
    keep_recent_s: float = 6 * 3600.0  # late data can still update buckets this old


__all__ = ["CarbonLookup", "DeriveOptions"]
