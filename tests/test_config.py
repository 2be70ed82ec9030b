"""Config loading: defaults, file, WATTLENS_* overrides, provenance, and every kind of mistake.

Expected values are written out by hand from the schema in the brief (docs/configuration.md), not
read back from wattlens.config.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from wattlens.config import (
    MASK,
    Config,
    RegionRule,
    ScrapeTarget,
    Secret,
    config_error_lines,
    config_keys,
    describe,
    load_config,
)
from wattlens.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DAY = 86400.0


def write(tmp_path: Path, text: str, name: str = "wattlens.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder so no ./wattlens.toml is picked up by path=None loads."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_without_a_file(empty_cwd: Path) -> None:
    c = load_config(environ={})
    assert c.path is None
    assert c == Config()
    b = c.backend
    assert (b.prometheus_url, b.bearer_token, b.bearer_token_file) == ("", Secret(""), None)
    assert (b.tls_verify, b.tls_client_cert, b.tls_client_key) == (True, None, None)
    assert (b.timeout_s, b.retries, b.namespaces, b.backfill) == (30.0, 3, (), True)
    assert b.backfill_max_s == 7 * DAY  # issue #11: history from the first minute, a week back
    assert (c.scrape.targets, c.scrape.sd_url, c.scrape.interval_s) == ((), "", 30.0)
    assert (c.collect.step_s, c.collect.live_window_s) == (30.0, 300.0)
    k = c.carbon
    assert (k.pue, k.grid_vintage, k.default_region, k.rules) == (1.0, "egrid2024", "CAMX", ())
    assert (k.intensity_override_kg_per_kwh, k.shared_gpu_attribution) == (None, "exclusive")
    s = c.store
    assert (s.path, s.raw_retention_s) == (Path("wattlens.duckdb"), 7 * DAY)
    assert (s.five_min_retention_s, s.hourly_retention_s) == (90 * DAY, None)
    assert (c.thresholds.min_tokens_per_s_for_ratio, c.thresholds.active_tokens_per_s) == (
        5.0,
        0.1,
    )
    assert (c.service.host, c.service.port, c.service.refresh_s) == ("127.0.0.1", 8080, 30.0)
    assert (c.labels.deployment_label, c.labels.host_label) == ("", "")
    assert {src for _, _, src in describe(c)} == {"default"}


FULL = """
[backend]
prometheus_url = "https://thanos.example.org/api"
timeout = "1m"
retries = 5
namespaces = ["ml", "research"]
backfill = false
backfill_max = "forever"
[scrape]
targets = [{url = "http://10.0.0.5:9400/metrics", labels = {namespace = "ml", pod = "p-0"}}]
interval = "15s"
[collect]
step = "1m"
live_window = "10m"
[carbon]
pue = 1.3
grid_vintage = "egrid2023"
default_region = "MROW"
rules = [
  {pattern = ".unl.", region = "MROW"},
  {pattern = "^sdsc-", region = "CAMX", field = "namespace", match = "regex"},
]
intensity_override_kg_per_kwh = 0.198
shared_gpu_attribution = "exclusive"
[store]
path = "data/history.duckdb"
raw_retention = "2d"
five_min_retention = "30d"
hourly_retention = "1y"
[thresholds]
min_tokens_per_s_for_ratio = 2
active_tokens_per_s = 0.5
[service]
host = "0.0.0.0"
port = 9090
refresh = "1m"
[labels]
deployment_label = "app"
host_label = "kubernetes_node"
"""


def test_file_overrides_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    c = load_config(path, environ={})
    assert c.path == path
    assert c.backend.prometheus_url == "https://thanos.example.org/api"
    assert (c.backend.timeout_s, c.backend.retries, c.backend.backfill) == (60.0, 5, False)
    assert c.backend.namespaces == ("ml", "research")
    assert c.backend.backfill_max_s is None
    assert c.scrape.targets == (
        ScrapeTarget("http://10.0.0.5:9400/metrics", {"namespace": "ml", "pod": "p-0"}),
    )
    assert (c.scrape.interval_s, c.collect.step_s, c.collect.live_window_s) == (15.0, 60.0, 600.0)
    assert (c.carbon.pue, c.carbon.grid_vintage, c.carbon.default_region) == (
        1.3,
        "egrid2023",
        "MROW",
    )
    assert c.carbon.rules == (
        RegionRule(".unl.", "MROW", "host", "substring"),
        RegionRule("^sdsc-", "CAMX", "namespace", "regex"),
    )
    assert c.carbon.intensity_override_kg_per_kwh == 0.198
    assert c.carbon.shared_gpu_attribution == "exclusive"
    with pytest.raises(ConfigError, match="shared_gpu_attribution.*exclusive"):
        load_config(write(tmp_path, '[carbon]\nshared_gpu_attribution = "token_share"\n'))
    assert c.store.path == Path("data/history.duckdb")
    assert (c.store.raw_retention_s, c.store.five_min_retention_s) == (2 * DAY, 30 * DAY)
    assert c.store.hourly_retention_s == 365 * DAY
    assert c.thresholds.min_tokens_per_s_for_ratio == 2.0
    assert c.thresholds.active_tokens_per_s == 0.5
    assert (c.service.host, c.service.port, c.service.refresh_s) == ("0.0.0.0", 9090, 60.0)
    assert (c.labels.deployment_label, c.labels.host_label) == ("app", "kubernetes_node")
    assert c.source_of("backend.timeout") == str(path)
    assert c.source_of("backend.bearer_token") == "default"  # not in FULL


def test_env_overrides_file_and_records_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "[backend]\ntimeout = '10s'\nretries = 1\n[carbon]\npue = 1.2\n")
    env = {
        "WATTLENS_BACKEND_TIMEOUT": "45s",
        "WATTLENS_BACKEND_NAMESPACES": "ml, research ,",
        "WATTLENS_BACKEND_BACKFILL": "no",
        "WATTLENS_CARBON_RULES": '[{pattern = ".nyu.", region = "NYUP"}]',
        "WATTLENS_CARBON_INTENSITY_OVERRIDE_KG_PER_KWH": "0.25",
        "WATTLENS_SCRAPE_TARGETS": "http://a:9400/metrics, http://b:9400/metrics",
        "WATTLENS_SERVICE_PORT": "0",
        "WATTLENS_STORE_HOURLY_RETENTION": "forever",
        "WATTLENS_UNRELATED_THING": "ignored: not a section of ours",
        "HOME": "/root",
    }
    c = load_config(path, environ=env)
    assert c.backend.timeout_s == 45.0
    assert c.backend.retries == 1
    assert c.backend.namespaces == ("ml", "research")
    assert c.backend.backfill is False
    assert c.carbon.rules == (RegionRule(".nyu.", "NYUP"),)
    assert c.carbon.intensity_override_kg_per_kwh == 0.25
    assert c.carbon.pue == 1.2
    assert [t.url for t in c.scrape.targets] == ["http://a:9400/metrics", "http://b:9400/metrics"]
    assert c.service.port == 0
    rows = {key: (value, src) for key, value, src in describe(c)}
    assert rows["backend.timeout"] == ("45s", "WATTLENS_BACKEND_TIMEOUT")
    assert rows["backend.retries"] == ("1", str(path))
    assert rows["carbon.pue"] == ("1.2", str(path))
    assert rows["store.hourly_retention"] == ("forever", "WATTLENS_STORE_HOURLY_RETENTION")
    assert rows["collect.step"] == ("30s", "default")


@pytest.mark.parametrize(
    ("word", "value"),
    [("true", True), ("1", True), ("YES", True), ("off", False), ("0", False), ("no", False)],
)
def test_env_booleans(word: str, value: bool) -> None:
    assert load_config(environ={"WATTLENS_BACKEND_BACKFILL": word}).backend.backfill is value


def test_empty_env_unsets_optional_number(tmp_path: Path) -> None:
    path = write(tmp_path, "[carbon]\nintensity_override_kg_per_kwh = 0.3\n")
    env = {"WATTLENS_CARBON_INTENSITY_OVERRIDE_KG_PER_KWH": ""}
    assert load_config(path, environ=env).carbon.intensity_override_kg_per_kwh is None


def test_file_discovery(empty_cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(empty_cwd, "[service]\nport = 1111\n")
    assert load_config(environ={}).service.port == 1111  # ./wattlens.toml
    other = write(empty_cwd, "[service]\nport = 2222\n", "other.toml")
    assert load_config(environ={"WATTLENS_CONFIG": str(other)}).service.port == 2222
    monkeypatch.setenv("WATTLENS_CONFIG", str(other))  # environ=None reads os.environ
    assert load_config().service.port == 2222
    with pytest.raises(ConfigError, match="WATTLENS_CONFIG='nope.toml' names no file"):
        load_config(environ={"WATTLENS_CONFIG": "nope.toml"})
    with pytest.raises(ConfigError, match="config file 'missing.toml' does not exist"):
        load_config(Path("missing.toml"), environ={})


def test_toml_syntax_error_names_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[backend]\ntimeout = 30s\n")
    with pytest.raises(ConfigError, match=re.escape(f"{path} is not valid TOML")):
        load_config(path, environ={})


# (key as the message names it, TOML literal or env string, repr the message shows, accepted form)
FILE_MISTAKES = [
    ("backend.prometheus_url", '"prometheus:9090"', "'prometheus:9090'", "http(s) URL"),
    ("backend.bearer_token_file", '"/no/such/token"', "'/no/such/token'", "an existing file"),
    ("backend.tls_verify", '"maybe"', "'maybe'", "use true, false or a PEM file path"),
    ("backend.timeout", '"30x"', "'30x'", "30s, 5m, 2h, 7d"),
    ("backend.timeout", "0", "0", "is not a positive duration"),
    ("backend.retries", "-1", "-1", "a whole number from 0 to 100"),
    ("backend.retries", "true", "True", "a whole number from 0 to 100"),
    ("backend.namespaces", '"ml"', "'ml'", 'a list of namespace names; use e.g. ["ml"'),
    ("backend.namespaces[1]", '["ml", "ML_Team"]', "'ML_Team'", "is not a namespace name; use"),
    ("backend.backfill", '"yes"', "'yes'", "is not a boolean; use true or false"),
    ("backend.backfill_max", '"-1d"', "'-1d'", 'or "forever"'),
    ("scrape.targets", '["http://x:9400"]', "['http://x:9400']", "a list of tables"),
    ("scrape.targets[0].url", '[{url = "ftp://x"}]', "'ftp://x'", "an http(s) URL"),
    ("scrape.targets[0]", '[{ur = "http://x"}]', "", "unknown key 'ur'; use url, labels"),
    ("scrape.targets[0]", "[{labels = {}}]", "", "has no 'url'"),
    (
        "scrape.targets[0].labels",
        '[{url = "http://x", labels = {"a-b" = "1"}}]',
        "{'a-b': '1'}",
        "a table of label names to strings",
    ),  # fmt: skip
    ("scrape.sd_url", '"targets.json"', "'targets.json'", "an http(s) URL or an existing file"),
    ("scrape.interval", '"fast"', "'fast'", "is not a duration"),
    ("collect.step", '"7s"', "'7s'", "divides 300s"),
    ("collect.step", '"10m"', "'10m'", "divides 300s"),
    ("collect.live_window", '"0s"', "'0s'", "is not a positive duration"),
    ("carbon.pue", "0.9", "0.9", "a number from 1 to 5"),
    ("carbon.grid_vintage", '"egrid2025"', "'egrid2025'", "one of 'egrid2024'"),
    ("carbon.default_region", '""', "''", 'a grid region code; use e.g. "CAMX"'),
    (
        "carbon.rules[0].pattern",
        '[{pattern = "(", region = "CAMX", match = "regex"}]',
        "'('",
        "a valid regular expression",
    ),  # fmt: skip
    (
        "carbon.rules[0].match",
        '[{pattern = "x", region = "CAMX", match = "glob"}]',
        "'glob'",
        "one of 'substring', 'regex', 'exact'",
    ),  # fmt: skip
    ("carbon.rules[0]", '[{pattern = "x"}]', "", "has no 'region'"),
    (
        "carbon.rules[0].field",
        '[{pattern = "x", region = "CAMX", field = "node"}]',
        "'node'",
        "one of 'host', 'namespace'",
    ),  # fmt: skip
    ("carbon.intensity_override_kg_per_kwh", "198", "198", "(kg/kWh, not g/kWh)"),
    ("carbon.intensity_override_kg_per_kwh", "-0.1", "-0.1", "a number from 0 to 2"),
    (
        "carbon.shared_gpu_attribution",
        '"exclusiv"',
        "'exclusiv'",
        "(did you mean 'exclusive'?)",
    ),  # fmt: skip
    ("store.path", '""', "''", "is not a file path"),
    ("store.raw_retention", '"7 days"', "'7 days'", "is not a duration"),
    ("thresholds.min_tokens_per_s_for_ratio", "-1", "-1", "a number from 0 up"),
    ("thresholds.active_tokens_per_s", '"0.1"', "'0.1'", "a number from 0 up"),
    ("service.host", '""', "''", "a host name or address"),
    ("service.port", "70000", "70000", "a whole number from 0 to 65535"),
    ("service.port", "8080.5", "8080.5", "a whole number from 0 to 65535"),
    ("service.refresh", '"soon"', "'soon'", "is not a duration"),
    ("labels.deployment_label", '"app-name"', "'app-name'", "a Prometheus label name"),
    ("labels.host_label", "5", "5", "is not a string"),
]


@pytest.mark.parametrize(("where", "literal", "shown", "form"), FILE_MISTAKES)
def test_file_mistakes(tmp_path: Path, where: str, literal: str, shown: str, form: str) -> None:
    section, key = re.match(r"(\w+)\.(\w+)", where).groups()  # type: ignore[union-attr]
    path = write(tmp_path, f"[{section}]\n{key} = {literal}\n")
    with pytest.raises(ConfigError) as e:
        load_config(path, environ={})
    message = str(e.value)
    expected_start = f"{path}: {where}" + (f"={shown}" if shown else "")
    assert message.startswith(expected_start), message
    assert form in message, message
    assert "\n" not in message


ENV_MISTAKES = [
    ("WATTLENS_BACKEND_BACKFILL", "maybe", "is not a boolean; use true or false"),
    ("WATTLENS_BACKEND_TLS_VERIFY", "maybe", "is not a boolean or an existing CA-bundle file"),
    ("WATTLENS_BACKEND_RETRIES", "three", "is not a whole number from 0 to 100"),
    ("WATTLENS_BACKEND_TIMEOUT", "-5", "is not a duration"),
    ("WATTLENS_CARBON_PUE", "1,3", "is not a number from 1 to 5"),
    ("WATTLENS_THRESHOLDS_ACTIVE_TOKENS_PER_S", "fast", "is not a number from 0 up"),
    ("WATTLENS_CARBON_RULES", "[{pattern = ", "is not a list of tables"),
    ("WATTLENS_SERVICE_PORT", "", "is not a whole number from 0 to 65535"),
]


@pytest.mark.parametrize(("name", "value", "form"), ENV_MISTAKES)
def test_env_mistakes_name_the_variable(name: str, value: str, form: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_config(environ={name: value})
    assert str(e.value).startswith(f"{name}={value!r} {form}")


def test_env_namespace_item_is_named() -> None:
    with pytest.raises(ConfigError) as e:
        load_config(environ={"WATTLENS_BACKEND_NAMESPACES": "ml,Bad_NS"})
    assert str(e.value).startswith("WATTLENS_BACKEND_NAMESPACES[1]='Bad_NS' is not a namespace")


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[backend]\ntimout = '5s'\n", "backend has no key 'timout' (did you mean 'timeout'?)"),
        ("[carbn]\npue = 1.2\n", "unknown section [carbn] (did you mean 'carbon'?)"),
        ("[scrape]\nnamespaces = ['ml']\n", "'namespaces' belongs in [backend]"),
        ("pue = 1.2\n", "pue is outside any section; put it under [carbon]"),
        ("backend = 3\n", "backend must be a [backend] table"),
    ],
)
def test_unknown_names_suggest_the_right_one(tmp_path: Path, toml: str, expected: str) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(path, environ={})


def test_unknown_env_variable_suggests_the_right_one() -> None:
    with pytest.raises(ConfigError) as e:
        load_config(environ={"WATTLENS_BACKEND_TIMOUT": "5s"})
    assert "WATTLENS_BACKEND_TIMOUT is not a setting" in str(e.value)
    assert "(did you mean 'WATTLENS_BACKEND_TIMEOUT'?)" in str(e.value)


def test_all_problems_are_listed(tmp_path: Path) -> None:
    path = write(tmp_path, "[backend]\nretries = -1\ntimout = 1\n[collect]\nstep = '7s'\n")
    env = {"WATTLENS_CARBON_PUE": "0.5"}
    lines = config_error_lines(path, env)
    assert len(lines) == 4, lines
    assert [ln.split("=")[0].split(" ")[-1] for ln in lines[:1]] == ["backend.retries"]
    assert any(ln.startswith("WATTLENS_CARBON_PUE='0.5'") for ln in lines)
    with pytest.raises(ConfigError, match=r"\(and 3 more; `wattlens config check` lists all\)"):
        load_config(path, environ=env)
    assert config_error_lines(write(tmp_path, FULL), {}) == []


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[collect]\nstep = '60s'\nlive_window = '30s'\n",
         "collect.live_window='30s' (from {p}) is shorter than collect.step='1m' (from {p})"),
        ("[store]\nraw_retention = '100d'\n",
         "store.five_min_retention='90d' (default) is shorter than store.raw_retention='100d'"),
        ("[store]\nfive_min_retention = 'forever'\nhourly_retention = '1y'\n",
         "store.hourly_retention='365d' (from {p}) is shorter than store.five_min_retention="),
        ("[backend]\nbearer_token = 'abc'\nbearer_token_file = '{tok}'\n",
         "backend.bearer_token='**********' (from {p}) and backend.bearer_token_file="),
        ("[backend]\ntls_client_key = '{tok}'\n",
         "backend.tls_client_key='{tok}' (from {p}) is set without backend.tls_client_cert"),
    ],
)  # fmt: skip
def test_cross_key_checks(tmp_path: Path, toml: str, expected: str) -> None:
    token = write(tmp_path, "secret-from-file\n", "token")
    path = write(tmp_path, toml.format(tok=token))
    lines = config_error_lines(path, {})
    assert lines == [lines[0]] and lines[0].startswith(expected.format(p=path, tok=token)), lines
    assert "abc" not in lines[0]


def test_bad_step_does_not_also_trip_the_window_check(tmp_path: Path) -> None:
    # live_window 5m is fine against any valid step; the only problem is the step itself.
    assert len(config_error_lines(write(tmp_path, "[collect]\nstep = '301s'\n"), {})) == 1


@pytest.mark.parametrize(
    ("step", "seconds"),
    [("5s", 5.0), ("7.5s", 7.5), ("10s", 10.0), ("20s", 20.0), ("1m", 60.0), ("150s", 150.0),
     ("5m", 300.0), ("12", 12.0)],
)  # fmt: skip
def test_steps_that_tile_five_minutes(step: str, seconds: float) -> None:
    # 300 / seconds is a whole number for each row (300/7.5 = 40, 300/12 = 25).
    assert load_config(environ={"WATTLENS_COLLECT_STEP": step}).collect.step_s == seconds


def test_secret_is_masked_everywhere(tmp_path: Path) -> None:
    token = "s3cr3t-t0ken-value"
    c = load_config(environ={"WATTLENS_BACKEND_BEARER_TOKEN": token})
    assert c.backend.bearer_token.reveal() == token
    assert token not in repr(c) and token not in str(c.backend)
    assert repr(c.backend.bearer_token) == f"Secret({MASK!r})"
    public = c.to_public_dict()
    assert public["backend"]["bearer_token"] == MASK
    assert token not in json.dumps(public)
    assert dict((k, v) for k, v, _ in describe(c))["backend.bearer_token"] == MASK
    path = write(tmp_path, "[backend]\nbearer_token = 12345\n")
    (line,) = config_error_lines(path, {})
    assert "12345" not in line and f"bearer_token={MASK!r} is not a string" in line


def test_token_file_is_read_when_used(tmp_path: Path) -> None:
    token = write(tmp_path, "from-file\n", "token")
    c = load_config(environ={"WATTLENS_BACKEND_BEARER_TOKEN_FILE": str(token)})
    assert c.backend.resolved_bearer_token().reveal() == "from-file"
    token.write_text("rotated\n")
    assert c.backend.resolved_bearer_token().reveal() == "rotated"
    token.unlink()
    with pytest.raises(ConfigError, match="bearer_token_file=.* cannot be read"):
        c.backend.resolved_bearer_token()


def test_tls_verify_accepts_a_ca_bundle(tmp_path: Path) -> None:
    bundle = write(tmp_path, "-----BEGIN CERTIFICATE-----\n", "ca.pem")
    c = load_config(environ={"WATTLENS_BACKEND_TLS_VERIFY": str(bundle)})
    assert c.backend.tls_verify == bundle
    assert c.to_public_dict()["backend"]["tls_verify"] == str(bundle)
    assert load_config(environ={"WATTLENS_BACKEND_TLS_VERIFY": "false"}).backend.tls_verify is False


def test_public_dict_is_json_with_sources(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    public = json.loads(json.dumps(load_config(path, environ={}).to_public_dict()))
    assert public["path"] == str(path)
    assert public["collect"] == {"step_s": 60.0, "live_window_s": 600.0}
    assert public["carbon"]["rules"][1] == {
        "pattern": "^sdsc-",
        "region": "CAMX",
        "field": "namespace",
        "match": "regex",
    }
    assert public["sources"]["carbon.pue"] == str(path)
    assert public["sources"]["backend.bearer_token"] == "default"


def test_rules_become_catalog_rules_in_order(tmp_path: Path) -> None:
    from wattlens.catalog.grid import default_rules, resolve_region

    rules = load_config(write(tmp_path, FULL), environ={}).carbon.grid_rules()
    # FULL maps host *.unl.* to MROW and namespaces starting "sdsc-" (regex) to CAMX.
    assert resolve_region("gpu-3.UNL.edu", "ml", rules, "US") == ("MROW", rules[0])
    assert resolve_region("gpu-3.example.org", "sdsc-llm", rules, "US") == ("CAMX", rules[1])
    assert resolve_region("gpu-3.example.org", "x-sdsc-llm", rules, "US") == ("US", None)
    assert Config().carbon.grid_rules() == default_rules()  # [] means the catalog's table


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATTLENS_CARBON_DEFAULT_REGION": "CAMZ"},
         "carbon.default_region='CAMZ' (from WATTLENS_CARBON_DEFAULT_REGION) is not a region of "
         "grid_vintage 'egrid2024' (did you mean 'CAMX'?); use one of AKGD, "),
        ({"WATTLENS_CARBON_RULES": '[{pattern = "a", region = "CAMX"}, {pattern = "b", '
                                   'region = "QQQQ"}]'},
         "carbon.rules[1].region='QQQQ' (from WATTLENS_CARBON_RULES) is not a region of"),
        # NYCW is an eGRID2024 subregion but not in the NRP 2022 table (carbon.md s2.1).
        ({"WATTLENS_CARBON_GRID_VINTAGE": "nrp2022", "WATTLENS_CARBON_DEFAULT_REGION": "NYCW"},
         "carbon.default_region='NYCW' (from WATTLENS_CARBON_DEFAULT_REGION) is not a region of "
         "grid_vintage 'nrp2022'"),
    ],
)  # fmt: skip
def test_regions_must_exist_in_the_grid_vintage(env: dict[str, str], expected: str) -> None:
    (line,) = config_error_lines(None, env)
    assert line.startswith(expected), line


def test_region_known_to_the_vintage_passes() -> None:
    env = {"WATTLENS_CARBON_GRID_VINTAGE": "nrp2022", "WATTLENS_CARBON_DEFAULT_REGION": "NYUP"}
    assert load_config(environ=env).carbon.default_region == "NYUP"


def test_every_key_is_documented() -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text()
    for key in config_keys():
        section, name = key.key.split(".")
        assert f"`{name}`" in docs, f"{key.key} is not in docs/configuration.md"
        assert key.env_var in docs, f"{key.env_var} is not in docs/configuration.md"
    for section in {k.key.split(".")[0] for k in config_keys()}:
        assert f"[{section}]" in docs, f"section [{section}] is not in docs/configuration.md"
    named = set(re.findall(r"WATTLENS_[A-Z0-9_]*[A-Z0-9]", docs)) - {"WATTLENS_CONFIG"}
    real = {k.env_var for k in config_keys()}
    assert named - real == set(), "docs name variables that do not exist"


def test_example_file_loads_and_shows_every_key(tmp_path: Path) -> None:
    example = ROOT / "wattlens.example.toml"
    assert config_error_lines(example, {}) == []
    # The example documents the defaults, so loading it changes nothing but the provenance.
    assert dataclasses.replace(load_config(example, environ={}), path=None) == Config()
    text = example.read_text()
    for key in config_keys():
        name = key.key.split(".")[1]
        assert re.search(rf"^#? ?{name} = ", text, re.M), f"{key.key} missing from the example"


def test_public_names_are_exported() -> None:
    import wattlens.config as module

    public = {n for n in vars(module) if not n.startswith("_") and n != "annotations"}
    assert set(module.__all__) == public


# [models]: the user's own models are [models.NAME] tables beside the settings (#10).
MODEL_KEYS = (
    "hidden_size = 2048\nnum_hidden_layers = 16\nnum_attention_heads = 16\nvocab_size = 32000\n"
)


def test_models_name_tables_are_user_models(tmp_path: Path) -> None:
    text = (
        f'[models]\nhub = false\n\n[models.my-llm]\n{MODEL_KEYS}aliases = ["mine"]\ndtype = "fp8"\n'
        '\n[models."acme/other"]\nconfig = "other.json"\n'
    )
    c = load_config(write(tmp_path, text), environ={})
    assert c.models.hub is False and c.models.directory is None
    assert dict(c.models.custom) == {
        "my-llm": {"hidden_size": 2048, "num_hidden_layers": 16, "num_attention_heads": 16,
                   "vocab_size": 32000, "aliases": ["mine"], "dtype": "fp8"},
        "acme/other": {"config": "other.json"},
    }  # fmt: skip
    assert c.source_of("models.custom") == str(tmp_path / "wattlens.toml")


def test_models_directory_setting_still_works_beside_model_tables(tmp_path: Path) -> None:
    text = f'[models]\ndirectory = "{tmp_path}"\n\n[models.my-llm]\n{MODEL_KEYS}'
    c = load_config(write(tmp_path, text), environ={})
    assert c.models.directory == tmp_path
    assert [name for name, _ in c.models.custom] == ["my-llm"]


def test_a_model_named_like_a_setting_is_written_under_custom(tmp_path: Path) -> None:
    text = f"[models.custom.directory]\n{MODEL_KEYS}\n[models.hub]\n{MODEL_KEYS}"
    (line,) = config_error_lines(write(tmp_path, text), {})
    assert "[models.hub] is the setting models.hub, not a model" in line
    assert "[models.custom.hub]" in line
    ok = load_config(write(tmp_path, f"[models.custom.directory]\n{MODEL_KEYS}"), environ={})
    assert [name for name, _ in ok.models.custom] == ["directory"]
    assert ok.models.directory is None


def test_a_model_written_twice_and_a_flat_custom_table_are_refused(tmp_path: Path) -> None:
    twice = f"[models.a]\n{MODEL_KEYS}\n[models.custom.a]\n{MODEL_KEYS}"
    (line,) = config_error_lines(write(tmp_path, twice), {})
    assert "model 'a' is written twice" in line
    flat = f"[models.custom]\n{MODEL_KEYS}"
    (line,) = config_error_lines(write(tmp_path, flat), {})
    assert "[models.custom.custom]" in line


def test_models_plain_unknown_key_is_still_an_error(tmp_path: Path) -> None:
    (line,) = config_error_lines(write(tmp_path, "[models]\nhubb = false\n"), {})
    assert "models has no key 'hubb'" in line and "hub" in line


def test_models_custom_variable_takes_an_inline_table(tmp_path: Path) -> None:
    env = {"WATTLENS_MODELS_CUSTOM": '{ my-llm = { config = "c.json" } }'}
    assert load_config(environ=env).models.custom == (("my-llm", {"config": "c.json"}),)
