"""Rates derived on read from interval totals: W, tok/s, J/token, decode speed, CO2."""

from __future__ import annotations

from typing import Any

from wattlens.core.units import (
    GRAMS_PER_KG,
    JOULES_PER_KWH,
    MG_PER_GRAM,
    SECONDS_PER_HOUR,
    co2_grams_per_hour,
)


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b <= 0:
        return None
    return a / b


def derive_rates(
    *,
    seconds: float,
    energy_joules: float | None,
    prompt_tokens: float | None,
    generation_tokens: float | None,
    itl_seconds_sum: float | None,
    requests_finished: float | None,
    carbon_intensity_kg_per_kwh: float,
    pue: float,
    min_tokens_per_sec_for_ratio: float,
) -> dict[str, Any]:
    """Rates over a window of `seconds`; per-token ratios are None below the traffic threshold.

    J/token uses prompt + generation tokens (the old dashboard's denominator; agentic traffic is
    mostly input); J/output-token uses generation tokens only, as ML.ENERGY reports it.
    """
    power = _div(energy_joules, seconds)
    prompt_rate = _div(prompt_tokens, seconds)
    gen_rate = _div(generation_tokens, seconds)
    known = prompt_tokens is not None or generation_tokens is not None
    total_rate = (prompt_rate or 0.0) + (gen_rate or 0.0) if known else None
    busy = total_rate is not None and total_rate > min_tokens_per_sec_for_ratio
    busy_out = gen_rate is not None and gen_rate > min_tokens_per_sec_for_ratio
    g_per_h = (
        co2_grams_per_hour(power, carbon_intensity_kg_per_kwh, pue) if power is not None else None
    )
    return {
        "power_watts": power,
        "prompt_tokens_per_sec": prompt_rate,
        "generation_tokens_per_sec": gen_rate,
        "tokens_per_sec": total_rate,
        "joules_per_token": _div(energy_joules, (prompt_tokens or 0) + (generation_tokens or 0))
        if busy
        else None,
        "joules_per_output_token": _div(energy_joules, generation_tokens) if busy_out else None,
        # Tokens per second of time spent generating: not diluted by idle gaps; MTP-correct.
        "decode_tokens_per_sec": _div(generation_tokens, itl_seconds_sum),
        "requests_per_hour": _div(requests_finished, seconds / SECONDS_PER_HOUR)
        if requests_finished is not None
        else None,
        "co2_grams_per_hour": g_per_h,
        "co2_mg_per_token": g_per_h * MG_PER_GRAM / (total_rate * SECONDS_PER_HOUR)
        if (busy and g_per_h is not None and total_rate)
        else None,
        "carbon_intensity_kg_per_kwh": carbon_intensity_kg_per_kwh,
        "pue": pue,
    }


def energy_kwh(energy_joules: float | None) -> float | None:
    """J -> kWh, None-safe."""
    return None if energy_joules is None else energy_joules / JOULES_PER_KWH


def co2_kg(co2_grams: float | None) -> float | None:
    """g -> kg, None-safe."""
    return None if co2_grams is None else co2_grams / GRAMS_PER_KG


__all__ = ["co2_kg", "derive_rates", "energy_kwh"]
