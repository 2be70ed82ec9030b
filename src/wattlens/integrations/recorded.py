"""Reading back the recorded series of `wattlens rules` from a Prometheus-API backend.

When the backend evaluates the rules, it already holds per-deployment power and token rates
(`wattlens:deployment_power_watts`, `..._prompt_tokens_per_s`, `..._generation_tokens_per_s`),
so wattlens can ask it for a few hundred recorded series instead of every raw DCGM and engine
series: at scale the backend does the work. This module detects them (`detect_recorded`, with
one log line saying what was found and what wattlens will do) and integrates them into
per-deployment energy and tokens over a period (`recorded_totals`). Wiring it into the
collector's Prometheus-API source is the next step (docs/ecosystem.md, "Recorded series").
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from wattlens.integrations.rules import PREFIX
from wattlens.telemetry.records import SeriesSet

log = logging.getLogger(__name__)
NEEDED = ("power_watts", "prompt_tokens_per_s", "generation_tokens_per_s")
LOOKBACK = "1h"  # rules evaluated within the last hour count as present


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


@dataclass(frozen=True, slots=True)
class RecordedDetection:
    """Which `wattlens:deployment_*` series the backend holds."""

    backend: str
    present: tuple[str, ...]  # names without the prefix, sorted
    series_count: int

    @property
    def missing(self) -> tuple[str, ...]:
        """Needed names the backend does not hold."""
        return tuple(n for n in NEEDED if n not in self.present)

    @property
    def usable(self) -> bool:
        """Power and both token rates are recorded: energy and tokens can be read back."""
        return not self.missing

    def message(self) -> str:
        """The log line: what was found and what wattlens does with it."""
        if self.usable:
            return (f"{self.backend} holds the wattlens recorded series ({len(self.present)} "
                    f"names, {self.series_count} series): per-deployment power, energy and "
                    "tokens can be read from them instead of the raw series")  # fmt: skip
        if not self.present:
            return (f"{self.backend} holds no wattlens recorded series: reading the raw series "
                    "(load `wattlens rules` into the backend to let it do the work)")  # fmt: skip
        return (f"{self.backend} holds some wattlens recorded series but not "
                f"{', '.join(PREFIX + n for n in self.missing)}: reading the raw series "
                "(regenerate and reload `wattlens rules`)")  # fmt: skip


def detect_recorded(
    client: RangeClient, at_s: float | None = None, lookback: str = LOOKBACK
) -> RecordedDetection:
    """Ask the backend which recorded series it holds (any sample in the `lookback` before
    `at_s`, default now; one instant query), and log it."""
    sel = f'{{__name__=~"{PREFIX}.+"}}'
    rows = client.instant(f"count by (__name__) (last_over_time({sel}[{lookback}]))", at_s)
    counts = {r[0].get("__name__", "").removeprefix(PREFIX): int(r[2]) for r in rows}
    found = RecordedDetection(client.base_url, tuple(sorted(counts)), sum(counts.values()))
    log.info("recorded series: %s", found.message())
    return found


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
            dep = key.label("deployment") or f"{key.label('namespace')}/{key.label('workload')}"
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
