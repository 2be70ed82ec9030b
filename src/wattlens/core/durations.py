"""Durations and times as people write them: the one parser of each for all of wattlens.

Durations ("30s", "5m", "1h30m", "7d", "forever") <-> float seconds. The syntax is Prometheus's
(units ms, s, m, h, d, w, y; parts may be combined, largest first), plus plain numbers meaning
seconds and "forever" (or "") meaning no limit where the caller allows it.

Times: ISO 8601 ("2026-11-20T00:00Z"), epoch seconds, or a duration meaning that long ago ("7d").
Every error is an `InputError` naming the input, the accepted spellings and an example.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from wattlens.core.errors import InputError
from wattlens.core.units import SECONDS_PER_DAY, SECONDS_PER_HOUR

FOREVER = "forever"

# Prometheus duration units (prometheus/common model.ParseDuration): y is 365 d, w is 7 d.
_UNIT_SECONDS: dict[str, float] = {
    "y": 365 * SECONDS_PER_DAY,
    "w": 7 * SECONDS_PER_DAY,
    "d": SECONDS_PER_DAY,
    "h": SECONDS_PER_HOUR,
    "m": SECONDS_PER_HOUR / 60,
    "s": 1.0,
    "ms": 0.001,
}
_NUMBER = r"\d+(?:\.\d+)?"
_PART = re.compile(rf"({_NUMBER})(ms|y|w|d|h|m|s)")
_WHOLE = re.compile(rf"(?:{_NUMBER}(?:ms|y|w|d|h|m|s))+")
_PLAIN = re.compile(rf"{_NUMBER}")


def duration_form(allow_forever: bool = False) -> str:
    """The accepted spellings, for error messages."""
    form = "use seconds (30) or a number with a unit s, m, h, d, w (30s, 5m, 2h, 7d, 1w, 1h30m)"
    return form + (' or "forever"' if allow_forever else "")


def time_form() -> str:
    """The accepted spellings of a time, for error messages."""
    return "use ISO 8601 (2026-11-20T00:00Z), epoch seconds, or a duration ago (7d)"


def parse_duration(
    value: str | float, *, allow_forever: bool = False, what: str = ""
) -> float | None:
    """Seconds in a duration: 30, "30s", "5m", "1h30m", "7d", "1w".

    Args:
        value: a non-negative number of seconds or a duration string.
        allow_forever: accept "forever" or "" and return None for them.
        what: the input's name for the error message ("range", "--since").

    Returns:
        Float seconds, or None for "forever" when allowed.

    Raises:
        InputError: the value is not a duration (the message says which spellings work).
    """
    named = f"{what} " if what else ""
    bad = InputError(
        f"{named}{value!r} is not a duration; {duration_form(allow_forever)}", field=what or None
    )
    if isinstance(value, bool):
        raise bad
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < 0:
            raise bad
        return float(value)
    if not isinstance(value, str):
        raise bad
    text = value.strip()
    if text.lower() in (FOREVER, ""):
        if allow_forever:
            return None
        raise bad
    if _PLAIN.fullmatch(text):
        return float(text)
    if not _WHOLE.fullmatch(text):
        raise bad
    parts = _PART.findall(text)
    units = [u for _, u in parts]
    order = list(_UNIT_SECONDS)
    # Prometheus rejects "5m1h" and "1h1h": each unit once, largest first.
    if [order.index(u) for u in units] != sorted({order.index(u) for u in units}):
        raise bad
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def parse_iso_time(text: str, *, naive_utc: bool = True) -> float | None:
    """Epoch seconds of an ISO 8601 time ("Z" allowed), or None when `text` is not one.

    A time without a zone is UTC when `naive_utc`, else not accepted (None).
    """
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        if not naive_utc:
            return None
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def parse_time(value: str | float, *, now_s: float, what: str = "time") -> float:
    """Epoch seconds of a time: ISO 8601, epoch seconds, or a duration meaning that long ago.

    Args:
        value: "2026-11-20T00:00Z", "1763596800", or "7d" (7 days before `now_s`).
        now_s: the present, for durations ago.
        what: the input's name for the error message ("--since").

    Raises:
        InputError: the value is none of those (the message says which spellings work).
    """
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    text = value.strip() if isinstance(value, str) else ""
    try:
        epoch = float(text)
    except ValueError:
        pass
    else:
        if math.isfinite(epoch):
            return epoch
    at = parse_iso_time(text)
    if at is not None:
        return at
    try:
        ago = parse_duration(text)
    except InputError:
        raise InputError(
            f"{what} {value!r} is not a time; {time_form()}", field=what or None
        ) from None
    return now_s - float(ago or 0.0)


def format_duration(seconds: float | None) -> str:
    """Shortest exact spelling of a duration: 300 -> "5m", 604800 -> "7d", None -> "forever"."""
    if seconds is None:
        return FOREVER
    for unit in ("d", "h", "m", "s"):  # "7d" reads better than "1w"
        size = _UNIT_SECONDS[unit]
        count = seconds / size
        if seconds > 0 and count >= 1 and count == int(count):
            return f"{int(count)}{unit}"
    return f"{seconds:g}s"


def iso(ts_s: float | None) -> str | None:
    """UTC epoch seconds -> ISO 8601 (Z)."""
    if ts_s is None:
        return None
    return datetime.fromtimestamp(ts_s, tz=UTC).isoformat().replace("+00:00", "Z")


__all__ = [
    "FOREVER",
    "duration_form",
    "format_duration",
    "iso",
    "parse_duration",
    "parse_iso_time",
    "parse_time",
    "time_form",
]
