"""Emulator scenarios: typed dataclasses and a strict TOML loader.

A scenario file has top-level `name`, `seed`, `tick_s`, `duration`, optional `[[node]]` tables and
one `[[deployment]]` table per deployment (flat keys, see `_DEPLOYMENT_KEYS`). Times of events are
ISO 8601 (`"2026-04-01T12:00:00Z"`) or offsets from the scenario start (`"+36h"`, `"+90m"`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from wattlens.core.errors import InputError

Pattern = Literal["diurnal", "constant", "idle", "bursty"]
Engine = Literal["vllm", "none"]
PATTERNS: tuple[str, ...] = ("diurnal", "constant", "idle", "bursty")
_WORKLOAD = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_OFFSET = re.compile(r"^\+(\d+(?:\.\d+)?)([smhd])$")
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@dataclass(frozen=True, slots=True)
class TimeRef:
    """An event time: an offset from the scenario start, or an absolute UTC epoch time."""

    offset_s: float | None = None
    epoch_s: float | None = None

    def resolve(self, start_s: float) -> float:
        """Absolute UTC epoch seconds for a scenario starting at `start_s`."""
        return self.epoch_s if self.epoch_s is not None else start_s + (self.offset_s or 0.0)


@dataclass(frozen=True, slots=True)
class PowerModel:
    """Planted power truth per GPU: idle at zero running requests, logistic rise to peak."""

    idle_watts_per_gpu: float
    peak_watts_per_gpu: float
    k: float = 2.0  # logistic steepness in log2(1 + running)
    x0: float = 2.0  # log2(1 + running) at half range
    noise: float = 0.02  # relative per-tick noise of each GPU's power
    gpu_spread: float = 0.03  # relative spread between GPUs of one deployment (mean exactly 1)


@dataclass(frozen=True, slots=True)
class Traffic:
    """Planted traffic: total tok/s over time and how it splits into requests."""

    pattern: Pattern = "diurnal"
    mean_tokens_per_s: float = 0.0  # prompt + generation, long-run mean
    prompt_fraction: float = 0.8
    diurnal_amplitude: float = 0.5  # 0-1, relative swing around the mean
    diurnal_peak_hour_utc: float = 20.0
    noise: float = 0.1  # relative per-tick noise (mean-preserving lognormal)
    burst_period_s: float = 600.0  # bursty: on/off block length
    burst_duty: float = 0.25  # bursty: share of blocks that are on
    output_tokens_per_request: float = 256.0
    decode_tokens_per_s: float = 60.0  # per request stream; ITL = 1 / this
    ttft_s: float = 0.3  # mean time to first token
    max_num_seqs: int = 256  # running requests above this wait


@dataclass(frozen=True, slots=True)
class Deployment:
    """One deployment: one pod (a vLLM engine or a GPU-only job) on `gpu_count` GPUs of one node."""

    namespace: str
    workload: str
    node: str
    gpu: str  # catalog id, e.g. "A6000"
    gpu_model_name: str  # DCGM modelName, e.g. "NVIDIA RTX A6000"
    gpu_count: int
    power: PowerModel
    traffic: Traffic = field(default_factory=Traffic)
    container: str = "vllm"
    served_model_name: str | None = None
    model: str | None = None  # catalog model id, informational
    engine: Engine = "vllm"
    vllm_version: str = "0.13.0"  # < 0.9.2: old KV name; < 0.11: old ITL name; both in between
    gpu_memory_mib: float = 81920.0
    memory_utilization: float = 0.9  # share of GPU memory the engine preallocates
    restarts: tuple[TimeRef, ...] = ()
    restart_downtime_s: float = 60.0
    energy_counter_resets: tuple[TimeRef, ...] = ()
    gaps: tuple[tuple[TimeRef, TimeRef], ...] = ()
    expect: tuple[tuple[str, Any], ...] = ()  # planted expectations (`expect_*` keys, prefix cut)

    @property
    def key(self) -> str:
        """Deployment id as wattlens derives it: `<namespace>/<workload>`."""
        return f"{self.namespace}/{self.workload}"

    def expectation(self, name: str, default: Any = None) -> Any:
        """A planted expectation (`expect_<name>` in the file), or `default`."""
        return dict(self.expect).get(name, default)


@dataclass(frozen=True, slots=True)
class Node:
    """One GPU node: one dcgm-exporter endpoint."""

    name: str
    hostname_label: Literal["Hostname", "hostname"] = "Hostname"
    driver_version: str = "580.105.08"
    spare_gpus: int = 0  # unallocated GPUs (no pod labels), drawing `spare_idle_watts`
    spare_idle_watts: float = 60.0


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole emulated fleet."""

    name: str
    deployments: tuple[Deployment, ...]
    nodes: tuple[Node, ...] = ()  # completed by the loader: one per deployment node
    seed: int = 42
    tick_s: float = 5.0
    duration_s: float = 86400.0  # intended length; default window for history and truth
    description: str = ""

    def node(self, name: str) -> Node:
        """The node called `name` (a default `Node` when not declared)."""
        for n in self.nodes:
            if n.name == name:
                return n
        return Node(name=name)

    def deployment(self, key: str) -> Deployment:
        """The deployment `<namespace>/<workload>`."""
        for d in self.deployments:
            if d.key == key:
                return d
        raise InputError(f"scenario {self.name!r}: no deployment {key!r}; known: {self.keys()}")

    def keys(self) -> list[str]:
        """Deployment keys in file order."""
        return [d.key for d in self.deployments]


def parse_time(value: object, where: str) -> TimeRef:
    """`"+36h"`-style offset or ISO 8601 time (or a number of offset seconds) -> `TimeRef`."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return TimeRef(offset_s=float(value))
    if isinstance(value, datetime):
        return TimeRef(epoch_s=value.timestamp())
    if isinstance(value, str):
        m = _OFFSET.match(value.strip())
        if m:
            return TimeRef(offset_s=float(m.group(1)) * _UNIT_S[m.group(2)])
        try:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if dt.tzinfo is not None:
                return TimeRef(epoch_s=dt.timestamp())
    raise InputError(
        f"{where}: time {value!r} is not an offset like '+36h' (s, m, h, d) or an ISO 8601 "
        "time with a zone like '2026-04-01T12:00:00Z'; write one of those"
    )


def parse_duration_s(value: object, where: str) -> float:
    """`"3d"`, `"+36h"` or seconds -> seconds."""
    text = value if not isinstance(value, str) or value.startswith("+") else f"+{value}"
    ref = parse_time(text, where)
    if ref.offset_s is None or ref.offset_s <= 0:
        raise InputError(f"{where}: {value!r} is not a positive duration; write e.g. '1d' or '6h'")
    return ref.offset_s


# --- loader -------------------------------------------------------------------------------------


def _num(lo: float | None = None, hi: float | None = None, *, above: bool = False) -> Callable:
    def conv(v: object, where: str) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise InputError(f"{where}: expected a number, got {v!r}; write e.g. 1.5")
        x = float(v)
        if (lo is not None and (x <= lo if above else x < lo)) or (hi is not None and x > hi):
            rng = f"{'>' if above else '>='} {lo}" + (f" and <= {hi}" if hi is not None else "")
            raise InputError(f"{where}: {x} is out of range; expected a number {rng}")
        return x

    return conv


def _int(lo: int) -> Callable:
    def conv(v: object, where: str) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise InputError(f"{where}: expected an integer >= {lo}, got {v!r}")
        return v

    return conv


def _str(choices: tuple[str, ...] | None = None) -> Callable:
    def conv(v: object, where: str) -> str:
        if not isinstance(v, str) or not v:
            raise InputError(f"{where}: expected a non-empty string, got {v!r}")
        if choices is not None and v not in choices:
            raise InputError(f"{where}: {v!r} is not one of {', '.join(choices)}")
        return v

    return conv


def _times(v: object, where: str) -> tuple[TimeRef, ...]:
    if not isinstance(v, list):
        raise InputError(f"{where}: expected a list of times like ['+36h'], got {v!r}")
    return tuple(parse_time(x, where) for x in v)


def _gaps(v: object, where: str) -> tuple[tuple[TimeRef, TimeRef], ...]:
    if not isinstance(v, list) or not all(isinstance(g, list) and len(g) == 2 for g in v):
        raise InputError(f"{where}: expected a list of [start, end] pairs like [['+10h', '+12h']]")
    return tuple((parse_time(a, where), parse_time(b, where)) for a, b in v)


def _workload(v: object, where: str) -> str:
    s = _str()(v, where)
    if not _WORKLOAD.match(s) or len(s) > 40:
        raise InputError(f"{where}: {s!r} is not a DNS label (lowercase letters, digits, '-')")
    return s


# file key -> (section, field name, converter); section picks the dataclass it fills.
_DEPLOYMENT_KEYS: dict[str, tuple[str, str, Callable]] = {
    "namespace": ("deployment", "namespace", _workload),
    "workload": ("deployment", "workload", _workload),
    "node": ("deployment", "node", _str()),
    "gpu": ("deployment", "gpu", _str()),
    "gpu_model_name": ("deployment", "gpu_model_name", _str()),
    "gpu_count": ("deployment", "gpu_count", _int(1)),
    "container": ("deployment", "container", _str()),
    "served_model_name": ("deployment", "served_model_name", _str()),
    "model": ("deployment", "model", _str()),
    "engine": ("deployment", "engine", _str(("vllm", "none"))),
    "vllm_version": ("deployment", "vllm_version", _str()),
    "gpu_memory_mib": ("deployment", "gpu_memory_mib", _num(0, above=True)),
    "memory_utilization": ("deployment", "memory_utilization", _num(0, 1)),
    "restarts": ("deployment", "restarts", _times),
    "restart_downtime_s": ("deployment", "restart_downtime_s", _num(0, above=True)),
    "energy_counter_resets": ("deployment", "energy_counter_resets", _times),
    "gaps": ("deployment", "gaps", _gaps),
    "idle_watts_per_gpu": ("power", "idle_watts_per_gpu", _num(0, above=True)),
    "peak_watts_per_gpu": ("power", "peak_watts_per_gpu", _num(0, above=True)),
    "k": ("power", "k", _num(0, above=True)),
    "x0": ("power", "x0", _num()),
    "power_noise": ("power", "noise", _num(0, 0.5)),
    "gpu_spread": ("power", "gpu_spread", _num(0, 0.3)),
    "pattern": ("traffic", "pattern", _str(PATTERNS)),
    "mean_tokens_per_s": ("traffic", "mean_tokens_per_s", _num(0)),
    "prompt_fraction": ("traffic", "prompt_fraction", _num(0, 0.999)),
    "diurnal_amplitude": ("traffic", "diurnal_amplitude", _num(0, 1)),
    "diurnal_peak_hour_utc": ("traffic", "diurnal_peak_hour_utc", _num(0, 24)),
    "traffic_noise": ("traffic", "noise", _num(0, 1)),
    "burst_period_s": ("traffic", "burst_period_s", _num(0, above=True)),
    "burst_duty": ("traffic", "burst_duty", _num(0, 1, above=True)),
    "output_tokens_per_request": ("traffic", "output_tokens_per_request", _num(0, above=True)),
    "decode_tokens_per_s": ("traffic", "decode_tokens_per_s", _num(0, above=True)),
    "ttft_s": ("traffic", "ttft_s", _num(0, above=True)),
    "max_num_seqs": ("traffic", "max_num_seqs", _int(1)),
}
_REQUIRED = ("namespace", "workload", "node", "gpu", "gpu_model_name", "gpu_count")
_REQUIRED += ("idle_watts_per_gpu", "peak_watts_per_gpu")
_NODE_KEYS: dict[str, Callable] = {
    "name": _str(),
    "hostname_label": _str(("Hostname", "hostname")),
    "driver_version": _str(),
    "spare_gpus": _int(0),
    "spare_idle_watts": _num(0, above=True),
}
_TOP_KEYS = ("name", "seed", "tick_s", "duration", "description", "deployment", "node")


def _unknown(key: str, known: Mapping[str, Any] | tuple[str, ...], where: str) -> InputError:
    return InputError(f"{where}: unknown key {key!r}; known keys: {', '.join(sorted(known))}")


def _deployment(raw: Mapping[str, Any], where: str) -> Deployment:
    parts: dict[str, dict[str, Any]] = {"deployment": {}, "power": {}, "traffic": {}}
    expect: list[tuple[str, Any]] = []
    for key, value in raw.items():
        if key.startswith("expect_") and len(key) > 7:
            expect.append((key[7:], value))
            continue
        if key not in _DEPLOYMENT_KEYS:
            raise _unknown(key, _DEPLOYMENT_KEYS, where)
        section, name, conv = _DEPLOYMENT_KEYS[key]
        parts[section][name] = conv(value, f"{where} key {key!r}")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise InputError(f"{where}: missing required key(s) {', '.join(missing)}")
    power = PowerModel(**parts["power"])
    if power.peak_watts_per_gpu < power.idle_watts_per_gpu:
        raise InputError(f"{where}: peak_watts_per_gpu is below idle_watts_per_gpu; swap them")
    traffic = Traffic(**parts["traffic"])
    d = Deployment(power=power, traffic=traffic, expect=tuple(expect), **parts["deployment"])
    if d.engine == "vllm" and d.served_model_name is None:
        raise InputError(f"{where}: engine 'vllm' needs served_model_name (the model_name label)")
    return d


def scenario_from_dict(raw: Mapping[str, Any], source: str = "<dict>") -> Scenario:
    """Validate a parsed scenario mapping (as from TOML) into a `Scenario`."""
    for key in raw:
        if key not in _TOP_KEYS:
            raise _unknown(key, _TOP_KEYS, f"scenario {source}")
    if "name" not in raw or not raw.get("deployment"):
        raise InputError(f"scenario {source}: needs 'name' and at least one [[deployment]] table")
    deployments = tuple(
        _deployment(d, f"scenario {source} deployment[{i}]")
        for i, d in enumerate(raw["deployment"])
    )
    seen: set[str] = set()
    for d in deployments:
        if d.key in seen:
            raise InputError(f"scenario {source}: deployment {d.key!r} appears twice")
        seen.add(d.key)
    nodes: dict[str, Node] = {}
    for i, n in enumerate(raw.get("node", [])):
        where = f"scenario {source} node[{i}]"
        for key in n:
            if key not in _NODE_KEYS:
                raise _unknown(key, _NODE_KEYS, where)
        if "name" not in n:
            raise InputError(f"{where}: missing required key name")
        node = Node(**{k: _NODE_KEYS[k](v, f"{where} key {k!r}") for k, v in n.items()})
        nodes[node.name] = node
    for d in deployments:
        nodes.setdefault(d.node, Node(name=d.node))
    where = f"scenario {source}"
    return Scenario(
        name=_str()(raw["name"], f"{where} key 'name'"),
        deployments=deployments,
        nodes=tuple(nodes.values()),
        seed=_int(0)(raw.get("seed", 42), f"{where} key 'seed'"),
        tick_s=_num(0, above=True)(raw.get("tick_s", 5.0), f"{where} key 'tick_s'"),
        duration_s=parse_duration_s(raw.get("duration", "1d"), f"{where} key 'duration'"),
        description=str(raw.get("description", "")),
    )


def load_scenario(path: str | Path) -> Scenario:
    """Load a scenario TOML file, or a bundled scenario by name (`"nrp"`, `"test-events"`)."""
    p = Path(path)
    if not p.suffix and not p.exists():
        ref = resources.files("wattlens.emulator") / "scenarios" / f"{p.name}.toml"
        if not ref.is_file():
            raise InputError(
                f"scenario {str(path)!r} is neither a file nor a bundled scenario; "
                f"bundled: {', '.join(bundled_scenarios())}"
            )
        text, source = ref.read_text(encoding="utf-8"), f"{p.name}.toml (bundled)"
    else:
        try:
            text, source = p.read_text(encoding="utf-8"), str(p)
        except OSError as e:
            raise InputError(
                f"scenario file {str(p)!r} cannot be read ({e}); check the path"
            ) from e
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"scenario file {source}: invalid TOML ({e}); fix the syntax") from e
    return scenario_from_dict(raw, source)


def bundled_scenarios() -> list[str]:
    """Names of the scenarios shipped in the package."""
    folder = resources.files("wattlens.emulator") / "scenarios"
    return sorted(f.name[:-5] for f in folder.iterdir() if f.name.endswith(".toml"))


def with_deployments(scenario: Scenario, deployments: tuple[Deployment, ...]) -> Scenario:
    """A copy of `scenario` with other deployments (nodes completed)."""
    nodes = {n.name: n for n in scenario.nodes}
    for d in deployments:
        nodes.setdefault(d.node, Node(name=d.node))
    return replace(scenario, deployments=deployments, nodes=tuple(nodes.values()))


DEPLOYMENT_FILE_KEYS: tuple[str, ...] = tuple(_DEPLOYMENT_KEYS)

__all__ = [
    "DEPLOYMENT_FILE_KEYS",
    "PATTERNS",
    "Deployment",
    "Engine",
    "Node",
    "Pattern",
    "PowerModel",
    "Scenario",
    "TimeRef",
    "Traffic",
    "bundled_scenarios",
    "load_scenario",
    "parse_duration_s",
    "parse_time",
    "scenario_from_dict",
    "with_deployments",
]
