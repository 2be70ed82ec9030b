"""One validation style for every file wattlens reads: config, emulator scenarios, the catalog.

A parser takes (value, from_env) and returns the typed value or raises `Invalid` with the accepted
form ("is not a number from 0 up; use e.g. 1.5"). The caller names the key path and the value:
`check(parser, value, "scenario x.toml: deployment[0].gpu_count")` raises an error reading
"scenario x.toml: deployment[0].gpu_count=0 is not a whole number from 1 up; use e.g. 8".
Environment values are strings; TOML values keep their types (booleans are not numbers).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

from wattlens.core.durations import duration_form, parse_duration
from wattlens.core.errors import InputError, WattlensError

Parser = Callable[[Any, bool], Any]

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")
NON_EMPTY = re.compile(r".+", re.DOTALL)


class Invalid(Exception):
    """A parser's complaint: `text` follows "key=value"; `at` narrows to an item inside."""

    def __init__(self, text: str, *, at: str = "", item: Any = None, shown: bool = True):
        super().__init__(text)
        self.text, self.at, self.item, self.shown = text, at, item, shown


def bad(what: str, fix: str) -> Invalid:
    """The usual complaint: "is not <what>; <fix>"."""
    return Invalid(f"is not {what}; {fix}")


def suggest(word: str, options: Iterable[str]) -> str:
    """ " (did you mean 'x'?)" for the closest option, or ""."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def shown(value: Any, limit: int = 80) -> str:
    """`repr(value)`, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def message(where: str, value: Any, e: Invalid) -> str:
    """The whole complaint: "<where><at>=<value> <text>" (the value left out when not shown)."""
    if not e.shown:
        return f"{where}{e.at} {e.text}"
    return f"{where}{e.at}={shown(value if e.item is None else e.item)} {e.text}"


def check(
    parse: Parser,
    value: Any,
    where: str,
    *,
    env: bool = False,
    error: type[WattlensError] = InputError,
) -> Any:
    """`parse(value, env)`, or `error` naming `where`, the value and the accepted form."""
    try:
        return parse(value, env)
    except Invalid as e:
        raise error(message(where, value, e)) from None


def unknown_key(where: str, key: str, known: Iterable[str]) -> str:
    """ "<where> has no key 'k' (did you mean ...?); use a, b, c"."""
    names = sorted(known)
    return f"{where} has no key {key!r}{suggest(key, names)}; use {', '.join(names)}"


def missing_keys(where: str, missing: Iterable[str]) -> str:
    """ "<where> has no 'a', 'b'; add them"."""
    names = list(missing)
    them = "it" if len(names) == 1 else "them"
    return f"{where} has no {', '.join(map(repr, names))}; add {them}"


def _from_env(value: Any, env: bool, convert: Callable[[str], Any], err: Invalid) -> Any:
    if env and isinstance(value, str):
        try:
            return convert(value.strip())
        except ValueError:
            raise err from None
    return value


def boolean(value: Any, env: bool) -> bool:
    """true/false in TOML; true/false/1/0/yes/no/on/off in a variable."""
    word = value.strip().lower() if env and isinstance(value, str) else None
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    if isinstance(value, bool) and not env:
        return value
    raise bad("a boolean", "use true or false")


def integer(lo: int, hi: int | None, example: str) -> Parser:
    """A whole number in [lo, hi] (hi None: no upper bound; TOML booleans are not numbers)."""
    upto = f"to {hi}" if hi is not None else "up"

    def parse(value: Any, env: bool) -> int:
        err = bad(f"a whole number from {lo} {upto}", f"use e.g. {example}")
        value = _from_env(value, env, int, err)
        if isinstance(value, bool) or not isinstance(value, int):
            raise err
        if value < lo or (hi is not None and value > hi):
            raise err
        return value

    return parse


def _number_range(lo: float, hi: float, above: bool) -> str:
    if above:
        return f"above {lo:g}" + (f" and at most {hi:g}" if hi < math.inf else "")
    if lo == -math.inf:
        return f"up to {hi:g}" if hi < math.inf else ""
    return f"from {lo:g}" + (f" to {hi:g}" if hi < math.inf else " up")


def number(
    lo: float, example: str, *, hi: float = math.inf, hint: str = "", above: bool = False
) -> Parser:
    """A finite number in [lo, hi] ((lo, hi] when `above`; TOML booleans are not numbers)."""
    what = f"a number {_number_range(lo, hi, above)}".rstrip()

    def parse(value: Any, env: bool) -> float:
        err = bad(what, f"use e.g. {example}{hint}")
        value = _from_env(value, env, float, err)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise err
        if not math.isfinite(value) or not lo <= value <= hi or (above and value <= lo):
            raise err
        return float(value)

    return parse


def finite(
    value: float,
    field: str,
    *,
    lo: float = -math.inf,
    hi: float = math.inf,
    above: bool = False,
    example: str = "",
) -> float:
    """A library argument that must be a finite number in [lo, hi] ((lo, hi] when `above`);
    InputError naming the field, the value and the accepted range otherwise."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and math.isfinite(value) and lo <= value <= hi and not (above and value <= lo):
        return float(value)
    wanted = f"a finite number {_number_range(lo, hi, above)}".rstrip()
    tail = f", e.g. {example}" if example else ""
    raise InputError(f"{field} {value!r}: expected {wanted}{tail}", field=field)


def optional(inner: Parser) -> Parser:
    """`inner`, or None for an empty variable (a TOML file leaves the key out instead)."""

    def parse(value: Any, env: bool) -> Any:
        return None if env and isinstance(value, str) and not value.strip() else inner(value, env)

    return parse


def duration(*, allow_forever: bool = False, tiles: float | None = None) -> Parser:
    """A positive duration in seconds; `tiles`: the duration must divide it exactly."""

    def parse(value: Any, env: bool) -> float | None:
        form = duration_form(allow_forever)
        try:
            seconds = parse_duration(value, allow_forever=allow_forever)
        except InputError:
            raise bad("a duration", form) from None
        if seconds is not None and seconds <= 0:
            raise bad("a positive duration", form)
        if seconds is not None and tiles is not None:
            count = tiles / seconds
            if abs(count - round(count)) > 1e-9:
                what = f"a step that divides {tiles:g}s (5-minute rollups must align)"
                raise bad(what, "use 5s, 10s, 15s, 20s, 30s, 60s, 150s or 300s")
        return seconds

    return parse


def string(
    check: re.Pattern[str] | None = None, what: str = "", fix: str = "", required: bool = False
) -> Parser:
    """A TOML string; a non-empty one must match `check`; `required`: "" is refused too."""

    def parse(value: Any, env: bool) -> str:
        if not isinstance(value, str):
            raise bad("a string", fix or 'quote it, e.g. "value"')
        if check is not None and (value or required) and not check.fullmatch(value):
            raise bad(what, fix)
        return value

    return parse


def text(example: str) -> Parser:
    """A non-empty string."""
    return string(NON_EMPTY, "a non-empty string", f"use e.g. {example!r}", required=True)


def choice(*options: str) -> Parser:
    """One of `options`, spelled exactly."""

    def parse(value: Any, env: bool) -> str:
        if isinstance(value, str) and value in options:
            return value
        hint = suggest(value, options) if isinstance(value, str) else ""
        raise bad(f"one of {', '.join(map(repr, options))}", f"use one of those{hint}")

    return parse


def list_of(item: Parser, what: str, example: str) -> Parser:
    """A TOML list whose every element passes `item` (errors name the element: "[2]")."""

    def parse(value: Any, env: bool) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise bad(f"a list of {what}", f"use e.g. {example}")
        out = []
        for i, element in enumerate(value):
            try:
                out.append(item(element, env))
            except Invalid as e:
                shown_item = element if e.item is None else e.item
                raise Invalid(e.text, at=f"[{i}]{e.at}", item=shown_item, shown=e.shown) from None
        return tuple(out)

    return parse


__all__ = [
    "NON_EMPTY",
    "Invalid",
    "Parser",
    "bad",
    "boolean",
    "check",
    "choice",
    "duration",
    "integer",
    "list_of",
    "message",
    "missing_keys",
    "number",
    "optional",
    "shown",
    "string",
    "suggest",
    "text",
    "unknown_key",
]
