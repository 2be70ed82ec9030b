"""The schema: one frozen dataclass per TOML section; field metadata holds parser and help.

Duration fields end in `_s` (float seconds) and are written without the suffix in TOML
(`timeout_s` <- `timeout = "30s"`). None means unset, or "forever" for retention keys.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple
from urllib.parse import unquote, urlsplit, urlunsplit

from wattlens.catalog.grid import GridRule, default_rules
from wattlens.config import _parsers as p
from wattlens.config._ecosystem import ExporterConfig, GridConfig
from wattlens.config._values import MASK, RegionRule, ScrapeTarget, Secret
from wattlens.core.durations import format_duration
from wattlens.core.errors import ConfigError
from wattlens.core.units import SECONDS_PER_DAY

ENV_PREFIX = "WATTLENS_"
ROLLUP_S = 300.0  # the 5-minute rollup tier; the step grid must tile it
# 3x the dirtiest eGRID2024 subregion (HIOA 0.670 kg/kWh, shared/reference/carbon.md s2.2): a
# larger "kg/kWh" is almost always a g/kWh figure in the wrong unit.
MAX_KG_PER_KWH = 2.0
# PUE ceiling: 3x the industry average of 1.58 (Uptime Institute Global Data Center Survey 2023);
# a larger value is a typo (e.g. a percentage), not a facility.
MAX_PUE = 5.0


def _key(default: Any, parse: p.Parser, help: str, **extra: Any) -> Any:
    return field(default=default, metadata={"parse": parse, "help": help, **extra})


def _dur(default: float | None, help: str, **kw: Any) -> Any:
    return _key(default, p.duration(**kw), help, duration=True)


_NS = p.name_list(
    p.K8S_NAME, "namespace name", "use lowercase letters, digits and '-'", '["ml", "research"]'
)
_REGION = p.string(p.REGION_CODE, "a grid region code", 'use e.g. "CAMX"', required=True)
_HOST = p.string(re.compile(r"\S+"), "a host name or address", 'use e.g. "0.0.0.0"', required=True)
_ORIGINS = p.name_list(
    re.compile(r"https?://[^\s/*]+"), "web origin", "use scheme://host[:port], no '*'",
    '["https://grafana.example.org"]',
)  # fmt: skip
_LABEL = p.string(p.LABEL_NAME, "a Prometheus label name", 'use e.g. "app"')


@dataclass(frozen=True, slots=True)
class BackendConfig:
    """[backend]: the Prometheus-API backend (Prometheus, Thanos, VictoriaMetrics, Mimir)."""

    prometheus_url: str = _key("", p.url, "Prometheus HTTP API base URL; empty = no backend.")
    bearer_token: Secret = _key(
        Secret(), p.secret, "Bearer token sent to the backend (secret).", secret=True
    )
    bearer_token_file: Path | None = _key(None, p.existing_file, "File holding the bearer token.")
    tls_verify: bool | Path = _key(True, p.tls_verify, "true, false, or a CA-bundle (PEM) path.")
    tls_client_cert: Path | None = _key(None, p.existing_file, "Client certificate (PEM), mTLS.")
    tls_client_key: Path | None = _key(None, p.existing_file, "Client private key (PEM), mTLS.")
    timeout_s: float = _dur(30.0, "Timeout per HTTP request.")
    retries: int = _key(3, p.integer(0, 100, "3"), "Retries for a failed request.")
    namespaces: tuple[str, ...] = _key((), _NS, "Namespaces to read; [] = all namespaces.")
    backfill: bool = _key(True, p.boolean, "Fill gaps in the store from the backend's history.")
    backfill_max_s: float | None = _dur(
        7 * SECONDS_PER_DAY, "Never backfill further back (nor past backend retention).",
        allow_forever=True,
    )  # fmt: skip
    use_recorded: Literal["auto", "never", "always"] = _key(
        "auto", p.choice("auto", "never", "always"),
        "Read the `wattlens rules` recorded series when the backend holds them (auto), never, "
        "or always (an error when it does not).",
    )  # fmt: skip

    def resolved_bearer_token(self) -> Secret:
        """The token; `bearer_token_file` is read at each call because projected tokens rotate."""
        if self.bearer_token or self.bearer_token_file is None:
            return self.bearer_token
        try:
            return Secret(self.bearer_token_file.read_text().strip())
        except OSError as e:
            raise ConfigError(
                f"backend.bearer_token_file={str(self.bearer_token_file)!r} cannot be read "
                f"({e.strerror}); fix the path or its permissions"
            ) from e


@dataclass(frozen=True, slots=True)
class ScrapeConfig:
    """[scrape]: exporters scraped directly, without a Prometheus in between."""

    targets: tuple[ScrapeTarget, ...] = _key((), p.targets, "Exporter URLs with extra labels.")
    sd_url: str = _key("", p.url_or_file, "Prometheus HTTP-SD JSON: URL or file of targets.")
    interval_s: float = _dur(30.0, "How often to scrape the targets.")


@dataclass(frozen=True, slots=True)
class CollectConfig:
    """[collect]: the interval grid telemetry is derived on."""

    step_s: float = _dur(30.0, "Interval grid; must divide 300 s.", tiles=ROLLUP_S)
    live_window_s: float = _dur(300.0, "Window for live snapshot rates; at least one step.")


@dataclass(frozen=True, slots=True)
class CarbonConfig:
    """[carbon]: grid intensity, PUE and shared-GPU attribution."""

    pue: float = _key(1.0, p.number(1.0, "1.3", hi=MAX_PUE), "Facility overhead factor (>= 1).")
    grid_vintage: str = _key("egrid2024", p.vintage, "Grid-intensity table (catalog vintage).")
    default_region: str = _key("CAMX", _REGION, "Grid region for nodes no rule matches.")
    rules: tuple[RegionRule, ...] = _key((), p.rules, "Node -> region rules; [] = catalog's.")
    intensity_override_kg_per_kwh: float | None = _key(
        None,
        p.optional(p.number(0.0, "0.198", hi=MAX_KG_PER_KWH, hint=" (kg/kWh, not g/kWh)")),
        "One intensity (kg CO2/kWh) for every node; unset = use the grid table.",
    )
    shared_gpu_attribution: Literal["exclusive"] = _key(
        "exclusive",
        p.choice("exclusive"),
        "Time-sliced GPU: each deployment on it is charged the whole GPU (an upper bound); MIG "
        "instances split their parent GPU evenly. Token-share attribution is not implemented.",
    )

    def grid_rules(self) -> list[GridRule]:
        """The rules as catalog `GridRule`s, in order; the catalog's defaults when none are set."""

        if not self.rules:
            return default_rules()
        return [GridRule(r.pattern, r.region, r.field, r.match) for r in self.rules]


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """[store]: the DuckDB history file and its retention tiers."""

    path: Path = _key(Path("wattlens.duckdb"), p.store_path, "DuckDB file.")
    raw_retention_s: float | None = _dur(7 * SECONDS_PER_DAY, "Keep step rows.", allow_forever=True)
    five_min_retention_s: float | None = _dur(
        90 * SECONDS_PER_DAY, "Keep 5-minute rows.", allow_forever=True
    )
    hourly_retention_s: float | None = _dur(None, "Keep hourly rows.", allow_forever=True)


@dataclass(frozen=True, slots=True)
class ThresholdsConfig:
    """[thresholds]: traffic below which ratios are not reported."""

    min_tokens_per_s_for_ratio: float = _key(
        5.0, p.number(0.0, "5.0"), "No J/token or mg/token below this many tokens/s."
    )
    active_tokens_per_s: float = _key(0.1, p.number(0.0, "0.1"), "Active above this tokens/s.")


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """[service]: the web service."""

    host: str = _key("127.0.0.1", _HOST, "Address to listen on.")
    port: int = _key(8080, p.integer(0, 65535, "8080 (0 = any free port)"), "TCP port.")
    refresh_s: float = _dur(30.0, "How often the service collects and pages refresh.")
    cors_origins: tuple[str, ...] = _key((), _ORIGINS, "Origins allowed cross-site; [] = none.")


@dataclass(frozen=True, slots=True)
class LabelsConfig:
    """[labels]: which labels identify deployments and hosts."""

    deployment_label: str = _key("", _LABEL, 'Key deployments by this label; "" = pod names.')
    host_label: str = _key("", _LABEL, 'Label naming the node; "" = Hostname, then hostname.')


def _model_directory(value: Any, env: bool) -> Path | None:
    """ "" (None) or an existing directory of config.json files (e.g. a Hugging Face cache)."""
    text = p.string()(value, env)
    if text and not Path(text).expanduser().is_dir():
        raise p.bad("an existing directory", "point it at a folder of config.json files")
    return Path(text).expanduser() if text else None


def _model_entries(value: Any, env: bool) -> tuple[tuple[str, dict[str, Any]], ...]:
    """[models.NAME] tables: config.json keys inline, or `config` = a config.json path.

    In the file the loader gathers every table under [models] that is not a setting
    (`directory`, `hub`) into this key, together with the [models.custom.NAME] tables (the
    spelling for a model named like a setting); the variable takes an inline table of tables.
    """
    if env and isinstance(value, str):
        try:
            value = tomllib.loads(f"x = {value}")["x"]
        except tomllib.TOMLDecodeError as e:
            raise p.bad(
                "an inline TOML table of tables", '{ my-llm = { config = "c.json" } }'
            ) from e
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise p.bad(
            "tables [models.NAME]",
            'write [models.my-llm] with config = "/path/config.json" or its keys',
        )
    return tuple((str(k), dict(v)) for k, v in value.items())


@dataclass(frozen=True, slots=True)
class ModelsConfig:
    """[models]: the user's own models (override the catalog) and the Hugging Face hub."""

    directory: Path | None = _key(
        None, _model_directory, "Folder of config.json files (e.g. a mounted HF cache)."
    )
    custom: tuple[tuple[str, dict[str, Any]], ...] = _key(
        (),
        _model_entries,
        "[models.NAME] tables: config.json keys or config = path; aliases, dtype.",
        gathers_tables=True,
    )
    hub: bool = _key(True, p.boolean, "Fetch unknown org/name models' config.json from the HF hub.")


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration; `sources` maps "section.key" to where the value came from."""

    backend: BackendConfig = field(default_factory=BackendConfig)
    scrape: ScrapeConfig = field(default_factory=ScrapeConfig)
    collect: CollectConfig = field(default_factory=CollectConfig)
    carbon: CarbonConfig = field(default_factory=CarbonConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    thresholds: ThresholdsConfig = field(default_factory=ThresholdsConfig)
    service: ServiceConfig = field(default_factory=ServiceConfig)
    labels: LabelsConfig = field(default_factory=LabelsConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    grid: GridConfig = field(default_factory=GridConfig)
    exporter: ExporterConfig = field(default_factory=ExporterConfig)
    path: Path | None = None  # the file that was read, if any
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def source_of(self, key: str) -> str:
        """Where "section.key" came from: "default", the file path, or the variable name."""
        return self.sources.get(key, "default")

    def to_public_dict(self) -> dict[str, Any]:
        """JSON-ready values (seconds in `_s` fields), secrets masked, plus `path` and `sources`."""
        out: dict[str, Any] = {}
        for section in SECTIONS:
            part = getattr(self, section)
            out[section] = {f.name: _jsonable(getattr(part, f.name)) for f in _fields(section)}
        out["path"] = str(self.path) if self.path else None
        out["sources"] = {key: self.source_of(key) for key, _ in all_fields()}
        return out


SECTIONS: dict[str, type] = {  # every section, in schema order (Config's fields)
    f.name: f.default_factory  # type: ignore[misc]
    for f in dataclasses.fields(Config)
    if f.name not in ("path", "sources")
}


class ConfigKey(NamedTuple):
    """One key: "section.key", the variable that overrides it, its default as written, help."""

    key: str
    env_var: str
    default: str
    help: str


def _fields(section: str) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(SECTIONS[section])


def toml_key(f: dataclasses.Field[Any]) -> str:
    """The name a field has in TOML (`timeout_s` -> `timeout`)."""
    return f.name.removesuffix("_s") if f.metadata.get("duration") else f.name


def all_fields() -> list[tuple[str, dataclasses.Field[Any]]]:
    """("section.key", field) for every key, in schema order."""
    return [(f"{s}.{toml_key(f)}", f) for s in SECTIONS for f in _fields(s)]


def env_var(key: str) -> str:
    """The variable that overrides "section.key", e.g. WATTLENS_BACKEND_TIMEOUT."""
    return ENV_PREFIX + key.replace(".", "_").upper()


def config_keys() -> list[ConfigKey]:
    """Every key with its variable, default and help, in schema order."""
    return [
        ConfigKey(key, env_var(key), format_value(f.default, f), f.metadata["help"])
        for key, f in all_fields()
    ]


def format_value(value: Any, f: dataclasses.Field[Any]) -> str:
    """A value as a person would write it: "30s", "true", "[]", secrets masked."""
    if f.metadata.get("duration"):
        return format_duration(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "(unset)"
    if isinstance(value, Secret | Path):
        return str(value) or '""'
    if isinstance(value, tuple):
        items = [_short(v) for v in value]
        return "[" + ", ".join(items) + "]"
    if isinstance(value, float):
        return repr(value)
    return redact_url(str(value)) or '""'


def redact_url(text: str) -> str:
    """`scheme://user:***@host/...` for a URL carrying credentials; other text unchanged."""
    return re.sub(
        r"^([a-zA-Z][a-zA-Z0-9+.-]*://)([^/@\s]*)@", lambda m: m[1] + _masked(m[2]) + "@", text
    )


def split_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """The URL without `user:password@`, and (user, password) when it had them."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), (unquote(user), unquote(password))


def _masked(userinfo: str) -> str:
    user, sep, _ = userinfo.partition(":")
    return f"{user}:***" if sep else "***"


def _short(item: Any) -> str:
    if isinstance(item, ScrapeTarget):
        return redact_url(item.url) + (f" {item.labels}" if item.labels else "")
    if isinstance(item, RegionRule):
        return f"{item.field} {item.match} {item.pattern!r} -> {item.region}"
    return str(item)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Secret):
        return MASK if value else ""
    if isinstance(value, str):
        return redact_url(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, ScrapeTarget | RegionRule):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return dict(value)
    return value


def describe(config: Config) -> list[tuple[str, str, str]]:
    """(key, value as written, source) for every key, for `wattlens config check` to print."""
    out = []
    for key, f in all_fields():
        section = key.split(".", 1)[0]
        value = getattr(getattr(config, section), f.name)
        out.append((key, format_value(value, f), config.source_of(key)))
    return out


__all__ = [
    "ENV_PREFIX",
    "MAX_KG_PER_KWH",
    "ROLLUP_S",
    "SECTIONS",
    "BackendConfig",
    "CarbonConfig",
    "CollectConfig",
    "Config",
    "ConfigKey",
    "LabelsConfig",
    "ScrapeConfig",
    "ServiceConfig",
    "StoreConfig",
    "ThresholdsConfig",
    "all_fields",
    "config_keys",
    "describe",
    "env_var",
    "format_value",
    "redact_url",
    "split_userinfo",
    "toml_key",
]
