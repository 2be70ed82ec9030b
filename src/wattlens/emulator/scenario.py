"""Emulator scenarios: typed dataclasses and a strict TOML loader.

A scenario file has top-level `name`, `seed`, `tick_s`, `duration`, optional `[[node]]` tables and
one `[[deployment]]` table per deployment (flat keys, see `_DEPLOYMENT_KEYS`). Times of events are
ISO 8601 (`"2026-04-01T12:00:00Z"`) or offsets from the scenario start (`"+36h"`, `"+90m"`).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from wattlens.core import validate as v
from wattlens.core.durations import duration_form, parse_duration, parse_iso_time
from wattlens.core.errors import InputError
from wattlens.physics.stepmodel import PARAM_NAMES

Pattern = Literal["diurnal", "constant", "idle", "bursty"]
Engine = Literal["vllm", "none"]
PATTERNS: tuple[str, ...] = ("diurnal", "constant", "idle", "bursty")
_WORKLOAD = re.compile(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?")  # a DNS label, at most 40
_TIME_FORM = (
    "use an offset from the start like '+36h' (a duration: s, m, h, d, w) or an ISO 8601 time "
    "with a zone like '2026-04-01T12:00:00Z'"
)


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
    curve: Literal["logistic", "step"] = "logistic"  # "step": physics.stepmodel
    dtype: str | None = None  # step: weight dtype (default: the model's)
    step_params: tuple[tuple[str, float], ...] = ()


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


def _time(value: Any, env: bool) -> TimeRef:
    """Parser (core.validate style): "+36h"-style offset, ISO 8601 with a zone, or seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return TimeRef(offset_s=float(value))
    if isinstance(value, datetime) and value.tzinfo is not None:
        return TimeRef(epoch_s=value.timestamp())
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("+"):
            try:
                return TimeRef(offset_s=parse_duration(text[1:]))
            except InputError:
                pass
        else:
            epoch_s = parse_iso_time(text, naive_utc=False)
            if epoch_s is not None:
                return TimeRef(epoch_s=epoch_s)
    raise v.bad("a time", _TIME_FORM)


def _duration(value: Any, env: bool) -> float:
    """Parser: a positive duration ("3d", "+36h", "1h30m") or seconds."""
    text = value[1:] if isinstance(value, str) and value.startswith("+") else value
    if isinstance(text, str | int | float):
        try:
            seconds = parse_duration(text)
        except InputError:
            pass
        else:
            if seconds:
                return seconds
    raise v.bad("a positive duration", f"{duration_form()}, e.g. '1d' or '6h'")


def parse_time(value: object, where: str) -> TimeRef:
    """`"+36h"`-style offset or ISO 8601 time (or a number of offset seconds) -> `TimeRef`."""
    return v.check(_time, value, where)


def parse_duration_s(value: object, where: str) -> float:
    """`"3d"`, `"+36h"` or seconds -> seconds."""
    return v.check(_duration, value, where)


# --- loader -------------------------------------------------------------------------------------


def _num(lo: float, example: str, hi: float = math.inf, *, above: bool = False) -> v.Parser:
    return v.number(lo, example, hi=hi, above=above)


def _positive(example: str) -> v.Parser:
    return v.number(0, example, above=True)


def _pair(value: Any, env: bool) -> tuple[TimeRef, TimeRef]:
    if not isinstance(value, list) or len(value) != 2:
        raise v.bad("a [start, end] pair", "use e.g. ['+10h', '+12h']")
    start, end = v.list_of(_time, "times", "['+10h', '+12h']")(value, env)
    return start, end


_TIMES = v.list_of(_time, "times", "['+36h']")
_GAPS = v.list_of(_pair, "[start, end] pairs", "[['+10h', '+12h']]")
_WORKLOAD_NAME = v.string(
    _WORKLOAD, "a DNS label", "use lowercase letters, digits and '-', at most 40", required=True
)


# file key -> (section, field name, converter); section picks the dataclass it fills.
_DEPLOYMENT_KEYS: dict[str, tuple[str, str, v.Parser]] = {
    "namespace": ("deployment", "namespace", _WORKLOAD_NAME),
    "workload": ("deployment", "workload", _WORKLOAD_NAME),
    "node": ("deployment", "node", v.text("gpu-node-1")),
    "gpu": ("deployment", "gpu", v.text("A6000")),
    "gpu_model_name": ("deployment", "gpu_model_name", v.text("NVIDIA RTX A6000")),
    "gpu_count": ("deployment", "gpu_count", v.integer(1, None, "8")),
    "container": ("deployment", "container", v.text("vllm")),
    "served_model_name": ("deployment", "served_model_name", v.text("gpt-oss-120b")),
    "model": ("deployment", "model", v.text("llama-3.1-70b")),
    "engine": ("deployment", "engine", v.choice("vllm", "none")),
    "vllm_version": ("deployment", "vllm_version", v.text("0.13.0")),
    "gpu_memory_mib": ("deployment", "gpu_memory_mib", _positive("81920")),
    "memory_utilization": ("deployment", "memory_utilization", _num(0, "0.9", 1)),
    "restarts": ("deployment", "restarts", _TIMES),
    "restart_downtime_s": ("deployment", "restart_downtime_s", _positive("60")),
    "energy_counter_resets": ("deployment", "energy_counter_resets", _TIMES),
    "gaps": ("deployment", "gaps", _GAPS),
    "idle_watts_per_gpu": ("power", "idle_watts_per_gpu", _positive("60")),
    "peak_watts_per_gpu": ("power", "peak_watts_per_gpu", _positive("300")),
    "k": ("power", "k", _positive("2.0")),
    "x0": ("power", "x0", _num(-math.inf, "2.0")),
    "power_noise": ("power", "noise", _num(0, "0.02", 0.5)),
    "gpu_spread": ("power", "gpu_spread", _num(0, "0.03", 0.3)),
    "power_curve": ("power", "curve", v.choice("logistic", "step")),
    "dtype": ("power", "dtype", v.text("bf16")),
    "pattern": ("traffic", "pattern", v.choice(*PATTERNS)),
    "mean_tokens_per_s": ("traffic", "mean_tokens_per_s", _num(0, "500")),
    "prompt_fraction": ("traffic", "prompt_fraction", _num(0, "0.8", 0.999)),
    "diurnal_amplitude": ("traffic", "diurnal_amplitude", _num(0, "0.5", 1)),
    "diurnal_peak_hour_utc": ("traffic", "diurnal_peak_hour_utc", _num(0, "20", 24)),
    "traffic_noise": ("traffic", "noise", _num(0, "0.1", 1)),
    "burst_period_s": ("traffic", "burst_period_s", _positive("600")),
    "burst_duty": ("traffic", "burst_duty", _num(0, "0.25", 1, above=True)),
    "output_tokens_per_request": ("traffic", "output_tokens_per_request", _positive("256")),
    "decode_tokens_per_s": ("traffic", "decode_tokens_per_s", _positive("60")),
    "ttft_s": ("traffic", "ttft_s", _positive("0.3")),
    "max_num_seqs": ("traffic", "max_num_seqs", v.integer(1, None, "256")),
}
_REQUIRED: tuple[str, ...] = ("namespace", "workload", "node", "gpu", "gpu_model_name")
_REQUIRED += ("gpu_count", "idle_watts_per_gpu", "peak_watts_per_gpu")
_NODE_KEYS: dict[str, v.Parser] = {
    "name": v.text("gpu-node-1"),
    "hostname_label": v.choice("Hostname", "hostname"),
    "driver_version": v.text("580.105.08"),
    "spare_gpus": v.integer(0, None, "2"),
    "spare_idle_watts": _positive("60"),
}
_TOP_KEYS = ("name", "seed", "tick_s", "duration", "description", "deployment", "node")


def _unknown(key: str, known: Mapping[str, Any] | tuple[str, ...], where: str) -> InputError:
    return InputError(v.unknown_key(where, key, known))


def _deployment(raw: Mapping[str, Any], where: str) -> Deployment:
    parts: dict[str, dict[str, Any]] = {"deployment": {}, "power": {}, "traffic": {}}
    expect: list[tuple[str, Any]] = []
    step: list[tuple[str, float]] = []
    for key, value in raw.items():
        if key.startswith("expect_") and len(key) > 7:
            expect.append((key[7:], value))
            continue
        if key.startswith("step_") and key[5:] in PARAM_NAMES:
            step.append((key[5:], v.check(_num(0, "0.5"), value, f"{where}.{key}")))
            continue
        if key not in _DEPLOYMENT_KEYS:
            raise _unknown(key, _DEPLOYMENT_KEYS, where)
        section, name, conv = _DEPLOYMENT_KEYS[key]
        parts[section][name] = v.check(conv, value, f"{where}.{key}")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise InputError(v.missing_keys(where, missing))
    power = PowerModel(**parts["power"], step_params=tuple(step))
    if power.peak_watts_per_gpu < power.idle_watts_per_gpu:
        raise InputError(f"{where}: peak_watts_per_gpu is below idle_watts_per_gpu; swap them")
    traffic = Traffic(**parts["traffic"])
    d = Deployment(power=power, traffic=traffic, expect=tuple(expect), **parts["deployment"])
    if d.engine == "vllm" and d.served_model_name is None:
        raise InputError(f"{where}: engine 'vllm' needs served_model_name (the model_name label)")
    if power.curve == "step" and d.model is None:
        raise InputError(f"{where}: power_curve 'step' needs model (a catalog id)", field="model")
    return d


def scenario_from_dict(raw: Mapping[str, Any], source: str = "<dict>") -> Scenario:
    """Validate a parsed scenario mapping (as from TOML) into a `Scenario`."""
    for key in raw:
        if key not in _TOP_KEYS:
            raise _unknown(key, _TOP_KEYS, f"scenario {source}")
    if "name" not in raw or not raw.get("deployment"):
        raise InputError(f"scenario {source}: needs 'name' and at least one [[deployment]] table")
    deployments = tuple(
        _deployment(d, f"scenario {source}: deployment[{i}]")
        for i, d in enumerate(raw["deployment"])
    )
    seen: set[str] = set()
    for d in deployments:
        if d.key in seen:
            raise InputError(f"scenario {source}: deployment {d.key!r} appears twice")
        seen.add(d.key)
    nodes: dict[str, Node] = {}
    for i, n in enumerate(raw.get("node", [])):
        where = f"scenario {source}: node[{i}]"
        for key in n:
            if key not in _NODE_KEYS:
                raise _unknown(key, _NODE_KEYS, where)
        if "name" not in n:
            raise InputError(v.missing_keys(where, ["name"]))
        node = Node(**{k: v.check(_NODE_KEYS[k], x, f"{where}.{k}") for k, x in n.items()})
        nodes[node.name] = node
    for d in deployments:
        nodes.setdefault(d.node, Node(name=d.node))
    where = f"scenario {source}:"
    return Scenario(
        name=v.check(v.text("nrp"), raw["name"], f"{where} name"),
        deployments=deployments,
        nodes=tuple(nodes.values()),
        seed=v.check(v.integer(0, None, "42"), raw.get("seed", 42), f"{where} seed"),
        tick_s=v.check(_positive("5"), raw.get("tick_s", 5.0), f"{where} tick_s"),
        duration_s=parse_duration_s(raw.get("duration", "1d"), f"{where} duration"),
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
    "DEPLOYMENT_FILE_KEYS", "PATTERNS", "Deployment", "Engine", "Node", "Pattern", "PowerModel",
    "Scenario", "TimeRef", "Traffic", "bundled_scenarios", "load_scenario", "parse_duration_s",
    "parse_time", "scenario_from_dict", "with_deployments",
]  # fmt: skip
