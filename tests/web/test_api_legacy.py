"""The old dashboard's endpoints: same paths and field names, values from the planted records."""

from __future__ import annotations

import math

import pytest

from .conftest import Served
from .plant import (
    DAY_S,
    END_S,
    active_mg_per_token,
    buckets,
    live_expect,
    tokens,
    window,
)

# telemetry.md s5: the Go ModelMetrics struct, in order
MODEL_FIELDS = [
    "model_name", "namespace", "container", "gpu_hardware", "node", "gpu_count", "power_watts",
    "prompt_tokens_per_sec", "generation_tokens_per_sec", "tokens_per_sec",
    "carbon_intensity_kg_per_kwh", "co2_grams_per_hour", "co2_mg_per_token",
    "co2_mg_per_token_avg_24h", "co2_mg_per_token_avg_7d", "updated_at",
]  # fmt: skip
OMITEMPTY = {"co2_mg_per_token", "co2_mg_per_token_avg_24h", "co2_mg_per_token_avg_7d"}


def _models(served: Served) -> dict[str, dict]:
    body = served.get("/api/v1/carbon").json()
    assert set(body) == {"models", "updated_at"}
    assert body["updated_at"] == "2023-11-15T00:00:00Z"
    return {f"{m['namespace']}/{m['model_name'] or m['container']}": m for m in body["models"]}


def test_carbon_fields_and_live_values(served: Served) -> None:
    models = _models(served)
    assert len(models) == len(served.fleet.specs)
    for spec in served.fleet.specs:
        i = spec.info
        m = models[f"{i.namespace}/{i.model_name or i.container}"]
        assert [k for k in MODEL_FIELDS if k in m] == list(m)  # old names, old order, no extras
        assert set(MODEL_FIELDS) - OMITEMPTY <= set(m)
        rs = window(served.fleet.of(i.deployment_id), END_S - 300, END_S)
        exp = live_expect(rs)
        assert m["gpu_count"] == i.gpu_count and m["gpu_hardware"] == "NVIDIA RTX A6000"
        assert m["container"] == i.container and m["node"] == i.node
        assert m["power_watts"] == round(exp["power_watts"], 1)
        assert m["tokens_per_sec"] == round(exp["tokens_per_s"] or 0.0, 1)
        assert m["prompt_tokens_per_sec"] == round(exp["prompt_tokens_per_s"] or 0.0, 1)
        assert m["carbon_intensity_kg_per_kwh"] == pytest.approx(spec.intensity)
        # W x kg/kWh x PUE = g/h (carbon.md s1)
        assert m["co2_grams_per_hour"] == round(exp["power_watts"] * spec.intensity * spec.pue, 1)
        if exp["co2_mg_per_token"] is None or round(exp["co2_mg_per_token"], 3) == 0:
            assert "co2_mg_per_token" not in m
        else:
            assert m["co2_mg_per_token"] == round(exp["co2_mg_per_token"], 3)
        assert m["updated_at"] == "2023-11-15T00:00:00Z"


def test_carbon_active_only_token_weighted_averages(served: Served) -> None:
    models = _models(served)
    for spec in served.fleet.specs:
        i = spec.info
        m = models[f"{i.namespace}/{i.model_name or i.container}"]
        rs = served.fleet.of(i.deployment_id)
        for key, span in (
            ("co2_mg_per_token_avg_24h", DAY_S),
            ("co2_mg_per_token_avg_7d", 7 * DAY_S),
        ):
            exp = active_mg_per_token(window(rs, END_S - span, END_S))
            if exp is None:
                assert key not in m, (i.deployment_id, key)
            else:
                assert m[key] == round(exp, 3), (i.deployment_id, key)
    # the idle and GPU-only deployments have no per-token figure at all
    assert not OMITEMPTY & set(models["sdsc-llm/kimi-k2.5"])
    assert not OMITEMPTY & set(models["batch/embedder"])


@pytest.mark.parametrize(("rng", "step", "span"), [("24h", "5m", DAY_S), ("7d", "1h", 7 * DAY_S)])
def test_timeseries_fleet(served: Served, rng: str, step: str, span: float) -> None:
    body = served.get("/api/v1/carbon/timeseries", params={"range": rng}).json()
    assert set(body) == {"range", "step", "points", "error"}
    assert body["range"] == rng and body["step"] == step and body["error"] is None
    step_s = {"5m": 300.0, "1h": 3600.0}[step]
    rs = window(served.fleet.records, END_S - span, END_S)

    def fleet_power(group: list) -> float:  # sum over deployments of each one's mean power
        per: dict[str, list] = {}
        for r in group:
            per.setdefault(r.deployment_id, []).append(r)
        return sum(
            sum(r.energy_joules for r in g) / sum(r.interval_s for r in g) for g in per.values()
        )

    def fleet_mg(group: list) -> float | None:
        eng = [r for r in group if r.prompt_tokens is not None]
        per: dict[str, list] = {}
        for r in eng:
            per.setdefault(r.deployment_id, []).append(r)
        g_per_s = sum(
            sum(r.co2_grams for r in g) / sum(r.interval_s for r in g) for g in per.values()
        )
        tps = sum(sum(tokens(r) for r in g) / sum(r.interval_s for r in g) for g in per.values())
        return g_per_s * 1000 / tps if tps > 5 else None

    power = buckets(rs, step_s, fleet_power)
    mg = buckets(rs, step_s, fleet_mg)
    assert [p["t"] for p in body["points"]] == [int(t) for t in power]
    for p in body["points"]:
        assert set(p) == {"t", "power_watts", "co2_grams_per_hour", "co2_mg_per_token"}
        assert p["power_watts"] == pytest.approx(power[p["t"]], rel=1e-6)
        want = mg[p["t"]]
        assert (p["co2_mg_per_token"] is None) == (want is None)
        if want is not None:
            assert p["co2_mg_per_token"] == pytest.approx(want, rel=1e-6)


def test_per_key_series_sums_deployments_sharing_a_container(served: Served) -> None:
    # gemma and qwen both run in container "vllm" in nrp-llm: the old key merged them
    body = served.get(
        "/api/v1/carbon/nrp-llm/vllm/co2_grams_per_hour", params={"range": "24h"}
    ).json()
    assert set(body) == {"namespace", "container", "metric", "range", "series"}
    assert (body["namespace"], body["container"], body["metric"]) == (
        "nrp-llm",
        "vllm",
        "co2_grams_per_hour",
    )
    specs = {s.info.deployment_id: s for s in served.fleet.specs}
    rs = [
        r for r in window(served.fleet.records, END_S - DAY_S, END_S)
        if r.deployment_id in ("nrp-llm/gemma", "nrp-llm/qwen")
    ]  # fmt: skip

    def g_per_h(group: list) -> float:
        per: dict[str, list] = {}
        for r in group:
            per.setdefault(r.deployment_id, []).append(r)
        total = 0.0
        for dep, g in per.items():
            watts = sum(r.energy_joules for r in g) / sum(r.interval_s for r in g)
            total += watts * specs[dep].intensity * specs[dep].pue
        return total

    want = buckets(rs, 300.0, g_per_h)
    assert [t for t, _ in body["series"]] == [int(t) for t in want]
    for t, v in body["series"]:
        assert v == pytest.approx(want[t], rel=1e-6)


def test_per_key_series_by_workload_and_mg_per_token(served: Served) -> None:
    body = served.get("/api/v1/carbon/nrp-llm/gpt-oss/co2_mg_per_token?range=6h").json()
    rs = window(served.fleet.of("nrp-llm/gpt-oss"), END_S - 6 * 3600, END_S)
    want = {
        t: v for t, v in buckets(rs, 300.0, lambda g: active_mg_per_token_bucket(g)).items()
        if v is not None
    }  # fmt: skip
    assert len(body["series"]) == len(want) > 0
    for t, v in body["series"]:
        assert v == pytest.approx(want[t], rel=1e-6)


def active_mg_per_token_bucket(group: list) -> float | None:
    secs = sum(r.interval_s for r in group)
    tps = sum(tokens(r) for r in group) / secs
    if tps <= 5:
        return None
    return sum(r.co2_grams for r in group) / secs * 3600 * 1000 / (tps * 3600)


def test_per_key_unknown_is_404(served: Served) -> None:
    r = served.get("/api/v1/carbon/nrp-llm/nothing-here/power_watts")
    assert r.status_code == 404
    assert r.json()["ok"] is False and "nothing-here" in r.json()["error"]


def test_healthz(served: Served) -> None:
    r = served.get("/healthz")
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert math.isfinite(len(r.content))
