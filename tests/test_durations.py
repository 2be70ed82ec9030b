"""Duration spellings <-> seconds; expected seconds are worked out by hand in each row."""

from __future__ import annotations

import math

import pytest

from wattlens.core.durations import format_duration, parse_duration
from wattlens.core.errors import InputError

GOOD = [
    ("30s", 30.0),
    ("5m", 300.0),
    ("2h", 7200.0),
    ("7d", 7 * 86400.0),
    ("1w", 7 * 86400.0),
    ("1y", 365 * 86400.0),  # Prometheus: a year is 365 days
    ("1h30m", 5400.0),
    ("1.5h", 5400.0),
    ("250ms", 0.25),
    ("30", 30.0),
    (" 45s ", 45.0),
    (30, 30.0),
    (2.5, 2.5),
    (0, 0.0),
]


@pytest.mark.parametrize(("text", "seconds"), GOOD)
def test_parse(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["forever", "FOREVER", ""])
def test_forever_only_where_allowed(text: str) -> None:
    assert parse_duration(text, allow_forever=True) is None
    with pytest.raises(InputError, match="is not a duration"):
        parse_duration(text)


BAD = ["5x", "5M", "m5", "-5s", "5 m", "5m1h", "1h1h", "1.s", "abc", -1, math.inf, math.nan, True]


@pytest.mark.parametrize("text", BAD)
def test_bad(text: object) -> None:
    with pytest.raises(InputError) as e:
        parse_duration(text)  # type: ignore[arg-type]
    assert repr(text) in str(e.value)
    assert "30s, 5m" in str(e.value)  # the message shows the accepted spellings


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (30.0, "30s"),
        (300.0, "5m"),
        (7200.0, "2h"),
        (604800.0, "7d"),
        (90 * 86400.0, "90d"),
        (5400.0, "90m"),
        (0.25, "0.25s"),
        (0.0, "0s"),
        (None, "forever"),
    ],
)
def test_format(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [1.0, 59.0, 61.0, 3600.0, 86400.0 * 3 + 1, 0.5])
def test_format_round_trips(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize(
    ("text", "epoch"),
    [
        ("2026-11-20T00:00Z", 1795132800.0),
        ("2026-11-20T00:00:00+00:00", 1795132800.0),
        ("2026-11-20T00:00", 1795132800.0),  # no zone: UTC
        ("1795132800", 1795132800.0),
        ("7d", 1_000_000.0 - 7 * 86400),
    ],
)
def test_parse_time_accepts_iso_epoch_and_durations_ago(text: str, epoch: float) -> None:
    from wattlens.core.durations import parse_time

    assert parse_time(text, now_s=1_000_000.0, what="--since") == epoch


def test_parse_time_and_duration_errors_name_the_input() -> None:
    from wattlens.core.durations import parse_time

    with pytest.raises(InputError, match=r"^--since 'soon' is not a time; use ISO 8601"):
        parse_time("soon", now_s=0.0, what="--since")
    with pytest.raises(InputError, match=r"^range '7 days' is not a duration; use seconds"):
        parse_duration("7 days", what="range")
