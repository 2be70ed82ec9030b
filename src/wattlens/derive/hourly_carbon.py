"""CO2 from hourly energy and hourly grid intensity (not energy x a daily or annual mean).

Grid intensity varies through the day; a deployment busy at the dirty evening peak emits more
than its energy times the mean intensity. Each hour's energy is multiplied by that hour's
intensity; an hour with no intensity point takes the previous hour's value (or the first one).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass

from wattlens.core.units import JOULES_PER_KWH

HOUR_S = 3600.0


@dataclass(frozen=True, slots=True)
class HourlyCo2:
    """CO2 over a span and how it was obtained."""

    co2_grams: float
    energy_joules: float
    hours: int
    hours_without_intensity: int  # filled from the previous (or first) known hour

    @property
    def effective_grams_per_kwh(self) -> float | None:
        """Energy-weighted mean intensity (PUE included): CO2 / energy."""
        if self.energy_joules <= 0:
            return None
        return self.co2_grams / (self.energy_joules / JOULES_PER_KWH)


def co2_hourly(
    energy_joules_by_hour: Mapping[float, float],
    grams_per_kwh_by_hour: Mapping[float, float],
    *,
    pue: float = 1.0,
) -> HourlyCo2:
    """Sum over hours of energy(h) x PUE x intensity(h); hours are keyed by their start (s)."""
    if not grams_per_kwh_by_hour:
        raise ValueError("no intensity points: use the static table instead")
    known = sorted((math.floor(h / HOUR_S) * HOUR_S, v) for h, v in grams_per_kwh_by_hour.items())
    starts = [h for h, _ in known]
    total, energy, missing = 0.0, 0.0, 0
    for hour, joules in energy_joules_by_hour.items():
        start = math.floor(hour / HOUR_S) * HOUR_S
        i = bisect.bisect_right(starts, start) - 1
        if i < 0 or starts[i] != start:
            missing += 1
        g_per_kwh = known[max(i, 0)][1]
        total += joules / JOULES_PER_KWH * pue * g_per_kwh
        energy += joules
    return HourlyCo2(total, energy, len(energy_joules_by_hour), missing)


__all__ = ["HourlyCo2", "co2_hourly"]
