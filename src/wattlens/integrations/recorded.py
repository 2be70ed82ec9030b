"""Reading back the recorded series of `wattlens rules` from a Prometheus-API backend.

When the backend evaluates the rules, it already holds per-deployment power and token rates
(`wattlens:deployment_power_watts`, `..._prompt_tokens_per_s`, `..._generation_tokens_per_s`),
so wattlens can ask it for a few hundred recorded series instead of every raw DCGM and engine
series: at scale the backend does the work. This module detects them (`detect_recorded`, with
one log line saying what was found and what wattlens will do) and integrates them into
per-deployment energy and tokens over a period (`recorded_totals`). The names, the detection
and the collector's source over them live in `telemetry.recorded` (the collector reads them when
`[backend] use_recorded` allows; docs/ecosystem.md, "Recorded series").
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np

from wattlens.telemetry.recorded import (
    LOOKBACK,
    NEEDED,
    PREFIX,
    RecordedDetection,
    deployment_of,
    detect_recorded,
)
from wattlens.telemetry.records import SeriesSet


class RangeClient(Protocol):
    """What is used of `telemetry.promapi.PrometheusClient`."""

    base_url: str

    def instant(
        self, query: str, time_s: float | None = None
    ) -> list[tuple[dict[str, str], float, float]]:
        """Instant vector query."""
        ...

    def range(self, query: str, start_s: float, end_s: float, step_s: float) -> SeriesSet:
        """Range query."""
        ...


def recorded_totals(
    client: RangeClient, start_s: float, end_s: float, step_s: float
) -> dict[str, dict[str, Any]]:
    """Per deployment over (start, end]: energy (J) and tokens from the recorded rates.

    Each recorded value is a rate over the window before its evaluation, so the period is the
    sum over evaluation points start + step, ..., end of rate x step (the rules' own interval
    is the natural step). A deployment without engine metrics has tokens None.
    """
    if step_s <= 0 or end_s <= start_s:
        raise ValueError("recorded_totals needs step > 0 and end > start")
    first = start_s + step_s
    out: dict[str, dict[str, Any]] = {}
    keys = {"power_watts": "energy_joules", "prompt_tokens_per_s": "prompt_tokens",
            "generation_tokens_per_s": "generation_tokens"}  # fmt: skip
    for name, total in keys.items():
        series = client.range(PREFIX + name, first, end_s, step_s)
        for key, (_, v) in series.series.items():
            dep = deployment_of(key)[0]
            row = out.setdefault(dep, {"energy_joules": None, "prompt_tokens": None,
                                       "generation_tokens": None, "points": 0})  # fmt: skip
            finite = v[np.isfinite(v)]
            row[total] = (row[total] or 0.0) + float(finite.sum()) * step_s
            if name == "power_watts":
                row["points"] += len(finite)
    for row in out.values():
        row["covered_s"] = row.pop("points") * step_s
        row["joules_per_token"] = _ratio(row)
    return out


def _ratio(row: dict[str, Any]) -> float | None:
    tokens = (row["prompt_tokens"] or 0.0) + (row["generation_tokens"] or 0.0)
    energy = row["energy_joules"]
    if energy is None or tokens <= 0 or not math.isfinite(energy):
        return None
    return float(energy / tokens)


__all__ = ["LOOKBACK", "NEEDED", "RecordedDetection", "detect_recorded", "recorded_totals"]
