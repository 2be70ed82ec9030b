"""Value parsers: (TOML value or environment string, from_env) -> typed value, or `Invalid`.

The general parsers (numbers, strings, choices, durations) live in `wattlens.core.validate`, shared
with the emulator's scenario loader and the catalog; this module adds the config-only ones. A
parser raises `Invalid` with the accepted form; the loader adds the key, the value and where it
came from. Environment values are strings: lists are comma-separated, booleans are
true/false/1/0/yes/no/on/off, and lists of tables are written as a TOML array.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

from wattlens.config._values import RegionRule, ScrapeTarget, Secret
from wattlens.core.validate import (
    Invalid,
    Parser,
    bad,
    boolean,
    choice,
    duration,
    integer,
    number,
    optional,
    string,
    suggest,
)

FALLBACK_VINTAGES = ("egrid2024", "egrid2023", "nrp2022")
_TRUE = ("true", "1", "yes", "on")  # as wattlens.core.validate.boolean reads a variable
_FALSE = ("false", "0", "no", "off")
K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # RFC 1123 label: k8s namespace
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")  # Prometheus data model label name
REGION_CODE = re.compile(r"[A-Za-z0-9_.-]+")  # eGRID "CAMX", country "KR", "US"


def grid_module() -> ModuleType | None:
    """`wattlens.catalog.grid` if it can be imported; config checks skip the catalog otherwise."""
    try:
        from wattlens.catalog import grid
    except ImportError:
        return None
    return grid


def known_vintages() -> tuple[str, ...]:
    """Grid vintages the catalog offers (or the built-in list while it has none)."""
    grid = grid_module()
    listed = getattr(grid, "vintages", None) or getattr(grid, "VINTAGES", None)
    found = listed() if callable(listed) else listed
    return tuple(found) if found else FALLBACK_VINTAGES


def url(value: Any, env: bool) -> str:
    """ "" or an http(s) URL."""
    text = string()(value, env)
    if text and not re.fullmatch(r"https?://[^/\s]+(/\S*)?", text):
        raise bad("an http(s) URL", 'use e.g. "http://prometheus.monitoring:9090"')
    return text


def url_or_file(value: Any, env: bool) -> str:
    """ "" , an http(s) URL, or an existing file."""
    text = string()(value, env)
    if text and not re.match(r"https?://", text) and not Path(text).expanduser().is_file():
        raise bad("an http(s) URL or an existing file", "fix the URL or the path")
    return url(text, env) if re.match(r"https?://", text) else text


def existing_file(value: Any, env: bool) -> Path | None:
    """ "" (None) or the path of a file that exists now."""
    text = string()(value, env)
    if text and not Path(text).expanduser().is_file():
        raise bad("an existing file", "fix the path (relative paths start at the working dir)")
    return Path(text).expanduser() if text else None


def tls_verify(value: Any, env: bool) -> bool | Path:
    """A boolean, or the path of a CA bundle."""
    word = value.strip().lower() if isinstance(value, str) else None
    if isinstance(value, bool) or (env and (word in _TRUE or word in _FALSE)):
        return boolean(value, env)
    if isinstance(value, str) and value and Path(value).expanduser().is_file():
        return Path(value).expanduser()
    raise bad("a boolean or an existing CA-bundle file", "use true, false or a PEM file path")


def secret(value: Any, env: bool) -> Secret:
    """A string kept in a `Secret`."""
    return Secret(string()(value, env))


def store_path(value: Any, env: bool) -> Path:
    """A non-empty file path."""
    text = string()(value, env)
    if not text.strip():
        raise bad("a file path", 'use e.g. "wattlens.duckdb"')
    return Path(text).expanduser()


def name_list(check: re.Pattern[str], what: str, rule: str, example: str) -> Parser:
    """A list of names matching `check` (`rule` says how); comma-separated in a variable."""

    def parse(value: Any, env: bool) -> tuple[str, ...]:
        if env and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise bad(f"a list of {what}s", f"use e.g. {example} (in a variable: comma-separated)")
        for i, name in enumerate(value):
            if not isinstance(name, str) or not check.fullmatch(name):
                raise Invalid(bad(f"a {what}", rule).text, at=f"[{i}]", item=name)
        return tuple(value)

    return parse


def _tables(value: Any, env: bool, keys: tuple[str, ...], example: str) -> list[dict[str, Any]]:
    err = bad("a list of tables", f"use e.g. {example}")
    if env and isinstance(value, str):
        try:
            value = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            raise err from None
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise err
    for i, table in enumerate(value):
        for key in table:
            if key not in keys:
                text = f"has unknown key {key!r}; use {', '.join(keys)}{suggest(key, keys)}"
                raise Invalid(text, at=f"[{i}]", shown=False)
    return value


def _item(table: dict[str, Any], i: int, key: str, parse: Parser, default: Any = None) -> Any:
    if key not in table:
        if default is not None:
            return default
        raise Invalid(f"has no {key!r}; every entry needs one", at=f"[{i}]", shown=False)
    try:
        value = parse(table[key], False)
    except Invalid as e:
        raise Invalid(e.text, at=f"[{i}].{key}", item=table[key]) from None
    if value == "":
        raise Invalid("is empty; give a value", at=f"[{i}].{key}", item="")
    return value


def labels(value: Any, env: bool) -> dict[str, str]:
    """A table of Prometheus label names to string values."""
    ok = isinstance(value, dict) and all(
        isinstance(k, str) and LABEL_NAME.fullmatch(k) and isinstance(v, str)
        for k, v in value.items()
    )
    if not ok:
        raise bad("a table of label names to strings", 'use e.g. {namespace = "ml", pod = "p"}')
    return dict(value)


def targets(value: Any, env: bool) -> tuple[ScrapeTarget, ...]:
    """Scrape targets; a variable may also list bare URLs, comma-separated."""
    if env and isinstance(value, str) and not value.lstrip().startswith("["):
        value, env = [{"url": u.strip()} for u in value.split(",") if u.strip()], False
    example = '[{url = "http://10.0.0.5:9400/metrics", labels = {namespace = "ml"}}]'
    return tuple(
        ScrapeTarget(_item(t, i, "url", url), _item(t, i, "labels", labels, default={}))
        for i, t in enumerate(_tables(value, env, ("url", "labels"), example))
    )


def regex(value: Any, env: bool) -> str:
    """A string that compiles as a Python regular expression."""
    text = string()(value, env)
    try:
        re.compile(text, re.IGNORECASE)  # as wattlens.catalog.grid.GridRule compiles it
    except re.error as e:
        raise bad(f"a valid regular expression ({e})", "fix the pattern") from None
    return text


def rules(value: Any, env: bool) -> tuple[RegionRule, ...]:
    """Grid-region rules; regex patterns are compiled here so mistakes surface at load."""
    keys = ("pattern", "region", "field", "match")
    out = []
    for i, t in enumerate(_tables(value, env, keys, '[{pattern = ".sdsc.", region = "CAMX"}]')):
        match = _item(t, i, "match", choice("substring", "regex", "exact"), default="substring")
        pattern = _item(t, i, "pattern", regex if match == "regex" else string())
        on = _item(t, i, "field", choice("host", "namespace"), default="host")
        region = _item(t, i, "region", string(REGION_CODE, "a grid region code", 'use "CAMX"'))
        out.append(RegionRule(pattern, region, on, match))
    return tuple(out)


def vintage(value: Any, env: bool) -> str:
    """A grid vintage the catalog offers."""
    return choice(*known_vintages())(value, env)


__all__ = [
    "FALLBACK_VINTAGES",
    "K8S_NAME",
    "LABEL_NAME",
    "REGION_CODE",
    "Invalid",
    "Parser",
    "bad",
    "boolean",
    "choice",
    "duration",
    "existing_file",
    "grid_module",
    "integer",
    "known_vintages",
    "labels",
    "name_list",
    "number",
    "optional",
    "regex",
    "rules",
    "secret",
    "store_path",
    "string",
    "suggest",
    "targets",
    "tls_verify",
    "url",
    "url_or_file",
    "vintage",
]
