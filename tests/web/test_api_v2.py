"""v2 endpoints: deployments, one deployment, series, fleet tiles, cumulative CO2, config."""

from __future__ import annotations

import pytest

from wattlens.analysis.frontier import resolve_frontier
from wattlens.analysis.options import AnalysisOptions

from .conftest import Served, make_config, serve
from .plant import DAY_S, END_S, buckets, live_expect, plant, tokens, window


def _deps(served: Served) -> dict[str, dict]:
    body = served.get("/api/v2/deployments").json()
    assert body["generated_at"] == "2023-11-15T00:00:00Z"
    return {d["deployment"]: d for d in body["deployments"]}


def test_deployments_live_and_activity(served: Served) -> None:
    deps = _deps(served)
    assert sorted(deps) == sorted(s.info.deployment_id for s in served.fleet.specs)
    for spec in served.fleet.specs:
        d = deps[spec.info.deployment_id]
        rs = window(served.fleet.of(spec.info.deployment_id), END_S - 300, END_S)
        exp = live_expect(rs)
        assert d["live"]["power_watts"] == pytest.approx(exp["power_watts"], rel=1e-9)
        assert d["live"]["co2_grams_per_hour"] == pytest.approx(
            exp["power_watts"] * spec.intensity * spec.pue, rel=1e-9
        )
        if exp["joules_per_token"] is None:
            assert d["live"]["joules_per_token"] is None
        else:
            assert d["live"]["joules_per_token"] == pytest.approx(exp["joules_per_token"], rel=1e-9)
        secs = sum(r.interval_s for r in rs)
        if spec.engine:
            fin = sum(r.requests_finished for r in rs)
            assert d["activity"]["requests_per_hour"] == pytest.approx(fin / secs * 3600)
            kv = sum(r.kv_cache_usage_ratio * r.interval_s for r in rs) / secs
            assert d["activity"]["kv_cache_usage_percent"] == pytest.approx(100 * kv)
        else:
            assert d["activity"]["requests_running"] is None
        util = sum(r.gpu_util_percent * r.interval_s for r in rs) / secs
        assert d["activity"]["gpu_util_percent"] == pytest.approx(util)
        assert d["gpu_count"] == spec.info.gpu_count and d["grid_region"] == "CAMX"
    assert deps["sdsc-llm/kimi"]["state"] == "idle"
    assert deps["nrp-llm/gpt-oss"]["state"] == "active"


def test_deployment_24h_active_only_average(served: Served) -> None:
    d = served.get("/api/v2/deployments/nrp-llm/gpt-oss").json()
    rs = window(served.fleet.of("nrp-llm/gpt-oss"), END_S - DAY_S, END_S)
    act = [r for r in rs if tokens(r) / r.interval_s > 5]
    secs = sum(r.interval_s for r in act)
    avg = d["avg_24h"]
    assert avg["active_only"] is True and avg["active_s"] == secs
    assert avg["power_watts"] == pytest.approx(sum(r.energy_joules for r in act) / secs)
    assert avg["joules_per_token"] == pytest.approx(
        sum(r.energy_joules for r in act) / sum(tokens(r) for r in act)
    )
    assert avg["decode_tokens_per_s"] == pytest.approx(
        sum(r.generation_tokens for r in rs) / sum(r.itl_seconds_sum for r in rs)
    )
    prompt = sum(r.prompt_tokens for r in rs)
    share = d["tokens_24h"]["input_token_share_percent"]
    assert share == pytest.approx(100 * prompt / sum(tokens(r) for r in rs))
    # frontier (the catalog default, as `analyze` resolves it): idle floor + prompt tok/s x
    # E_prompt + generation tok/s x E_gen
    p = sum(r.prompt_tokens for r in act) / secs
    g = sum(r.generation_tokens for r in act) / secs
    fm = resolve_frontier("frontier-moe-1.5t", AnalysisOptions.default())
    assert avg["frontier_spec"] == "frontier-moe-1.5t"
    assert avg["frontier_power_ratio"] == pytest.approx(
        (24 * 225 + p * fm.prompt_joules_per_token + g * fm.generation_joules_per_token)
        / avg["power_watts"]
    )


def test_deployment_series(served: Served) -> None:
    body = served.get(
        "/api/v2/deployments/nrp-llm/gemma/series",
        params={"metric": "power_watts", "range": "2h", "step": "10m"},
    ).json()
    assert body["unit"] == "W" and body["step_s"] == 600
    rs = window(served.fleet.of("nrp-llm/gemma"), END_S - 7200, END_S)
    want = buckets(
        rs, 600, lambda g: sum(r.energy_joules for r in g) / sum(r.interval_s for r in g)
    )
    assert len(body["points"]) == len(want) == 12
    for p, v in zip(body["points"], want.values(), strict=True):
        assert p["value"] == pytest.approx(v, rel=1e-6)
    assert body["points"][-1]["time"] == "2023-11-15T00:00:00Z"


def test_fleet_tiles(served: Served) -> None:
    f = served.get("/api/v2/fleet").json()
    power = co2 = 0.0
    active_gpus = active = 0
    for spec in served.fleet.specs:
        exp = live_expect(window(served.fleet.of(spec.info.deployment_id), END_S - 300, END_S))
        power += exp["power_watts"]
        co2 += exp["power_watts"] * spec.intensity * spec.pue
        if (exp["tokens_per_s"] or 0) > 0.1:
            active_gpus += spec.info.gpu_count
            active += 1
    assert f["total_power_watts"] == pytest.approx(power)
    assert f["co2_grams_per_hour"] == pytest.approx(co2)
    assert f["co2_grams_per_day"] == pytest.approx(co2 * 24)
    assert (f["active_gpus"], f["active_models"], f["state"]) == (active_gpus, active, "ok")
    assert f["gpu_count"] == sum(s.info.gpu_count for s in served.fleet.specs)


def test_cumulative_co2_and_reference_frames(served: Served) -> None:
    body = served.get("/api/v2/fleet/co2", params={"range": "7d"}).json()
    rs = window(served.fleet.records, END_S - 7 * DAY_S, END_S)
    total = sum(r.co2_grams for r in rs)
    assert body["total_co2_grams"] == pytest.approx(total, rel=1e-9)
    assert body["co2_grams_cumulative"][-1] == pytest.approx(total, rel=1e-6)
    assert body["co2_grams_cumulative"] == sorted(body["co2_grams_cumulative"])
    frames = {f["id"]: f for f in body["reference_frames"]}
    # constants from carbon.md s6: 404 g/mile, 8.22 g/charge, 150 W fridge, 1.75 kg/tree-month
    assert frames["car_co2_grams_per_mile"]["value"] == pytest.approx(total / 404)
    assert frames["phone_charge_co2_grams"]["value"] == pytest.approx(total / 8.22)
    assert frames["tree_co2_kg_per_month"]["value"] == pytest.approx(total / 1750)
    ci = sum(r.energy_joules * r.carbon_intensity_kg_per_kwh for r in rs) / sum(
        r.energy_joules for r in rs
    )
    assert frames["fridge_power_watts"]["value"] == pytest.approx(total / (150 * ci) * 60)


def test_config_is_public_with_secrets_masked(tmp_path) -> None:
    cfg = make_config(tmp_path, environ={"WATTLENS_BACKEND_BEARER_TOKEN": "s3cr3t-token-value"})
    store, _ = plant(tmp_path / "w.duckdb", days=0.01)
    s = serve(store, None, cfg)
    try:
        r = s.get("/api/v2/config")
        assert r.status_code == 200
        assert "s3cr3t-token-value" not in r.text
        assert r.json()["thresholds"]["min_tokens_per_s_for_ratio"] == 5.0
    finally:
        s.close()


def test_empty_store_states(tmp_path) -> None:
    from wattlens.store import Store

    s = serve(Store.open(tmp_path / "empty.duckdb"), None, make_config(tmp_path))
    try:
        assert s.get("/api/v2/fleet").json()["state"] == "no_deployments"
        assert s.get("/api/v1/carbon").json()["models"] == []
        assert s.get("/api/v1/carbon/timeseries").json()["points"] == []
        assert s.get("/api/v2/fleet/co2").json()["total_co2_grams"] == 0
        assert s.get("/readyz").status_code == 503
    finally:
        s.close()
