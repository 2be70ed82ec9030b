"""[grid] (live grid intensity provider) and [exporter] (metric names on /metrics) sections.

Credentials are never written in the file: `[grid]` names the environment variables that hold
them (`token_env`, `username_env`, `password_env`), and `GridConfig.credentials` reads them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from wattlens.config import _parsers as p
from wattlens.core.errors import ConfigError

GridProviderName = Literal["static", "electricitymaps", "watttime"]
ExporterNames = Literal["wattlens", "otel", "both"]
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ZONE = re.compile(r"[A-Za-z0-9_.-]+")  # Electricity Maps "US-CAL-CISO", WattTime "CAISO_NORTH"


def _key(default: Any, parse: p.Parser, help: str, **extra: Any) -> Any:
    return field(default=default, metadata={"parse": parse, "help": help, **extra})


def _zones(value: Any, env: bool) -> tuple[tuple[str, str], ...]:
    """A table of grid region codes (as the [carbon] rules resolve them) to provider zones."""
    if env and isinstance(value, str):
        value = dict(pair.split("=", 1) for pair in value.split(",") if "=" in pair)
        value = {k.strip(): v.strip() for k, v in value.items()}
    ok = isinstance(value, dict) and all(
        isinstance(k, str) and p.REGION_CODE.fullmatch(k) and isinstance(v, str)
        and _ZONE.fullmatch(v) for k, v in value.items()
    )  # fmt: skip
    if not ok:
        hint = 'use e.g. {CAMX = "US-CAL-CISO"} (in a variable: CAMX=US-CAL-CISO,...)'
        raise p.bad("a table of region codes to provider zones", hint)
    return tuple(sorted((str(k), str(v)) for k, v in value.items()))


_ENV = p.string(_ENV_NAME, "an environment variable name", 'use e.g. "ELECTRICITYMAPS_TOKEN"')


@dataclass(frozen=True, slots=True)
class GridConfig:
    """[grid]: live grid intensity (hourly) for CO2 in reports; static table by default."""

    provider: GridProviderName = _key(
        "static", p.choice("static", "electricitymaps", "watttime"),
        "static (eGRID/country table), electricitymaps (average) or watttime (marginal).",
    )  # fmt: skip
    zones: tuple[tuple[str, str], ...] = _key(
        (), _zones, 'Grid region -> provider zone, e.g. {CAMX = "US-CAL-CISO"}; unmapped = static.'
    )
    base_url: str = _key("", p.url, 'Provider API base URL; "" = the provider\'s public API.')
    token_env: str = _key(
        "ELECTRICITYMAPS_TOKEN", _ENV, "Variable holding the Electricity Maps auth-token."
    )
    username_env: str = _key("WATTTIME_USERNAME", _ENV, "Variable holding the WattTime username.")
    password_env: str = _key("WATTTIME_PASSWORD", _ENV, "Variable holding the WattTime password.")
    timeout_s: float = _key(10.0, p.duration(), "Timeout per provider request.", duration=True)
    cache_ttl_s: float = _key(
        300.0, p.duration(), "Keep a provider answer this long.", duration=True
    )

    def zone_for(self, region: str | None) -> str | None:
        """The provider zone configured for a grid region, or None."""
        return dict(self.zones).get(region or "")

    def credentials(self, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
        """The provider's credentials read from the named variables (a missing one: ConfigError
        naming the variable, never its value)."""
        env = os.environ if environ is None else environ
        per_provider = {
            "electricitymaps": (self.token_env,),
            "watttime": (self.username_env, self.password_env),
        }
        names = per_provider.get(self.provider, ())
        missing = [n for n in names if not env.get(n)]
        if missing:
            raise ConfigError(
                f"grid.provider={self.provider!r} needs the variable(s) {', '.join(missing)}; "
                "set them (credentials are never read from the file)",
                field="grid.provider",
            )
        return tuple(env[n] for n in names)


@dataclass(frozen=True, slots=True)
class ExporterConfig:
    """[exporter]: the metric names `/metrics` exposes."""

    names: ExporterNames = _key(
        "wattlens", p.choice("wattlens", "otel", "both"),
        "wattlens_* names, the draft OpenTelemetry gen_ai.* names (otel), or both.",
    )  # fmt: skip


__all__ = ["ExporterConfig", "ExporterNames", "GridConfig", "GridProviderName"]
