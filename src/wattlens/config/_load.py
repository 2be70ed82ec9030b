"""The loader: find the file, parse it, apply WATTLENS_* overrides, record sources, cross-check."""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from wattlens.config import _parsers as p
from wattlens.config._schema import (
    ENV_PREFIX,
    SECTIONS,
    Config,
    all_fields,
    env_var,
    format_value,
    toml_key,
)
from wattlens.config._values import MASK
from wattlens.core.errors import ConfigError, WattlensError

CONFIG_ENV = "WATTLENS_CONFIG"
DEFAULT_FILE = "wattlens.toml"


def load_config(
    path: Path | str | None = None, *, environ: Mapping[str, str] | None = None
) -> Config:
    """Load the configuration: variables over the file over defaults.

    Args:
        path: the TOML file; None means `$WATTLENS_CONFIG` if set, else `./wattlens.toml` if it
            exists, else defaults only. A path that is given must exist.
        environ: the environment to read (default `os.environ`).

    Raises:
        ConfigError: the first problem found, with a count of the rest.
    """
    config, errors = _load(path, os.environ if environ is None else environ)
    if errors:
        more = len(errors) - 1
        rest = f" (and {more} more; `wattlens config check` lists all)" if more else ""
        raise ConfigError(errors[0] + rest)
    return config


def config_error_lines(
    path: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Every problem in the configuration, one line each; [] when it loads."""
    return _load(path, os.environ if environ is None else environ)[1]


def _load(path: Path | str | None, environ: Mapping[str, str]) -> tuple[Config, list[str]]:
    try:
        file = _find_file(path, environ)
        raw = _read(file) if file else {}
    except ConfigError as e:
        return Config(), [e.message]
    loader = _Loader()
    if file:
        loader.read_file(file, raw)
    loader.read_environ(environ)
    values = {s: cls(**loader.values[s]) for s, cls in SECTIONS.items()}
    config = Config(**values, path=file, sources=dict(loader.sources))
    errors = loader.errors + _cross_checks(config, loader.failed) + _catalog_checks(config)
    return config, errors


def _find_file(path: Path | str | None, environ: Mapping[str, str]) -> Path | None:
    if path is not None:
        if not Path(path).is_file():
            raise ConfigError(f"config file {str(path)!r} does not exist; fix the path or omit it")
        return Path(path)
    named = environ.get(CONFIG_ENV, "")
    if named:
        if not Path(named).is_file():
            raise ConfigError(f"{CONFIG_ENV}={named!r} names no file; fix it or unset it")
        return Path(named)
    return Path(DEFAULT_FILE) if Path(DEFAULT_FILE).is_file() else None


def _read(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{file} is not valid TOML ({e}); fix the syntax there") from e
    except OSError as e:
        raise ConfigError(f"{file} cannot be read ({e.strerror}); check the path") from e


class _Loader:
    """Accumulates parsed values, their sources, and every error (not just the first)."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {s: {} for s in SECTIONS}
        self.sources: dict[str, str] = {}
        self.errors: list[str] = []
        self.failed: set[str] = set()
        self.by_key = {
            s: {toml_key(f): f for f in dataclasses.fields(c)} for s, c in SECTIONS.items()
        }

    def read_file(self, file: Path, raw: dict[str, Any]) -> None:
        sections = list(SECTIONS)
        for section, table in raw.items():
            if section in SECTIONS and isinstance(table, dict):
                for key, value in self._gather(section, table, file).items():
                    self._one(section, key, value, f"{file}: {section}.{key}", str(file), False)
            elif section in SECTIONS:
                self.errors.append(f"{file}: {section} must be a [{section}] table; add the header")
            elif isinstance(table, dict):
                hint = p.suggest(section, sections)
                self.errors.append(
                    f"{file}: unknown section [{section}]{hint}; use {', '.join(sections)}"
                )
            else:
                owner = self._owner(section)
                where = (
                    f"put it under [{owner}]" if owner else f"use a section: {', '.join(sections)}"
                )
                self.errors.append(f"{file}: {section} is outside any section; {where}")

    def _gather(self, section: str, table: dict[str, Any], file: Path) -> dict[str, Any]:
        """The section's settings, with its named tables ([models.NAME]) under the key that
        gathers them; [models.custom.NAME] spells a model named like a setting."""
        gatherer = next(
            (f for f in dataclasses.fields(SECTIONS[section]) if f.metadata.get("gathers_tables")),
            None,
        )
        if gatherer is None:
            return table
        key = toml_key(gatherer)
        settings = {k: v for k, v in table.items() if k in self.by_key[section] and k != key}
        named = {k: v for k, v in table.items() if k not in self.by_key[section]}
        explicit = table.get(key, {})
        for k, v in settings.items():
            if isinstance(v, dict):
                self.errors.append(
                    f"{file}: [{section}.{k}] is the setting {section}.{k}, not a model; write a "
                    f"model named {k!r} as [{section}.{key}.{k}]"
                )
                self.failed.add(f"{section}.{k}")
        if isinstance(explicit, dict) and not all(isinstance(v, dict) for v in explicit.values()):
            self.errors.append(
                f"{file}: [{section}.{key}] holds models as [{section}.{key}.NAME] tables; write "
                f"a model named {key!r} as [{section}.{key}.{key}]"
            )
            self.failed.add(f"{section}.{key}")
            explicit = {}
        out = {k: v for k, v in settings.items() if not isinstance(v, dict)}
        for k, v in named.items():
            if not isinstance(v, dict):
                out[k] = v  # an unknown plain key: _one says so
            elif isinstance(explicit, dict) and k in explicit:
                self.errors.append(
                    f"{file}: model {k!r} is written twice, as [{section}.{k}] and "
                    f"[{section}.{key}.{k}]; keep one"
                )
        if key in table or any(isinstance(v, dict) for v in named.values()):
            tables = {k: v for k, v in named.items() if isinstance(v, dict)}
            out[key] = {**tables, **explicit} if isinstance(explicit, dict) else explicit
        return out

    def read_environ(self, environ: Mapping[str, str]) -> None:
        for name in sorted(environ):
            rest = name.removeprefix(ENV_PREFIX)
            section = next((s for s in SECTIONS if rest.startswith(s.upper() + "_")), None)
            if name == rest or section is None:
                continue  # not ours: only WATTLENS_<SECTION>_* names are settings
            key = rest[len(section) + 1 :].lower()
            self._one(section, key, environ[name], name, name, True)

    def _one(self, section: str, key: str, value: Any, where: str, source: str, env: bool) -> None:
        f = self.by_key[section].get(key)
        if f is None:
            self.errors.append(self._unknown(section, key, where, env))
            return
        full = f"{section}.{key}"
        try:
            parsed = f.metadata["parse"](value, env)
        except p.Invalid as e:
            shown = value if e.item is None else e.item
            text = f"={_repr(shown, f.metadata.get('secret', False))}" if e.shown else ""
            self.errors.append(f"{where}{e.at}{text} {e.text}")
            self.failed.add(full)
            return
        self.values[section][f.name] = parsed
        self.sources[full] = source

    def _unknown(self, section: str, key: str, where: str, env: bool) -> str:
        keys = list(self.by_key[section])
        hint = p.suggest(key, keys)
        owner = self._owner(key)
        if not hint and owner:
            hint = f" ({key!r} belongs in [{owner}])"
        if env:
            names = [env_var(f"{section}.{k}") for k in keys]
            hint = p.suggest(where, names)
            return f"{where} is not a setting{hint}; [{section}] has {', '.join(keys)}"
        return (
            f"{where.rsplit('.', 1)[0]} has no key {key!r}{hint}; [{section}] has {', '.join(keys)}"
        )

    def _owner(self, key: str) -> str | None:
        return next((s for s, keys in self.by_key.items() if key in keys), None)


def _repr(value: Any, secret: bool) -> str:
    if secret:
        return repr(MASK)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _from(config: Config, key: str) -> str:
    source = config.source_of(key)
    return "(default)" if source == "default" else f"(from {source})"


def _ref(config: Config, key: str) -> str:
    f = next(f for k, f in all_fields() if k == key)
    value = format_value(getattr(getattr(config, key.split(".")[0]), f.name), f)
    return f"{key}={value!r} {_from(config, key)}"


def _cross_checks(c: Config, failed: set[str]) -> list[str]:
    """Rules between keys; a key whose own value was refused is left out of them."""
    errors: list[str] = []

    def check(ok: bool, keys: Iterable[str], message: str) -> None:
        if not ok and not failed.intersection(keys):
            errors.append(message)

    steps = ("collect.live_window", "collect.step")
    check(
        c.collect.live_window_s >= c.collect.step_s,
        steps,
        f"{_ref(c, steps[0])} is shorter than {_ref(c, steps[1])}; a live rate needs at least "
        "one step, so raise live_window (5m is usual) or lower step",
    )
    tiers = ("store.raw_retention", "store.five_min_retention", "store.hourly_retention")
    kept = [c.store.raw_retention_s, c.store.five_min_retention_s, c.store.hourly_retention_s]
    kept_s = [math.inf if k is None else k for k in kept]
    for i in range(2):
        check(
            kept_s[i] <= kept_s[i + 1],
            tiers[i : i + 2],
            f"{_ref(c, tiers[i + 1])} is shorter than {_ref(c, tiers[i])}; a coarser tier must "
            "keep rows at least as long as the finer one, so raise it or lower the other",
        )
    tokens = ("backend.bearer_token", "backend.bearer_token_file")
    check(
        not (c.backend.bearer_token and c.backend.bearer_token_file),
        tokens,
        f"{_ref(c, tokens[0])} and {_ref(c, tokens[1])} are both set; keep only one of them",
    )
    tls = ("backend.tls_client_key", "backend.tls_client_cert")
    check(
        not (c.backend.tls_client_key and not c.backend.tls_client_cert),
        tls,
        f"{_ref(c, tls[0])} is set without backend.tls_client_cert; set the certificate too",
    )
    return errors


def _catalog_checks(c: Config) -> list[str]:
    """Region codes must exist in the chosen grid table; skipped while the catalog has no grid."""
    grid = p.grid_module()
    if grid is None or c.carbon.grid_vintage not in p.known_vintages():
        return []
    vintage = c.carbon.grid_vintage
    codes = _region_codes(grid.regions(vintage))
    wanted = [(_ref(c, "carbon.default_region"), c.carbon.default_region)]
    wanted += [
        (f"carbon.rules[{i}].region={r.region!r} {_from(c, 'carbon.rules')}", r.region)
        for i, r in enumerate(c.carbon.rules)
    ]
    errors = []
    for ref, code in wanted:
        try:
            grid.get_region(code, vintage)
        except WattlensError:
            errors.append(
                f"{ref} is not a region of grid_vintage {vintage!r}{p.suggest(code, codes)}; "
                f"use one of {', '.join(codes)}"
            )
    return errors


def _region_codes(found: Any) -> list[str]:
    items = found.keys() if isinstance(found, Mapping) else found
    return sorted(i if isinstance(i, str) else str(getattr(i, "code", i)) for i in items)


__all__ = ["CONFIG_ENV", "DEFAULT_FILE", "config_error_lines", "load_config"]
