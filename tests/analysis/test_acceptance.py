"""Acceptance (issue #4) on emulator scenarios with planted truth, through the real importer.

- tests/analysis/data/fleet-planted.toml: one idle W per GPU type, oversized / healthy / idle
  deployments with hand-worked GPU counts (see the file's header);
- the emulator's bundled test-oversized.toml (same kinds of expectations);
- the emulator's bundled test-events.toml: two models sharing namespace and container name,
  an energy-counter reset, a two-hour exporter gap, pod restarts, a GPU-only job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.analysis.conftest import Emulated

from wattlens.analysis import analyze
from wattlens.catalog import get_gpu
from wattlens.core.units import kwh_from_joules

SCENARIOS = ("fleet-planted", "test-oversized", "test-events")


def _run(e: Emulated) -> dict[str, Any]:
    with e.open() as store:
        return analyze(store, range_s=e.end_s - e.start_s, end_s=e.end_s)


@pytest.fixture(scope="module")
def results(emulated: Callable[[str], Emulated]) -> dict[str, tuple[Emulated, dict[str, Any]]]:
    out = {}
    for name in SCENARIOS:
        e = emulated(name)
        out[name] = (e, _run(e))
    return out


def _rows(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["deployment_id"]: r for r in result["deployments"]}


def _planted_idle_per_type(e: Emulated) -> dict[str, float]:
    """GPU-count-weighted mean of the planted idle W per GPU, per catalog GPU type."""
    watts: dict[str, float] = {}
    gpus: dict[str, int] = {}
    for d in e.scenario.deployments:
        gt = get_gpu(d.gpu).id
        watts[gt] = watts.get(gt, 0.0) + d.power.idle_watts_per_gpu * d.gpu_count
        gpus[gt] = gpus.get(gt, 0) + d.gpu_count
    return {gt: watts[gt] / gpus[gt] for gt in watts}


@pytest.mark.parametrize("name", ["fleet-planted", "test-oversized"])
def test_learned_idle_power_within_5_percent(results: dict, name: str) -> None:
    e, result = results[name]
    learned = result["idle_power_per_gpu_watts"]
    for gpu_type, truth_w in _planted_idle_per_type(e).items():
        got = learned[gpu_type]
        assert got["source"] == "learned", (gpu_type, got)
        assert got["sample_count"] >= 20
        assert got["value"] == pytest.approx(truth_w, rel=0.05), gpu_type


def test_fleet_planted_idle_learned_from_zero_traffic(results: dict) -> None:
    _, result = results["fleet-planted"]
    for v in result["idle_power_per_gpu_watts"].values():
        assert v["method"] == "zero_traffic"


@pytest.mark.parametrize("name", SCENARIOS)
def test_energy_totals_within_1_percent(results: dict, name: str) -> None:
    e, result = results[name]
    rows = _rows(result)
    for dep, t in e.truth.items():
        assert rows[dep]["energy_kwh"] == pytest.approx(kwh_from_joules(t.energy_joules), rel=0.01)
    ours = sum(rows[d]["energy_kwh"] for d in e.truth)
    assert ours == pytest.approx(kwh_from_joules(sum(t.energy_joules for t in e.truth.values())),
                                 rel=0.01)  # fmt: skip


def _expected(e: Emulated, status: str) -> dict[str, int]:
    return {
        d.key: d.expectation("right_size_gpus")
        for d in e.scenario.deployments
        if d.expectation("status") == status
    }


@pytest.mark.parametrize("name", ["fleet-planted", "test-oversized"])
def test_every_oversized_deployment_flagged_with_the_right_gpu_count(
    results: dict, name: str
) -> None:
    e, result = results[name]
    rows = _rows(result)
    expected = _expected(e, "oversized")
    assert expected
    for dep, gpus in expected.items():
        rs = rows[dep]["right_sizing"]
        assert rs["flagged"] and rs["status"] == "oversized", (dep, rs)
        assert rs["recommended_gpu_count"] == gpus, dep
        assert rs["saving_watts"] > 0 and rs["reason"]
    ranked = [r["deployment_id"] for r in result["right_sizing_ranked"]]
    assert sorted(ranked) == sorted(expected)
    savings = [r["saving_watts"] for r in result["right_sizing_ranked"]]
    assert savings == sorted(savings, reverse=True)


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_healthy_deployment_flagged(results: dict, name: str) -> None:
    e, result = results[name]
    rows = _rows(result)
    healthy = _expected(e, "healthy")
    for dep, gpus in healthy.items():
        rs = rows[dep]["right_sizing"]
        assert not rs["flagged"], (dep, rs)
        assert rs["recommended_gpu_count"] == gpus
    # test-events plants no status; none of its serving deployments is oversized either
    flagged = {r["deployment_id"] for r in result["right_sizing_ranked"]}
    assert flagged == set(_expected(e, "oversized"))


@pytest.mark.parametrize("name", ["fleet-planted", "test-oversized"])
def test_every_idle_deployment_gets_a_consolidation_plan(results: dict, name: str) -> None:
    e, result = results[name]
    rows = _rows(result)
    idle = _expected(e, "idle")
    assert idle
    for dep in idle:
        row = rows[dep]
        assert row["right_sizing"]["status"] == "idle"
        assert row["right_sizing"]["recommended_gpu_count"] == 0
        plan = row["consolidation"]
        assert plan is not None, dep
        stz = plan["scale_to_zero"]
        assert stz["wake_count"] == 0 and stz["idle_time_fraction"] == pytest.approx(1.0)
        # Planted: idle all window, so everything after the scale-down delay is saved.
        d = e.scenario.deployment(dep)
        span = e.end_s - e.start_s
        want = d.gpu_count * d.power.idle_watts_per_gpu * (span - stz["scale_down_delay_s"]) / span
        assert stz["saving_watts"] == pytest.approx(want, rel=0.03)


def test_idle_a100s_are_packed_onto_mig_slices(results: dict) -> None:
    _, result = results["fleet-planted"]
    plans = {p["gpu_type"]: p for p in result["consolidation_plans"]}
    a100 = plans["A100-80GB"]
    # qwen3-8b (19.8 GB) and olmo-2-7b (18.9 GB at its 4,096-token context) share one A100:
    # 3g.40gb + 1g.20gb = 3 + 1 compute and 4 + 2 memory slices of 7 and 8.
    shared = {a["deployment_id"]: a for a in a100["assignments"]}
    assert shared["research/qwen-8b-idle"]["gpus"] == shared["research/olmo-7b-idle"]["gpus"]
    profiles = {shared[d]["profile"] for d in ("research/qwen-8b-idle", "research/olmo-7b-idle")}
    assert profiles == {"3g.40gb", "1g.20gb"}
    assert a100["gpus_right_sized"] - a100["gpus_after"] >= 1


def test_shared_namespace_and_container_stay_two_deployments(results: dict) -> None:
    e, result = results["test-events"]
    rows = _rows(result)
    a, b = rows["llm/llama-70b"], rows["llm/qwen-32b"]
    assert a["model_name"] == e.truth["llm/llama-70b"].served_model_name
    assert b["model_name"] == e.truth["llm/qwen-32b"].served_model_name
    assert (a["catalog_model"], b["catalog_model"]) == ("llama-3.1-70b", "qwen3-32b")
    assert (a["gpu_count"], b["gpu_count"]) == (4, 2)
    with e.open() as store:
        containers = {d.info.deployment_id: d.info.container for d in store.deployments()}
    assert containers["llm/llama-70b"] == containers["llm/qwen-32b"] == "vllm"


def test_counter_reset_and_gap_keep_tokens_and_rates(results: dict) -> None:
    e, result = results["test-events"]
    rows = _rows(result)
    for dep in ("llm/qwen-32b", "research/mistral-7b"):  # counter reset; two-hour gap
        t = e.truth[dep]
        row = rows[dep]
        assert row["tokens_per_s"] == pytest.approx(t.tokens_per_s, rel=0.01)
        assert row["mean_power_watts"] == pytest.approx(t.mean_power_watts, rel=0.01)
        assert row["efficiency_curve"]["model"] in ("saturating", "linear")
    gpu_only = rows["training/finetune"]
    assert gpu_only["tokens_per_s"] is None and gpu_only["right_sizing"] is None
    assert gpu_only["unknown_token_energy_kwh"] == pytest.approx(gpu_only["energy_kwh"])
