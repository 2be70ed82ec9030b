"""`/api/v2/analysis` over a planted store whose idle power per GPU is known exactly."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from .conftest import Served, make_config, serve
from .plant import STEP_S
from .plant_analysis import CATALOG_IDLE_W, IDLE_W_PER_GPU, plant_analysis

KWH_J = 3.6e6


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("analysis")
    store, records = plant_analysis(tmp / "w.duckdb")
    s = serve(store, None, make_config(tmp))
    s.records = records  # type: ignore[attr-defined]
    yield s
    s.close()


def _tokens(r) -> float:  # noqa: ANN001
    return r.prompt_tokens + r.generation_tokens


def test_idle_power_is_learned_from_zero_traffic(planted: Served) -> None:
    body = planted.get("/api/v2/analysis", params={"range": "2d"}).json()
    idle = body["idle_power_per_gpu_watts"]["H100-SXM"]
    zero = [r for r in planted.records if _tokens(r) == 0]
    assert idle["value"] == pytest.approx(IDLE_W_PER_GPU, rel=1e-9) != CATALOG_IDLE_W
    assert (idle["source"], idle["method"]) == ("learned", "zero_traffic")
    assert idle["sample_count"] == len(zero)
    assert body["range"]["tier"] == "auto" and body["range"]["end"] == "2023-11-15T00:00:00Z"


def test_per_deployment_energy_idle_split_and_fleet_totals(planted: Served) -> None:
    body = planted.get("/api/v2/analysis?range=2d").json()
    rows = {d["deployment_id"]: d for d in body["deployments"]}
    assert set(rows) == {"lab/llama8", "lab/big8", "lab/idle70"}
    energy_total = idle_total = 0.0
    for dep, d in rows.items():
        rs = [r for r in planted.records if r.deployment_id == dep]
        n = rs[0].gpu_count
        energy = math.fsum(r.energy_joules for r in rs)
        idle = math.fsum(min(r.energy_joules, n * IDLE_W_PER_GPU * r.interval_s) for r in rs)
        zero = math.fsum(r.energy_joules for r in rs if _tokens(r) == 0)
        mean_w = energy / math.fsum(r.interval_s for r in rs)
        assert d["energy_kwh"] == pytest.approx(energy / KWH_J, rel=1e-9)
        assert d["idle_energy_kwh"] == pytest.approx(idle / KWH_J, rel=1e-9)
        assert d["productive_energy_kwh"] == pytest.approx((energy - idle) / KWH_J, rel=1e-9)
        assert d["zero_token_energy_kwh"] == pytest.approx(zero / KWH_J, rel=1e-9)
        assert d["idle_fraction"] == pytest.approx(min(1.0, n * IDLE_W_PER_GPU / mean_w), rel=1e-9)
        co2 = math.fsum(r.co2_grams for r in rs)
        assert d["co2_kg"] == pytest.approx(co2 / 1000, rel=1e-9)
        energy_total += energy
        idle_total += idle
    assert body["fleet"]["energy_kwh"] == pytest.approx(energy_total / KWH_J, rel=1e-9)
    assert body["fleet"]["idle_energy_kwh"] == pytest.approx(idle_total / KWH_J, rel=1e-9)
    # the always-idle 70B: all of it idle, a consolidation plan, and no curve to fit
    assert rows["lab/idle70"]["idle_fraction"] == 1.0
    assert rows["lab/idle70"]["consolidation"]["saving_watts"] > 0
    assert rows["lab/idle70"]["right_sizing"]["status"] == "idle"


def test_oversized_deployment_is_ranked_first(planted: Served) -> None:
    body = planted.get("/api/v2/analysis?range=2d").json()
    top = body["right_sizing_ranked"][0]
    # 8B bf16 weights are 16 GB, a fraction of one 80 GiB H100: 7 of 8 GPUs idle at 90 W
    assert (top["deployment_id"], top["current_gpu_count"]) == ("lab/big8", 8)
    assert top["recommended_gpu_count"] == 1
    assert top["saving_watts"] == pytest.approx(7 * IDLE_W_PER_GPU)
    assert top["saving_kwh_per_day"] == pytest.approx(7 * IDLE_W_PER_GPU * 24 / 1000)
    assert top["reason"]


def test_frontier_ratio_under_the_legacy_spec(planted: Served) -> None:
    body = planted.get("/api/v2/analysis?range=2d&frontier=nrp-2026").json()
    d = next(x for x in body["deployments"] if x["deployment_id"] == "lab/llama8")
    act = [
        r for r in planted.records if r.deployment_id == "lab/llama8" and _tokens(r) / STEP_S > 5
    ]
    secs = len(act) * STEP_S
    p = math.fsum(r.prompt_tokens for r in act) / secs
    g = math.fsum(r.generation_tokens for r in act) / secs
    watts = math.fsum(r.energy_joules for r in act) / secs
    # carbon.md s5: 24 x 225 W idle + 0.5 J per prompt token + 6.0 J per output token
    assert d["frontier_ratio"] == pytest.approx((24 * 225 + p * 0.5 + g * 6.0) / watts, rel=1e-9)
    assert (
        d["frontier"]["spec"] == "nrp-2026" and body["assumptions"]["frontier_spec"] == "nrp-2026"
    )
    lo, hi = d["frontier"]["sensitivity"]["idle_watts_per_gpu x0.8/x1.2"]
    assert lo < d["frontier_ratio"] < hi
    default = planted.get("/api/v2/analysis?range=2d").json()
    assert default["assumptions"]["frontier_spec"] == "frontier-moe-1.5t"


def test_chart_series_for_the_efficiency_view(planted: Served) -> None:
    body = planted.get("/api/v2/analysis?range=2d").json()
    eff = body["charts"]["efficiency"]["lab/llama8"]
    pts = eff["points"]
    busy = [r for r in planted.records if r.deployment_id == "lab/llama8" and _tokens(r) > 0]
    assert 0 < len(pts["tokens_per_s"]) <= min(len(busy), body["assumptions"]["chart_points"])
    assert pts["ts_end_s"] == sorted(pts["ts_end_s"])
    for x, w, j in zip(
        pts["tokens_per_s"], pts["power_watts"], pts["joules_per_token"], strict=True
    ):
        assert j == pytest.approx(w / x)
    curve = eff["curve"]
    assert all(
        lo <= mid <= hi
        for lo, mid, hi in zip(curve["joules_per_token_low"], curve["joules_per_token"],
                               curve["joules_per_token_high"], strict=True)
    )  # fmt: skip
    bars = body["charts"]["idle_bars"]
    assert bars["deployments"][0] == "lab/big8"  # the largest energy first
    assert body["charts"]["efficiency"]["lab/idle70"]["curve"] is None


def test_answers_are_cached_per_parameters(planted: Served) -> None:
    a = planted.get("/api/v2/analysis?range=2d")
    b = planted.get("/api/v2/analysis?range=48h")  # same seconds, same cache entry
    assert a.content == b.content and a.headers["content-type"] == "application/json"


def test_empty_store(tmp_path) -> None:  # noqa: ANN001
    from wattlens.store import Store

    s = serve(Store.open(tmp_path / "empty.duckdb"), None, make_config(tmp_path))
    try:
        body = s.get("/api/v2/analysis").json()
        assert body["deployments"] == [] and body["range"] is None
    finally:
        s.close()


@pytest.mark.parametrize(
    ("query", "status", "fragment"),
    [
        ("frontier=opus-9", 404, "unknown frontier spec 'opus-9': expected one of nrp-2026"),
        ("frontier=%3Cscript%3E", 400, "frontier '<script>' is not a catalog name"),
        ("range=abc", 400, "range 'abc' is not a duration"),
        ("range=999d", 400, "longer than the maximum 90d"),
        ("range=0s", 400, "longer than zero"),
    ],
)
def test_bad_parameters(planted: Served, query: str, status: int, fragment: str) -> None:
    r = planted.get("/api/v2/analysis?" + query)
    assert r.status_code == status
    body = r.json()
    assert set(body) == {"ok", "error", "status"} and body["status"] == status
    assert fragment in body["error"]
