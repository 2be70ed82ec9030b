"""The only place unit conversions live. SI inside (W, J, s, bytes, tokens); convert at edges."""

from __future__ import annotations

JOULES_PER_KWH = 3.6e6
SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0
GRAMS_PER_KG = 1000.0
MG_PER_GRAM = 1000.0
LB_TO_KG = 0.45359237


def joules_from_millijoules(mj):  # noqa: ANN001, ANN201 - works on floats and arrays
    """Convert millijoules (DCGM energy counter unit) to joules."""
    return mj / 1000.0


def kwh_from_joules(j):  # noqa: ANN001, ANN201
    """Convert joules to kilowatt-hours."""
    return j / JOULES_PER_KWH


def joules_from_kwh(kwh):  # noqa: ANN001, ANN201
    """Convert kilowatt-hours to joules."""
    return kwh * JOULES_PER_KWH


def co2_grams(energy_joules, intensity_kg_per_kwh, pue=1.0):  # noqa: ANN001, ANN201
    """Grams of CO2 for an IT energy at a grid intensity, with PUE applied."""
    return kwh_from_joules(energy_joules) * pue * intensity_kg_per_kwh * GRAMS_PER_KG


def co2_grams_per_hour(power_watts, intensity_kg_per_kwh, pue=1.0):  # noqa: ANN001, ANN201
    """g/h = W x kg/kWh x PUE (W x kg/kWh is exactly g/h)."""
    return power_watts * intensity_kg_per_kwh * pue


def co2_mg_per_token(power_watts, intensity_kg_per_kwh, tokens_per_sec, pue=1.0):  # noqa: ANN001, ANN201
    """mg/token = g/h x 1000 / (tok/s x 3600)."""
    return (
        co2_grams_per_hour(power_watts, intensity_kg_per_kwh, pue)
        * MG_PER_GRAM
        / (tokens_per_sec * SECONDS_PER_HOUR)
    )


def kg_per_kwh_from_lb_per_mwh(lb_per_mwh):  # noqa: ANN001, ANN201
    """eGRID publishes lb/MWh; 1 lb/MWh = 0.45359237 g/kWh."""
    return lb_per_mwh * LB_TO_KG / 1000.0
