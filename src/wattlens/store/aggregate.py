"""How interval rows combine: the SQL shared by rollups and window aggregates, and `Aggregate`.

Additive columns are summed (NULL only when every input is NULL); gauge means are weighted by
interval_s over the rows where they are known; energy_source is the best source present.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wattlens.core.metrics import Totals
from wattlens.core.records import EnergySource

ADDITIVE = (
    "interval_s",
    "energy_joules",
    "prompt_tokens",
    "generation_tokens",
    "requests_finished",
    "itl_seconds_sum",
    "co2_grams",
    "sample_count",
    "cached_prompt_tokens",
)
GAUGES = ("requests_running", "requests_waiting", "kv_cache_usage_ratio", "gpu_util_percent")
FACTORS = ("carbon_intensity_kg_per_kwh", "pue")  # never NULL


def _weighted(col: str) -> str:
    return (
        f"sum({col} * interval_s) / nullif(sum(CASE WHEN {col} IS NOT NULL THEN interval_s END), 0)"
    )


def aggregate_exprs() -> dict[str, str]:
    """Column -> SQL aggregate over a group of interval rows (everything but the keys)."""
    exprs = {c: f"sum({c})" for c in ADDITIVE}
    exprs.update({c: _weighted(c) for c in GAUGES + FACTORS})
    exprs["energy_source"] = (
        "CASE WHEN bool_or(energy_source = 'counter') THEN 'counter' "
        "WHEN bool_or(energy_source = 'gauge') THEN 'gauge' ELSE 'none' END"
    )
    exprs["gpu_count"] = "max(gpu_count)"
    return exprs


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One deployment's interval rows combined over a window (ts_end_s in (start_s, end_s])."""

    deployment_id: str
    start_s: float
    end_s: float
    interval_s: float  # seconds covered by the rows (sum of their interval_s)
    interval_count: int
    first_ts_end_s: float
    last_ts_end_s: float
    energy_joules: float | None
    energy_source: EnergySource
    prompt_tokens: float | None
    generation_tokens: float | None
    requests_finished: float | None
    itl_seconds_sum: float | None
    requests_running: float | None
    requests_waiting: float | None
    kv_cache_usage_ratio: float | None
    gpu_util_percent: float | None
    gpu_count: int
    carbon_intensity_kg_per_kwh: float
    pue: float
    co2_grams: float | None
    sample_count: int
    token_energy_joules: float | None = None  # over the rows with token counts
    token_co2_grams: float | None = None
    cached_prompt_tokens: float | None = None

    def totals(self) -> Totals:
        """The window's additive totals, the input of the metric vocabulary."""
        return Totals(
            seconds=self.interval_s,
            energy_joules=self.energy_joules,
            prompt_tokens=self.prompt_tokens,
            generation_tokens=self.generation_tokens,
            co2_grams=self.co2_grams,
            requests_finished=self.requests_finished,
            itl_seconds_sum=self.itl_seconds_sum,
            token_energy_joules=self.token_energy_joules,
            token_co2_grams=self.token_co2_grams,
            cached_prompt_tokens=self.cached_prompt_tokens,
        )

    @property
    def power_watts(self) -> float | None:
        """Mean power over the covered seconds."""
        if self.energy_joules is None or self.interval_s <= 0:
            return None
        return self.energy_joules / self.interval_s

    @property
    def tokens_per_s(self) -> float | None:
        """Prompt plus generated tokens per covered second; None without engine metrics."""
        if (self.prompt_tokens is None and self.generation_tokens is None) or self.interval_s <= 0:
            return None
        return ((self.prompt_tokens or 0.0) + (self.generation_tokens or 0.0)) / self.interval_s


TOKENS_KNOWN = "(prompt_tokens IS NOT NULL OR generation_tokens IS NOT NULL)"


def row_totals(row: dict[str, Any], *, active: bool = False) -> Totals:
    """Totals of one `Store.totals()` row: the whole range, or its active rows (`active_*`)."""
    pre = "active_" if active else ""
    return Totals(
        seconds=float(row.get(f"{pre}covered_s") or 0.0),
        energy_joules=row.get(f"{pre}energy_joules"),
        prompt_tokens=row.get(f"{pre}prompt_tokens"),
        generation_tokens=row.get(f"{pre}generation_tokens"),
        co2_grams=row.get(f"{pre}co2_grams"),
        requests_finished=None if active else row.get("requests_finished"),
        token_energy_joules=row.get(f"{pre}energy_joules" if active else "token_energy_joules"),
        token_co2_grams=row.get(f"{pre}co2_grams" if active else "token_co2_grams"),
        cached_prompt_tokens=None if active else row.get("cached_prompt_tokens"),
    )


__all__ = [
    "ADDITIVE",
    "FACTORS",
    "GAUGES",
    "Aggregate",
    "TOKENS_KNOWN",
    "aggregate_exprs",
    "row_totals",
]
