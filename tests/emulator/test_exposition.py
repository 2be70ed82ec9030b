"""Exporter text: parses with prometheus_client, has the real label shapes and names."""

from __future__ import annotations

import math

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from wattlens.emulator import FleetModel, Scenario, dcgm_text, synthetic_scenario, vllm_text

from .conftest import START_S

DCGM_LABEL_ORDER = ["gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname",
                    "DCGM_FI_DRIVER_VERSION", "container", "namespace", "pod"]  # fmt: skip


def samples(text: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, []).append(s)
    return out


def label_names_in_order(text: str, metric: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith(metric + "{"):
            inner = line[len(metric) + 1 : line.index("}")]
            rows.append([pair.split("=", 1)[0] for pair in inner.split('",') if pair])
    return rows


def test_dcgm_text_shapes(events_model: FleetModel) -> None:
    obs = events_model.observe([START_S + 3600])
    text = dcgm_text(events_model, obs, "node-a.sdsc.edu")
    assert "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter" in text
    got = samples(text)
    power = got["DCGM_FI_DEV_POWER_USAGE"]
    assert len(power) == 8  # 4 llama + 2 qwen + 2 spare GPUs
    assert {"DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_SM_CLOCK", "DCGM_FI_DEV_FB_USED"} <= set(got)
    allocated = [s for s in power if "pod" in s.labels]
    assert len(allocated) == 6
    assert {s.labels["pod"].rsplit("-", 2)[0] for s in allocated} == {"llama-70b", "qwen-32b"}
    assert {s.labels["container"] for s in allocated} == {"vllm"}  # shared container name
    orders = label_names_in_order(text, "DCGM_FI_DEV_POWER_USAGE")
    assert orders[0] == DCGM_LABEL_ORDER
    assert orders[-1] == DCGM_LABEL_ORDER[:7]  # spare GPU: no pod labels
    # Values: the energy counter is the exact model value in whole mJ. (prometheus_client's
    # parser appends `_total` to counter samples that lack it, as DCGM's do.)
    energy_samples = got["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION_total"]
    assert "\nDCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{" in text  # exposed without the suffix
    energy = {s.labels["gpu"]: s.value for s in energy_samples}
    for gi in events_model.node_gpus["node-a.sdsc.edu"]:
        exact = obs.energy_millijoules[gi, 0]
        assert energy[str(events_model.gpus[gi].index)] == math.floor(exact)


def test_hostname_label_spelling_per_node(events_model: FleetModel) -> None:
    obs = events_model.observe([START_S + 3600])
    old = samples(dcgm_text(events_model, obs, "node-a.sdsc.edu"))["DCGM_FI_DEV_GPU_UTIL"][0]
    new = samples(dcgm_text(events_model, obs, "node-b.ucsd.edu"))["DCGM_FI_DEV_GPU_UTIL"][0]
    assert old.labels["Hostname"] == "node-a.sdsc.edu" and "hostname" not in old.labels
    assert new.labels["hostname"] == "node-b.ucsd.edu" and "Hostname" not in new.labels


def test_vllm_text_shapes_and_values(events_model: FleetModel) -> None:
    obs = events_model.observe([START_S + 3600])
    di = events_model.scenario.keys().index("llm/qwen-32b")
    got = samples(vllm_text(events_model, obs, di))
    prompt = got["vllm:prompt_tokens_total"][0]
    assert prompt.labels == {"engine": "0", "model_name": "Qwen/Qwen3-32B"}
    assert prompt.value == math.floor(obs.prompt_tokens[di, 0])
    assert got["vllm:generation_tokens_total"][0].value == math.floor(obs.generation_tokens[di, 0])
    reasons = {s.labels["finished_reason"] for s in got["vllm:request_success_total"]}
    assert reasons == {"stop", "length", "abort"}
    buckets = got["vllm:inter_token_latency_seconds_bucket"]
    counts = [s.value for s in buckets]
    assert counts == sorted(counts) and buckets[-1].labels["le"] == "+Inf"
    assert counts[-1] == got["vllm:inter_token_latency_seconds_count"][0].value
    itl_sum = got["vllm:inter_token_latency_seconds_sum"][0].value
    assert itl_sum == pytest.approx(obs.itl_seconds_sum[di, 0], rel=1e-6)
    assert 0.0 <= got["vllm:kv_cache_usage_perc"][0].value <= 1.0
    assert "vllm:time_to_first_token_seconds_sum" in got
    assert "vllm:gpu_cache_usage_perc" not in got  # vLLM 0.13: new names only


def test_vllm_versions_change_metric_names(nrp: Scenario, events_model: FleetModel) -> None:
    model = FleetModel(nrp, START_S)
    obs = model.observe([START_S + 3600])
    olmo = samples(vllm_text(model, obs, nrp.keys().index("nrp-llm/olmo")))
    assert "vllm:gpu_cache_usage_perc" in olmo and "vllm:kv_cache_usage_perc" not in olmo
    assert "vllm:time_per_output_token_seconds_sum" in olmo
    assert "vllm:inter_token_latency_seconds_sum" not in olmo
    obs = events_model.observe([START_S + 3600])
    both = samples(vllm_text(events_model, obs, 0))  # llama-70b runs vLLM 0.11.0
    assert {"vllm:gpu_cache_usage_perc", "vllm:kv_cache_usage_perc"} <= set(both)
    assert {
        "vllm:inter_token_latency_seconds_sum",
        "vllm:time_per_output_token_seconds_sum",
    } <= set(both)


def test_restart_changes_the_pod_label(events_model: FleetModel) -> None:
    pods = set()
    for obs in (events_model.observe([START_S + 6 * 3600 - 30]),
                events_model.observe([START_S + 6 * 3600 + 30])):  # fmt: skip
        text = dcgm_text(events_model, obs, "node-a.sdsc.edu")
        pods |= {s.labels.get("pod") for s in samples(text)["DCGM_FI_DEV_POWER_USAGE"]}
    assert {events_model.pod_name(0, 0), events_model.pod_name(0, 1)} <= pods


def test_thousand_gpu_fleet_exposition_is_produced() -> None:
    scenario = synthetic_scenario(125, 8)
    model = FleetModel(scenario, START_S)
    obs = model.observe([START_S + 600])
    dcgm = "".join(dcgm_text(model, obs, node) for node in model.node_names)
    vllm = "".join(vllm_text(model, obs, di) for di in range(len(scenario.deployments)))
    power_text = "\n".join(x for x in dcgm.splitlines() if "DCGM_FI_DEV_POWER_USAGE" in x)
    power = samples(power_text + "\n")["DCGM_FI_DEV_POWER_USAGE"]
    assert dcgm.count("# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter") == 125  # per node
    assert len(power) == 1000
    assert len({s.labels["UUID"] for s in power}) == 1000
    assert len(samples(vllm)["vllm:prompt_tokens_total"]) == 125
    assert np.all(np.array([s.value for s in power]) > 0)
