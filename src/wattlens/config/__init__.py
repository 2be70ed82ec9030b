"""Configuration: one TOML file, `WATTLENS_<SECTION>_<KEY>` overrides, provenance, validation.

Precedence: environment variable > file > default. `load_config` records where each value came
from; an unknown key or a bad value is a `ConfigError` naming the key, the value and the accepted
form. Nothing is read at import time. Modules:

- `_schema`: one frozen dataclass per section; field metadata holds each key's parser and help.
- `_parsers`: the value parsers (shared by file values and environment strings).
- `_load`: finding and reading the file, overrides, cross-key and catalog checks.
- `_ecosystem`: [grid] (live intensity provider) and [exporter] (metric names).
- `_values`: `Secret`, `ScrapeTarget`, `RegionRule`.
"""

from __future__ import annotations

from wattlens.config._ecosystem import ExporterConfig, GridConfig
from wattlens.config._load import CONFIG_ENV, DEFAULT_FILE, config_error_lines, load_config
from wattlens.config._schema import (
    SECTIONS,
    BackendConfig,
    CarbonConfig,
    CollectConfig,
    Config,
    ConfigKey,
    LabelsConfig,
    ScrapeConfig,
    ServiceConfig,
    StoreConfig,
    ThresholdsConfig,
    config_keys,
    describe,
    env_var,
    redact_url,
    split_userinfo,
)
from wattlens.config._values import MASK, RegionRule, ScrapeTarget, Secret

__all__ = [
    "redact_url",
    "split_userinfo",
    "CONFIG_ENV",
    "DEFAULT_FILE",
    "MASK",
    "SECTIONS",
    "BackendConfig",
    "CarbonConfig",
    "CollectConfig",
    "ExporterConfig",
    "GridConfig",
    "Config",
    "ConfigKey",
    "LabelsConfig",
    "RegionRule",
    "ScrapeConfig",
    "ScrapeTarget",
    "Secret",
    "ServiceConfig",
    "StoreConfig",
    "ThresholdsConfig",
    "config_error_lines",
    "config_keys",
    "describe",
    "env_var",
    "load_config",
]
