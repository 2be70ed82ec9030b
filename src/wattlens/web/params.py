"""Validation of everything a request carries: names, metrics, ranges and steps.

Path parameters are Kubernetes names, checked against a strict pattern before they touch
anything; metric names come from whitelists; ranges and steps are durations with bounds. Each
failure is an `InputError` (400) whose message names the parameter, the value and the fix.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from wattlens.core.durations import format_duration, parse_duration
from wattlens.core.errors import InputError
from wattlens.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR
from wattlens.store.series import METRICS

# DNS-1123 subdomain: what Kubernetes accepts for namespace, workload and container names.
K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
K8S_NAME_MAX = 253
MAX_RANGE_S = 90 * SECONDS_PER_DAY  # the 5-minute tier's default retention
MAX_POINTS = 11_000  # Prometheus's own limit per range query; keeps answers bounded
LEGACY_RANGES = ("24h", "7d", "30d")
# catalog names in the planning API: ids, aliases, HF repos ("Qwen/Qwen3-235B-A22B")
CATALOG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:+-]*")
CATALOG_NAME_MAX = 128
MAX_CONTEXT_TOKENS = 2 * 1024 * 1024  # 2M tokens: past every catalog model's window
MAX_CONTEXTS = 32

# Metrics of the old per-model endpoint, and the unit of every series metric the store knows.
LEGACY_METRICS = ("power_watts", "co2_grams_per_hour", "co2_mg_per_token")
METRIC_UNITS: dict[str, str] = {
    "power_watts": "W",
    "energy_joules": "J",
    "prompt_tokens_per_s": "tokens/s",
    "generation_tokens_per_s": "tokens/s",
    "tokens_per_s": "tokens/s",
    "requests_per_s": "requests/s",
    "joules_per_token": "J/token",
    "joules_per_output_token": "J/output token",
    "co2_grams": "g CO2",
    "co2_grams_per_hour": "g CO2/h",
    "co2_mg_per_token": "mg CO2/token",
    "requests_running": "requests",
    "requests_waiting": "requests",
    "kv_cache_usage_ratio": "ratio 0-1",
    "gpu_util_percent": "%",
    "gpu_count": "GPUs",
}
SERIES_METRICS: tuple[str, ...] = tuple(m for m in METRICS if m in METRIC_UNITS)


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A validated look-back window and the step its series are bucketed on."""

    label: str  # as the client wrote it, e.g. "7d"
    seconds: float
    step_s: float

    @property
    def step_label(self) -> str:
        """The step as a duration string ("5m", "1h", "6h")."""
        return format_duration(self.step_s)


def check_name(value: str, what: str) -> str:
    """Return `value` if it is a valid Kubernetes name, else raise InputError naming `what`."""
    if len(value) > K8S_NAME_MAX or not K8S_NAME.fullmatch(value) or ".." in value:
        shown = value if len(value) <= 80 else value[:80] + "..."
        raise InputError(
            f"{what} {shown!r} is not a Kubernetes name; expected lowercase letters, digits, "
            f"'-' and '.', starting and ending with a letter or digit, at most {K8S_NAME_MAX} "
            "characters"
        )
    return value


def legacy_step_s(range_s: float) -> float:
    """The old dashboard's step: 5 m up to 25 h, 1 h up to 8 d, else 6 h."""
    if range_s <= 25 * SECONDS_PER_HOUR:
        return 300.0
    if range_s <= 8 * SECONDS_PER_DAY:
        return SECONDS_PER_HOUR
    return 6 * SECONDS_PER_HOUR


def parse_range(value: str | None, *, default: str = "24h") -> TimeRange:
    """Validate `range`: 24h, 7d, 30d or any duration up to 90d; step from the old rule."""
    text = (default if value is None else value).strip()
    seconds = parse_duration(text, what="range")
    assert seconds is not None  # forever is not allowed here
    if not seconds > 0:
        raise InputError(f"range {text!r} must be longer than zero; use e.g. 24h")
    if seconds > MAX_RANGE_S:
        raise InputError(
            f"range {text!r} is longer than the maximum {format_duration(MAX_RANGE_S)}; "
            "use a shorter range such as 30d"
        )
    return TimeRange(text, seconds, legacy_step_s(seconds))


def parse_step(value: str | None, rng: TimeRange, *, min_step_s: float) -> TimeRange:
    """Apply an optional `step` to a range: at least `min_step_s`, at most MAX_POINTS points."""
    if value is None or value.strip() == "":
        return rng
    step = parse_duration(value.strip(), what="step")
    assert step is not None
    if not (math.isfinite(step) and step >= min_step_s):
        raise InputError(
            f"step {value!r} is finer than the collection step "
            f"{format_duration(min_step_s)}; use {format_duration(min_step_s)} or more"
        )
    if rng.seconds / step > MAX_POINTS:
        raise InputError(
            f"step {value!r} over range {rng.label!r} gives more than {MAX_POINTS} points; "
            f"use a step of at least {format_duration(math.ceil(rng.seconds / MAX_POINTS))}"
        )
    return TimeRange(rng.label, rng.seconds, step)


def _shown(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[:limit] + "..."


def _bound(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def parse_choice(value: str | None, name: str, allowed: tuple[str, ...], default: str) -> str:
    """`value` (default when absent) if it is one of `allowed`, else InputError listing them."""
    text = default if value is None or value.strip() == "" else value.strip().lower()
    if text not in allowed:
        raise InputError(
            f"{name} {_shown(text)!r} is unknown; expected one of {', '.join(allowed)}"
        )
    return text


def parse_number(
    value: str | None, name: str, *, lo: float, hi: float, default: float | None = None,
    integer: bool = False, lo_open: bool = False, hi_open: bool = False,
) -> float | None:  # fmt: skip
    """A finite number in [lo, hi] (open ends where asked); None/default when absent."""
    if value is None or value.strip() == "":
        return default
    text = value.strip()
    try:
        number = float(int(text)) if integer else float(text)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise InputError(f"{name} {_shown(text)!r} is not {kind}; use e.g. {_bound(lo)}") from None
    below = number <= lo if lo_open else number < lo
    above = number >= hi if hi_open else number > hi
    if not math.isfinite(number) or below or above:
        lo_b, hi_b = ("(" if lo_open else "["), (")" if hi_open else "]")
        raise InputError(
            f"{name} {_shown(text)!r} is out of range; "
            f"expected {lo_b}{_bound(lo)}, {_bound(hi)}{hi_b}"
        )
    return number


def parse_list(value: str | None, name: str, *, max_items: int, default: str = "") -> list[str]:
    """Comma-separated values (blank items dropped, duplicates kept once, order kept)."""
    text = default if value is None or value.strip() == "" else value
    items = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not items:
        raise InputError(f"{name} is empty; give at least one value")
    if len(items) > max_items:
        raise InputError(f"{name} has {len(items)} values; at most {max_items} are allowed")
    return items


def check_catalog_name(
    value: str, what: str, listed_at: str = "/api/v2/catalog/gpus and /api/v2/catalog/models"
) -> str:
    """A catalog name (id, alias or Hugging Face repo) of safe characters, else InputError."""
    if len(value) > CATALOG_NAME_MAX or not CATALOG_NAME.fullmatch(value):
        raise InputError(
            f"{what} {_shown(value)!r} is not a catalog name; expected letters, digits and "
            f"'.', '_', '-', '/', ':' or '+', at most {CATALOG_NAME_MAX} characters; list them "
            f"at {listed_at}"
        )
    return value


def parse_contexts(value: str | None, default: tuple[int, ...]) -> list[int]:
    """Context windows in tokens: comma-separated integers in [1, MAX_CONTEXT_TOKENS], sorted."""
    if value is None or value.strip() == "":
        return sorted(set(default))
    items = parse_list(value, "context", max_items=MAX_CONTEXTS)
    out = {
        int(parse_number(t, "context", lo=1, hi=MAX_CONTEXT_TOKENS, integer=True) or 0)
        for t in items
    }
    return sorted(out)


def check_metric(value: str, allowed: tuple[str, ...]) -> str:
    """Return `value` if it is in the whitelist `allowed`, else raise InputError listing them."""
    if value not in allowed:
        shown = value if len(value) <= 60 else value[:60] + "..."
        raise InputError(f"metric {shown!r} is unknown; expected one of {', '.join(allowed)}")
    return value


__all__ = [
    "CATALOG_NAME",
    "K8S_NAME",
    "MAX_CONTEXTS",
    "MAX_CONTEXT_TOKENS",
    "LEGACY_METRICS",
    "LEGACY_RANGES",
    "MAX_POINTS",
    "MAX_RANGE_S",
    "METRIC_UNITS",
    "SERIES_METRICS",
    "TimeRange",
    "check_catalog_name",
    "check_metric",
    "check_name",
    "legacy_step_s",
    "parse_choice",
    "parse_contexts",
    "parse_list",
    "parse_number",
    "parse_range",
    "parse_step",
]
