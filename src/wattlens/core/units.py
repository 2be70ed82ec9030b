"""The only place unit conversions live. SI inside (W, J, s, bytes, tokens); convert at edges."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    #: A numpy array of any dtype; arithmetic with a Python float gives float64.
    Array = NDArray[Any]

JOULES_PER_KWH = 3.6e6
SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0
GRAMS_PER_KG = 1000.0
MG_PER_GRAM = 1000.0
LB_TO_KG = 0.45359237


# Every conversion works on Python floats and on numpy arrays alike: a float in gives a float
# out, an array anywhere in gives a float64 array out. The CO2 helpers say so with an all-float
# overload before the array one; mypy calls that pair overlapping (a float also fits the second),
# which is harmless because overloads are tried in order.
_X = TypeVar("_X", float, "Array")


def joules_from_millijoules(mj: _X) -> _X:
    """Convert millijoules (DCGM energy counter unit) to joules."""
    return mj / 1000.0


def kwh_from_joules(j: _X) -> _X:
    """Convert joules to kilowatt-hours."""
    return j / JOULES_PER_KWH


def joules_from_kwh(kwh: _X) -> _X:
    """Convert kilowatt-hours to joules."""
    return kwh * JOULES_PER_KWH


@overload
def co2_grams(  # type: ignore[overload-overlap]  # floats match here first
    energy_joules: float,
    intensity_kg_per_kwh: float,
    pue: float = 1.0,
) -> float: ...
@overload
def co2_grams(
    energy_joules: Array | float, intensity_kg_per_kwh: Array | float, pue: Array | float = 1.0
) -> NDArray[np.float64]: ...
def co2_grams(energy_joules: Any, intensity_kg_per_kwh: Any, pue: Any = 1.0) -> Any:
    """Grams of CO2 for an IT energy at a grid intensity, with PUE applied."""
    return kwh_from_joules(energy_joules) * pue * intensity_kg_per_kwh * GRAMS_PER_KG


@overload
def co2_grams_per_hour(  # type: ignore[overload-overlap]  # floats match here first
    power_watts: float, intensity_kg_per_kwh: float, pue: float = 1.0
) -> float: ...
@overload
def co2_grams_per_hour(
    power_watts: Array | float, intensity_kg_per_kwh: Array | float, pue: Array | float = 1.0
) -> NDArray[np.float64]: ...
def co2_grams_per_hour(power_watts: Any, intensity_kg_per_kwh: Any, pue: Any = 1.0) -> Any:
    """g/h = W x kg/kWh x PUE (W x kg/kWh is exactly g/h)."""
    return power_watts * intensity_kg_per_kwh * pue


@overload
def co2_mg_per_token(  # type: ignore[overload-overlap]  # floats match here first
    power_watts: float, intensity_kg_per_kwh: float, tokens_per_s: float, pue: float = 1.0
) -> float: ...
@overload
def co2_mg_per_token(
    power_watts: Array | float,
    intensity_kg_per_kwh: Array | float,
    tokens_per_s: Array | float,
    pue: Array | float = 1.0,
) -> NDArray[np.float64]: ...
def co2_mg_per_token(
    power_watts: Any, intensity_kg_per_kwh: Any, tokens_per_s: Any, pue: Any = 1.0
) -> Any:
    """mg/token = g/h x 1000 / (tok/s x 3600)."""
    return (
        co2_grams_per_hour(power_watts, intensity_kg_per_kwh, pue)
        * MG_PER_GRAM
        / (tokens_per_s * SECONDS_PER_HOUR)
    )


def kg_per_kwh_from_lb_per_mwh(lb_per_mwh: _X) -> _X:
    """eGRID publishes lb/MWh; 1 lb/MWh = 0.45359237 g/kWh."""
    return lb_per_mwh * LB_TO_KG / 1000.0
