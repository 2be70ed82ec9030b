"""The generated PromQL resolves labels, workloads and grid regions as the Python code does.

Planted series (exporter label styles, an unallocated GPU, energy counter vs power gauge, a
node no rule matches) are loaded into a real Prometheus (promtool backfill) and a real
VictoriaMetrics (import); both evaluate the generated expressions unchanged. Expected
deployments and regions come from `telemetry.labels` and `catalog.grid` (the Python
definitions), expected watts and tokens/s from the planted slopes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from servers import Server, start_prometheus, start_victoria_metrics
from wattlens.catalog import grid
from wattlens.derive.carbon import CarbonModel
from wattlens.integrations.rules import (
    FORMULAS,
    NODE_REGION,
    RuleOptions,
    metric_expr,
    rate_inputs,
    recording_rules,
)
from wattlens.telemetry.labels import canonical, workload_of_pod

pytestmark = pytest.mark.integration
EXPORTER = {"namespace": "gpu-operator", "pod": "nvidia-dcgm-exporter-x2k4p",
            "container": "nvidia-dcgm-exporter", "job": "dcgm"}  # fmt: skip
# (labels, metric, slope or level): counters rise by `value` per second, gauges hold `value`.
GPUS: list[tuple[dict[str, str], str, float]] = [
    ({**EXPORTER, "exported_namespace": "llm", "exported_pod": "llama-70b-7d9c8b6f4-x2k4p",
      "exported_container": "vllm", "Hostname": "node-a.sdsc.edu", "gpu": "0", "UUID": "GPU-a0"},
     "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 300_000.0),  # mJ/s: 300 W
    ({**EXPORTER, "exported_namespace": "llm", "exported_pod": "llama-70b-7d9c8b6f4-x2k4p",
      "exported_container": "vllm", "Hostname": "node-a.sdsc.edu", "gpu": "1", "UUID": "GPU-a1"},
     "DCGM_FI_DEV_POWER_USAGE", 200.0),  # no energy counter on this one: the gauge
    ({**EXPORTER, "Hostname": "node-a.sdsc.edu", "gpu": "2", "UUID": "GPU-a2"},
     "DCGM_FI_DEV_POWER_USAGE", 55.0),  # unallocated: only the exporter's own pod labels
    ({"namespace": "sci", "pod": "olmo-0", "container": "olmo", "hostname": "k8s-gpu-01.unl.edu",
      "gpu": "0", "UUID": "GPU-b0", "job": "dcgm"}, "DCGM_FI_DEV_POWER_USAGE", 100.0),
    ({"namespace": "train", "pod": "finetune-x2k4p", "container": "t",
      "Hostname": "gpu-x.example.org", "gpu": "0", "UUID": "GPU-c0", "job": "dcgm"},
     "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 400_000.0),
]  # fmt: skip
ENGINE = {"namespace": "llm", "pod": "llama-70b-7d9c8b6f4-x2k4p", "container": "vllm",
          "job": "vllm", "model_name": "llama"}  # fmt: skip
TOKENS = [("vllm:prompt_tokens_total", 100.0), ("vllm:generation_tokens_total", 20.0)]
STEP_S, SPAN_S = 15, 1800


def _series() -> list[tuple[str, dict[str, str], float]]:
    return [(m, labels, v) for labels, m, v in GPUS] + [(m, ENGINE, v) for m, v in TOKENS]


def _openmetrics(end_s: int) -> str:
    lines = []
    for name, labels, value in _series():
        text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        counter = name.endswith("_total") or "ENERGY" in name
        for t in range(end_s - SPAN_S, end_s + 1, STEP_S):
            v = value * (t - end_s + SPAN_S) + 1e6 if counter else value
            lines.append(f"{name}{{{text}}} {v} {t}")
    return "\n".join(lines) + "\n# EOF\n"


def _expected(carbon: CarbonModel) -> dict[str, dict[str, Any]]:
    """Per deployment: watts (planted), and node/region as the Python code resolves them."""
    out: dict[str, dict[str, Any]] = {}
    for labels, name, value in GPUS:
        c = canonical(labels)
        if "exported_pod" not in labels and "dcgm-exporter" in (c.pod or ""):
            continue  # the Python reader's unallocated GPU (derive.resolve)
        dep = f"{c.namespace}/{workload_of_pod(c.pod or '')}"
        watts = value / 1000.0 if "ENERGY" in name else value
        region, rule = grid.resolve_region(c.host, c.namespace, carbon.rules, carbon.default_region)
        row = out.setdefault(dep, {"watts": 0.0, "node": c.host, "region": region,
                                   "source": "default" if rule is None else "rule"})  # fmt: skip
        row["watts"] += watts
    return out


@pytest.fixture(scope="module", params=["prometheus", "victoria-metrics"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[Server, float]]:  # fmt: skip
    root = tmp_path_factory.mktemp(request.param)
    end_s = math.floor(time.time() / 60) * 60 - 3 * 3600  # older than Prometheus's head block
    path = root / "planted.om"
    path.write_text(_openmetrics(end_s))
    if request.param == "prometheus":
        server = start_prometheus(root, backfill_openmetrics=path)
    else:
        server = start_victoria_metrics(root, import_openmetrics=path)
    with server:
        yield server, float(end_s - 60)


def _query(server: Server, expr: str, at_s: float) -> list[dict[str, Any]]:
    r = httpx.post(f"{server.url}/api/v1/query", data={"query": expr, "time": at_s}, timeout=30)
    assert r.status_code == 200, r.text
    return list(r.json()["data"]["result"])


OPTS = RuleOptions(carbon=CarbonModel(pue=1.5), rate_window="2m")


def test_power_per_deployment_and_unallocated_gpu(backend: tuple[Server, float]) -> None:
    server, at_s = backend
    want = _expected(OPTS.carbon)
    got = {r["metric"]["deployment"]: float(r["value"][1])
           for r in _query(server, metric_expr("power_watts", OPTS), at_s)}  # fmt: skip
    assert set(got) == set(want) == {"llm/llama-70b", "sci/olmo", "train/finetune"}
    for dep, row in want.items():
        assert got[dep] == pytest.approx(row["watts"], rel=1e-6), dep


def test_node_regions_match_the_python_rules_and_show_unmatched(
    backend: tuple[Server, float],
) -> None:
    server, at_s = backend
    expr = next(r["expr"] for r in recording_rules(OPTS) if r.get("record") == NODE_REGION)
    got = {r["metric"]["node"]: (r["metric"]["region"], r["metric"]["region_source"])
           for r in _query(server, expr, at_s)}  # fmt: skip
    want = {row["node"]: (row["region"], row["source"]) for row in _expected(OPTS.carbon).values()}
    assert got == want
    assert got["gpu-x.example.org"] == ("CAMX", "default")  # unmatched: shown as such


def test_tokens_joules_per_token_and_co2(backend: tuple[Server, float]) -> None:
    server, at_s = backend
    want = _expected(OPTS.carbon)
    value = {name: {r["metric"]["deployment"]: float(r["value"][1])
                    for r in _query(server, metric_expr(name, OPTS), at_s)}
             for name in ("tokens_per_s", "joules_per_token", "co2_grams_per_hour")}  # fmt: skip
    assert value["tokens_per_s"] == {"llm/llama-70b": pytest.approx(120.0)}
    assert value["joules_per_token"] == {"llm/llama-70b": pytest.approx(500.0 / 120.0)}
    for dep, row in want.items():  # W x PUE x kg/kWh = g/h
        g_per_h = row["watts"] * 1.5 * grid.get_region(row["region"]).intensity_kg_per_kwh
        assert value["co2_grams_per_hour"][dep] == pytest.approx(g_per_h, rel=1e-6), dep


def test_every_vocabulary_metric_evaluates(backend: tuple[Server, float]) -> None:
    server, at_s = backend
    rates = rate_inputs(OPTS)
    for name in FORMULAS:
        _query(server, metric_expr(name, OPTS, rates), at_s)  # parses and runs on both backends


def test_otel_gen_ai_names_evaluate(backend: tuple[Server, float]) -> None:
    """The draft OTel names read the recorded series; inlined here, both backends agree with
    the planted values (the busy deployment is not idle; output-token J from 20 tok/s)."""
    from wattlens.integrations.rules import PREFIX, otel_rules

    server, at_s = backend
    rates = rate_inputs(OPTS)
    got = {}
    for rule in otel_rules(OPTS):
        expr = rule["expr"]
        for name in ("power_watts", "joules_per_output_token", "tokens_per_s"):
            expr = expr.replace(PREFIX + name, f"({metric_expr(name, OPTS, rates)})")
        rows = _query(server, expr, at_s)
        got[rule["record"]] = {
            (r["metric"]["deployment"], r["metric"]["k8s_namespace_name"]): float(r["value"][1])
            for r in rows
        }
    key = ("llm/llama-70b", "llm")
    assert got["gen_ai_infrastructure_power_watts"][key] == pytest.approx(500.0)
    assert got["gen_ai_infrastructure_energy_per_token_joules"] == {key: pytest.approx(25.0)}
    assert got["gen_ai_infrastructure_idle_ratio"] == {key: 0.0}
