"""Scenario TOML loading: strict keys, clear errors, bundled files, pod naming."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wattlens.core.errors import InputError
from wattlens.emulator import (
    FleetModel,
    bundled_scenarios,
    load_scenario,
    scenario_from_dict,
    synthetic_scenario,
)
from wattlens.emulator.scenario import parse_time
from wattlens.telemetry.labels import workload_of_pod

from .conftest import START_S

MINIMAL = """
name = "mini"
[[deployment]]
namespace = "llm"
workload = "tiny"
served_model_name = "tiny-model"
gpu = "A6000"
gpu_model_name = "NVIDIA RTX A6000"
gpu_count = 1
node = "n1.example.edu"
idle_watts_per_gpu = 70.0
peak_watts_per_gpu = 300.0
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


def test_bundled_scenarios_load() -> None:
    assert {"nrp", "test-events", "test-oversized"} <= set(bundled_scenarios())
    for name in bundled_scenarios():
        scenario = load_scenario(name)
        assert scenario.name == name
        assert scenario.deployments


def test_minimal_file_gets_defaults(tmp_path: Path) -> None:
    s = load_scenario(write(tmp_path, MINIMAL))
    d = s.deployments[0]
    assert (s.seed, s.tick_s, s.duration_s) == (42, 5.0, 86400.0)
    assert d.key == "llm/tiny"
    assert d.container == "vllm" and d.engine == "vllm"
    assert d.traffic.pattern == "diurnal"
    assert [n.name for n in s.nodes] == ["n1.example.edu"]


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "idle_wats = 3\n")
    with pytest.raises(InputError) as e:
        load_scenario(path)
    msg = str(e.value)
    assert str(path) in msg and "'idle_wats'" in msg and "deployment[0]" in msg
    assert "idle_watts_per_gpu" in msg  # lists the known keys


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ('pattern = "wavy"', "deployment[0].pattern='wavy' is not one of 'diurnal'"),
        ("max_num_seqs = 0", "deployment[0].max_num_seqs=0 is not a whole number from 1 up"),
        ('prompt_fraction = "most"', "deployment[0].prompt_fraction='most' is not a number"),
        ("diurnal_amplitude = 1.5", "deployment[0].diurnal_amplitude=1.5 is not a number"),
        ('restarts = ["tomorrow"]', "deployment[0].restarts[0]='tomorrow' is not a time; use"),
        ('gaps = [["+1h"]]', "deployment[0].gaps[0]=['+1h'] is not a [start, end] pair"),
        ('engine = "sglang"', "deployment[0].engine='sglang' is not one of 'vllm', 'none'"),
    ],
)
def test_bad_values_are_named(tmp_path: Path, extra: str, needle: str) -> None:
    with pytest.raises(InputError, match=re.escape(needle)):
        load_scenario(write(tmp_path, MINIMAL + extra + "\n"))


def test_structural_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="invalid TOML"):
        load_scenario(write(tmp_path, "name = \n"))
    with pytest.raises(InputError, match=r"deployment\[0\] has no 'gpu_count'; add it"):
        load_scenario(write(tmp_path, MINIMAL.replace("gpu_count = 1\n", "")))
    with pytest.raises(InputError, match="appears twice"):
        load_scenario(write(tmp_path, MINIMAL + MINIMAL.split("\n", 2)[2]))
    with pytest.raises(InputError, match="below idle"):
        load_scenario(write(tmp_path, MINIMAL.replace("300.0", "10.0")))
    with pytest.raises(InputError, match="bundled"):
        load_scenario("no-such-scenario")
    with pytest.raises(InputError, match="has no key 'colour'"):
        scenario_from_dict({"name": "x", "colour": 1, "deployment": [{}]})


def test_times_offsets_and_iso() -> None:
    assert parse_time("+36h", "t").resolve(START_S) == START_S + 36 * 3600
    assert parse_time("+90m", "t").resolve(START_S) == START_S + 5400
    assert parse_time("+2d", "t").resolve(0.0) == 172800.0
    assert parse_time("2026-04-01T12:00:00Z", "t").resolve(0.0) == START_S + 43200
    with pytest.raises(InputError, match="t='2026-04-01T12:00:00' is not a time; use an offset"):
        parse_time("2026-04-01T12:00:00", "t")  # no zone: ambiguous


def test_pod_names_follow_k8s_shape_and_strip_to_workload(events_model: FleetModel) -> None:
    safe = "[bcdfghjklmnpqrstvwxz2456789]"
    for di, d in enumerate(events_model.scenario.deployments):
        names = {events_model.pod_name(di, g) for g in range(3)}
        assert len(names) == 3  # a restart gives a new pod name
        for pod in names:
            assert re.fullmatch(rf"{re.escape(d.workload)}-{safe}{{10}}-{safe}{{5}}", pod)
            assert workload_of_pod(pod) == d.workload


def test_expectations_are_read() -> None:
    s = load_scenario("test-oversized")
    over = s.deployment("llm/llama-70b-oversized")
    assert over.gpu_count == 8
    assert over.expectation("right_size_gpus") == 2
    assert over.expectation("status") == "oversized"
    statuses = {d.expectation("status") for d in s.deployments}
    assert statuses == {"oversized", "healthy", "idle"}


def test_synthetic_scenario_sizes() -> None:
    s = synthetic_scenario(125, 8)
    assert sum(d.gpu_count for d in s.deployments) == 1000
    assert len(s.nodes) == 125
    assert {n.hostname_label for n in s.nodes} == {"Hostname", "hostname"}
