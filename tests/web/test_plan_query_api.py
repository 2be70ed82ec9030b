"""`/api/v2/plan/query` and `/api/v2/plan/daily` over a real server (uvicorn in a thread) and a
real DuckDB store, against Oviedo et al. 2025 v1 (../shared/reference/papers.md section 2,
"v1 results [P]": median 0.34 Wh, IQR 0.18-0.67; 0.8 GWh/day for 10^9 traditional queries)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wattlens.core.records import DeploymentInfo, IntervalRecord
from wattlens.store import Store

from .conftest import Served, make_config, serve
from .test_browser import ARTIFACTS, Watched, browser  # noqa: F401 - the fixture

NOW = 1_800_000_000.0
MINUTES = 60  # planted: 6 kW and 500 output tok/s, 2 requests/s, for an hour


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("planq")
    store = Store.open(tmp / "w.duckdb")
    info = DeploymentInfo("llm/chat", "llm", "chat", "m", "H100-SXM", "NVIDIA H100", 8,
                          "node-1", "vllm")  # fmt: skip
    store.upsert_deployments([info], NOW - 7200)
    store.write_intervals([
        IntervalRecord(
            deployment_id="llm/chat", ts_end_s=NOW - 60 * (MINUTES - i), interval_s=60.0,
            energy_joules=6000.0 * 60, energy_source="counter", prompt_tokens=60_000.0,
            generation_tokens=30_000.0, requests_finished=120.0, itl_seconds_sum=1.0,
            requests_running=10.0, requests_waiting=0.0, kv_cache_usage_ratio=0.5,
            gpu_util_percent=50.0, gpu_count=8, carbon_intensity_kg_per_kwh=0.2, pue=1.0,
            co2_grams=0.0, sample_count=4,
        )
        for i in range(MINUTES)
    ])  # fmt: skip
    s = serve(store, None, make_config(tmp), clock=lambda: NOW)
    yield s
    s.close()


def _error(r, status: int = 400) -> str:  # noqa: ANN001
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"ok", "error", "status"} and body["ok"] is False
    return body["error"]


def test_query_reproduces_the_frontier_blend_with_a_histogram(api: Served) -> None:
    body = api.get("/api/v2/plan/query").json()
    b = body["blend"]
    assert b["median_wh"] == pytest.approx(0.34, rel=0.03)
    assert b["p25_wh"] == pytest.approx(0.18, rel=0.03)
    assert b["p75_wh"] == pytest.approx(0.67, rel=0.03)
    for m in body["models"]:
        assert {"model", "median_wh", "p25_wh", "p75_wh", "mean_wh", "fit"} <= set(m)
    h = body["histogram"]
    assert len(h["edges_wh"]) == 49 and h["edges_wh"] == sorted(h["edges_wh"])
    blend = next(s for s in h["series"] if s["name"] == "blend")
    assert sum(blend["counts"]) <= blend["samples"] and len(blend["counts"]) == 48


def test_query_same_seed_same_answer_and_model_only(api: Served) -> None:
    q = {"model": "llama-3.1-70b", "samples": "1000", "seed": "9", "node_kw": "11.3"}
    a, b = api.get("/api/v2/plan/query", params=q), api.get("/api/v2/plan/query", params=q)
    assert a.status_code == 200 and a.content == b.content
    body = a.json()
    assert body["blend"] is None and [m["model"] for m in body["models"]] == ["llama-3.1-70b"]


def test_query_from_fleet_uses_the_stored_deployment(api: Served) -> None:
    r = api.get("/api/v2/plan/query", params={"from_fleet": "llm/chat", "range": "1d",
                                              "samples": "500", "pue": "1-1"})  # fmt: skip
    f = r.json()["fleet"]
    assert f["power_kw"] == pytest.approx(6.0)
    assert f["generation_tokens_per_s"] == pytest.approx(500.0)
    assert f["measured_wh_per_request"] == pytest.approx(6000.0 * 60 / 120 / 3600)
    # median of exponential L_out (median 300) x 6 kW / 500 tok/s, PUE 1: 300 x 12 J = 1 Wh
    assert f["median_wh"] == pytest.approx(300 * 6000.0 / 500 / 3600, rel=0.05)


def test_daily_reproduces_0_8_gwh_with_intervals(api: Served) -> None:
    body = api.get("/api/v2/plan/daily", params={"bootstrap": "100"}).json()
    trad = next(r for r in body["scenarios"] if r["scenario"] == "traditional")
    assert trad["gwh_per_day"] == pytest.approx(0.8, rel=0.03)
    assert trad["low"] < trad["gwh_per_day"] < trad["high"]
    assert body["waterfall"][-1]["kind"] == "total"


@pytest.mark.parametrize(
    ("path", "params", "needle", "status"),
    [
        ("/api/v2/plan/query", {"power_use": "0.9-0.4"}, "power_use 0.9-0.4: low is greater", 400),
        ("/api/v2/plan/query", {"node_kw": "-3"}, "node_kw '-3'", 400),
        ("/api/v2/plan/query", {"samples": "10000000"}, "samples", 400),
        ("/api/v2/plan/query", {"model": "gpt-9"}, "model gpt-9", 404),
        ("/api/v2/plan/query", {"from_fleet": "llm/none", "samples": "200"}, "llm/none", 404),
        ("/api/v2/plan/query", {"from_fleet": "../etc"}, "from_fleet", 400),
        ("/api/v2/plan/daily", {"long_share": "2"}, "long_share", 400),
        ("/api/v2/plan/daily", {"overhead": "0"}, "overhead", 400),
        ("/api/v2/plan/daily", {"interventions": "magic"}, "interventions magic", 404),
    ],
)
def test_errors_have_the_one_shape_and_name_the_parameter(
    api: Served, path: str, params: dict[str, str], needle: str, status: int
) -> None:
    assert needle in _error(api.get(path, params=params), status)


def test_plan_page_has_the_query_section(api: Served) -> None:
    page = api.get("/plan").text
    assert 'id="query-form"' in page and "plan_query.js" in page
    assert "https://" not in page and "http://" not in page


@pytest.mark.browser
def test_plan_page_draws_the_distribution_and_shows_errors(api: Served, browser) -> None:  # noqa: ANN001, F811
    ctx = browser.new_context(viewport={"width": 1400, "height": 1400}, color_scheme="light")
    try:
        w = Watched(ctx.new_page())
        p = w.page
        p.goto(api.url + "/plan")
        p.wait_for_selector("#query[data-runs='1']", timeout=30_000)
        want = api.get("/api/v2/plan/query").json()
        series = p.eval_on_selector_all("#query-chart path", "ps => ps.map(e => e.dataset.series)")
        assert series == [s["name"] for s in want["histogram"]["series"]]
        rows = p.eval_on_selector_all(
            "#query-table tbody tr", "rs => rs.map(r => r.cells[2].textContent)"
        )
        assert len(rows) == len(want["models"]) + 1  # every model and the blend
        assert rows[-1] == str(round(want["blend"]["median_wh"], 3))  # W.sig(v, 3)
        ARTIFACTS.mkdir(exist_ok=True)
        p.locator("#query").screenshot(path=str(ARTIFACTS / "plan-query.png"))
        p.fill("#query-form input[name=from_fleet]", "llm/chat")
        p.fill("#query-form input[name=samples]", "2000")
        p.click("#query-form button[type=submit]")
        p.wait_for_selector("#query[data-runs='2']", timeout=15_000)
        last = p.eval_on_selector_all(
            "#query-table tbody tr", "rs => rs.map(r => r.cells[0].textContent)"
        )
        assert last[-1] == "fleet llm/chat (measured)"
        series = p.eval_on_selector_all("#query-chart path", "ps => ps.map(e => e.dataset.series)")
        assert series[-1] == "fleet:llm/chat"
        p.fill("#query-form input[name=pue]", "1.6-1.05")
        p.click("#query-form button[type=submit]")
        p.wait_for_selector("#query[data-errors='1']", timeout=15_000)
        banner = p.text_content("#query-error") or ""
        assert banner.startswith("pue 1.6-1.05: low is greater than high")
        assert w.errors == [e for e in w.errors if "400" in e]  # only the failed fetch is logged
    finally:
        ctx.close()
