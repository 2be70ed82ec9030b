"""History files: promtool accepts them; labels, gaps and counters are as Prometheus stores them."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from wattlens.emulator import (
    Scenario,
    truth,
    write_openmetrics_history,
    write_prometheus_import,
)
from wattlens.telemetry.labels import workload_of_pod

from .conftest import START_S

SERIES = re.compile(r"^(?P<name>[^{ ]+)(?P<labels>\{.*\})? (?P<value>\S+) (?P<ts>\S+)$")


def parse_lines(text: str) -> list[tuple[str, dict[str, str], float, float]]:
    """Minimal independent parser for `name{labels} value timestamp` lines."""
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = SERIES.match(line)
        assert m, line
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group("labels") or ""))
        out.append((m.group("name"), labels, float(m.group("value")), float(m.group("ts"))))
    return out


def test_promtool_creates_blocks(events: Scenario, tmp_path: Path) -> None:
    path = tmp_path / "history.om"
    calls: list[tuple[int, float]] = []
    # 2.5 h around the restart of llm/llama-70b at +6 h, 60 s scrapes.
    n = write_openmetrics_history(
        events, path, start_s=START_S + 5 * 3600, end_s=START_S + 7.5 * 3600, step_s=60,
        start_of_scenario_s=START_S, progress=lambda done, frac: calls.append((done, frac)),
    )  # fmt: skip
    assert calls[-1] == (n, 1.0)
    assert [p.name for p in tmp_path.iterdir()] == ["history.om"]  # no temp file left
    text = path.read_text()
    assert text.endswith("# EOF\n")
    assert "# TYPE vllm:prompt_tokens counter" in text  # OpenMetrics family name, no _total
    assert "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION unknown" in text
    promtool = shutil.which("promtool")
    assert promtool, "promtool must be installed (Debian package prometheus)"
    out = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(path), str(tmp_path / "db")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()[1:] if line.strip()]
    assert sum(int(r[-4]) for r in rows) == n  # NUM SAMPLES column
    assert n == len(parse_lines(text))


def test_families_are_contiguous(events: Scenario) -> None:
    buf = io.StringIO()
    write_openmetrics_history(events, buf, start_s=START_S, end_s=START_S + 600, step_s=60)
    seen: list[str] = []
    for line in buf.getvalue().splitlines():
        if line.startswith("# TYPE "):
            family = line.split()[2]
            assert family not in seen
            seen.append(family)
    assert seen[0].startswith("DCGM_FI_DEV_") and "vllm:inter_token_latency_seconds" in seen


def test_target_labels_and_exported_renaming(events: Scenario) -> None:
    buf = io.StringIO()
    write_openmetrics_history(events, buf, start_s=START_S, end_s=START_S + 60, step_s=60)
    samples = parse_lines(buf.getvalue())
    power = [labels for name, labels, _, _ in samples if name == "DCGM_FI_DEV_POWER_USAGE"]
    assert {x["job"] for x in power} == {"dcgm-exporter"}
    assert {x["namespace"] for x in power} == {"gpu-operator"}  # the exporter pod's own
    owned = [x for x in power if "exported_pod" in x]
    assert {x["exported_namespace"] for x in owned} == {"llm", "research", "training"}
    assert all(x["pod"].startswith("nvidia-dcgm-exporter-") for x in power)
    spare = {x["UUID"] for x in power if "exported_pod" not in x}
    assert len(spare) == 2  # unallocated GPUs: nothing to rename
    tokens = [x for name, x, _, _ in samples if name == "vllm:prompt_tokens_total"]
    assert {x["job"] for x in tokens} == {"vllm"}
    assert {(x["namespace"], x["container"]) for x in tokens} == {
        ("llm", "vllm"), ("research", "server"),
    }  # fmt: skip
    assert {workload_of_pod(x["pod"]) for x in tokens} == {"llama-70b", "qwen-32b", "mistral-7b"}
    assert all(x["instance"].endswith(":8000") for x in tokens)


def test_gap_is_skipped_and_counters_match_truth(events: Scenario) -> None:
    a, b = START_S + 9 * 3600, START_S + 13 * 3600
    buf = io.StringIO()
    write_openmetrics_history(
        events, buf, start_s=a, end_s=b, step_s=30, start_of_scenario_s=START_S
    )
    samples = parse_lines(buf.getvalue())
    gap = (START_S + 10 * 3600, START_S + 12 * 3600)
    energy: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for name, labels, value, ts in samples:
        on_b = labels.get("hostname") == "node-b.ucsd.edu" or labels.get("namespace") == "research"
        if on_b:
            assert not gap[0] <= ts < gap[1], (name, ts)
        if name == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION" and "exported_pod" in labels:
            key = f"{labels['exported_namespace']}/{labels['exported_pod'].rsplit('-', 2)[0]}"
            energy[key + "|" + labels["UUID"]].append((ts, value))
    got = truth(events, a, b, start_of_scenario_s=START_S)
    # research/mistral-7b: one GPU, counter read straight across the gap.
    (series,) = [v for k, v in energy.items() if k.startswith("research/mistral-7b|")]
    ts, values = np.array(series).T
    assert ts[0] == a and ts[-1] == b
    increase_j = (values[-1] - values[0]) / 1000.0
    assert increase_j == pytest.approx(got["research/mistral-7b"].energy_joules, abs=1e-3)


def test_prometheus_import_has_millisecond_timestamps(events: Scenario) -> None:
    buf = io.StringIO()
    n = write_prometheus_import(events, buf, start_s=START_S, end_s=START_S + 120, step_s=60)
    text = buf.getvalue()
    assert "# EOF" not in text and "# TYPE" not in text
    parsed = [s for fam in text_string_to_metric_families(text) for s in fam.samples]
    assert len(parsed) == n
    assert {s.timestamp for s in parsed} == {START_S, START_S + 60, START_S + 120}
    assert {line.rsplit(" ", 1)[1] for line in text.splitlines()} == {
        str(int(t * 1000)) for t in (START_S, START_S + 60, START_S + 120)
    }
