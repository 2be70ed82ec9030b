"""The Efficiency view and the Plan page in real headless Chromium (as test_browser.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from playwright.sync_api import Browser

from .conftest import Served, make_config, serve
from .plant import STEP_S
from .plant_analysis import default_planted, h100, plant_analysis
from .test_browser import ARTIFACTS, XSS, Watched, browser  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def fleet_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The analysis fleet plus two deployments whose model_name labels are script payloads."""
    tmp = tmp_path_factory.mktemp("pages")
    store, records = plant_analysis(tmp / "w.duckdb", default_planted(tuple(XSS)), days=1.0)
    s = serve(store, None, make_config(tmp))
    yield s
    s.close()


def _open(browser: Browser, width: int = 1400) -> tuple[Watched, object]:  # noqa: F811
    ctx = browser.new_context(viewport={"width": width, "height": 1000}, color_scheme="light")
    return Watched(ctx.new_page()), ctx


def _sizes(page, selector: str) -> list[tuple[float, float]]:  # noqa: ANN001
    return page.eval_on_selector_all(
        selector,
        "es => es.map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })",
    )


def test_efficiency_view_draws_and_keeps_labels_as_text(
    fleet_site: Served,
    browser: Browser,  # noqa: F811
) -> None:
    w, ctx = _open(browser)
    try:
        p = w.page
        p.goto(fleet_site.url + "/efficiency")
        p.wait_for_selector("#efficiency[data-loaded='1']", timeout=15_000)
        api = fleet_site.get("/api/v2/analysis?range=7d").json()
        ids = sorted(d["deployment_id"] for d in api["deployments"])
        cards = p.eval_on_selector_all(
            "#curves .curve-card", "cs => cs.map(c => c.dataset.deployment)"
        )
        assert sorted(cards) == ids
        eff = api["charts"]["efficiency"]
        drawn = [d for d in ids if eff[d]["points"]["tokens_per_s"]]
        assert len(drawn) == 4  # every busy deployment; the idle 70B has no point to draw
        sizes = _sizes(p, "#curves canvas.curve")
        assert len(sizes) == len(drawn) and all(wd > 200 and ht > 200 for wd, ht in sizes)
        points = p.eval_on_selector_all(
            "canvas.curve", "cs => cs.map(c => Number(c.dataset.points))"
        )
        want = [len(eff[d]["points"]["tokens_per_s"]) for d in drawn]
        assert sorted(points) == sorted(want)
        # idle bars, right-sizing ranking and consolidation follow the API
        bars = p.eval_on_selector_all(
            "#idle-bars .bar-row", "rs => rs.map(r => r.dataset.deployment)"
        )
        assert bars == api["charts"]["idle_bars"]["deployments"]
        ranked = p.eval_on_selector_all(
            "#rightsizing tbody tr", "rs => rs.map(r => r.dataset.deployment)"
        )
        assert ranked == [r["deployment_id"] for r in api["right_sizing_ranked"]] and ranked
        assert p.locator("#consolidation li[data-deployment='lab/idle70']").count() == 1
        idle = p.text_content("#idle-power tbody tr[data-gpu-type='H100-SXM']")
        assert "90.0" in idle and "learned" in idle
        # attacker-controlled model names: literal text, nothing executed or injected
        titles = p.eval_on_selector_all("#curves .card-title", "ts => ts.map(t => t.textContent)")
        assert set(XSS) <= set(titles)
        labels = p.eval_on_selector_all("#idle-bars .bar-label", "ls => ls.map(l => l.textContent)")
        assert set(XSS) <= set(labels)
        assert p.evaluate("typeof window.__xss") == "undefined"
        assert p.locator("#efficiency img").count() == 0
        assert p.locator("script").count() == 3  # theme.js, common.js, efficiency.js
        # switching the frontier spec reloads the analysis with it
        p.select_option("#frontier", "nrp-2026")
        p.wait_for_selector("#efficiency[data-loaded='2']")
        assert "frontier spec nrp-2026" in p.text_content("#eff-range")
        p.click("#theme-toggle")  # redraws the canvases in the dark theme
        ARTIFACTS.mkdir(exist_ok=True)
        p.screenshot(path=str(ARTIFACTS / "efficiency.png"), full_page=True)
        assert w.errors == []
    finally:
        ctx.close()  # type: ignore[attr-defined]


def test_plan_page_draws_and_the_form_updates_the_chart(
    fleet_site: Served,
    browser: Browser,  # noqa: F811
) -> None:
    w, ctx = _open(browser)
    try:
        p = w.page
        p.goto(fleet_site.url + "/plan")
        p.wait_for_selector("#plan[data-tokw='1'][data-fleet='1']", timeout=15_000)
        assert p.locator("#tokw-chart canvas").count() >= 1
        assert all(wd > 200 and ht > 200 for wd, ht in _sizes(p, "#tokw-chart canvas"))
        # default form: llama-3.1-70b on H100-SXM and B200, plus the 1/W reference line
        assert p.get_attribute("#tokw-chart", "data-series") == "3"
        assert p.locator("#tokw-table tbody tr").count() == 2 * 7
        assert p.locator("#fleet-chart svg rect[data-gpu]").count() == 2 * 3
        assert all(wd > 200 and ht > 200 for wd, ht in _sizes(p, "#fleet-chart svg"))
        # resubmit with one GPU more and a shorter context list: chart and table follow
        p.select_option("#tokw-gpu", ["H100-SXM", "B200", "H200"])
        p.fill("#tokw-form input[name=context]", "4096,16384,65536")
        p.click("#tokw-form button[type=submit]")
        p.wait_for_selector("#plan[data-tokw='2']")
        assert p.get_attribute("#tokw-chart", "data-series") == "4"
        assert p.locator("#tokw-table tbody tr").count() == 3 * 3
        # a model that does not fit shows the API's message, not a broken chart
        p.select_option("#tokw-model", ["llama-3.1-405b"])
        p.select_option("#tokw-form select[name=dtype]", "fp16")
        p.click("#tokw-form button[type=submit]")
        p.wait_for_selector("#plan[data-tokw-errors='1']")
        assert "short by" in p.text_content("#tokw-error")
        # the fleet form: one topology, two GPUs
        p.uncheck("#fleet-form input[value=pool]")
        p.uncheck("#fleet-form input[value=fleetopt]")
        p.click("#fleet-form button[type=submit]")
        p.wait_for_selector("#plan[data-fleet='2']")
        assert p.locator("#fleet-chart svg rect[data-gpu]").count() == 2
        ARTIFACTS.mkdir(exist_ok=True)
        p.screenshot(path=str(ARTIFACTS / "plan.png"), full_page=True)
        # the 405B error is the page's only error text; the console stays clean except the
        # browser's own log line for the 422 response
        assert [e for e in w.errors if "422" not in e] == []
    finally:
        ctx.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize(("path", "ready"), [
    ("/efficiency", "#efficiency[data-loaded='1']"),
    ("/plan", "#plan[data-tokw='1'][data-fleet='1']"),
])  # fmt: skip
def test_phone_width_has_no_horizontal_scroll(
    fleet_site: Served,
    browser: Browser,  # noqa: F811
    path: str,
    ready: str,
) -> None:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    w = Watched(ctx.new_page())
    try:
        w.page.goto(fleet_site.url + path)
        w.page.wait_for_selector(ready, timeout=15_000)
        assert w.page.evaluate("document.documentElement.scrollWidth") <= 390
        w.page.screenshot(path=str(ARTIFACTS / f"{path.strip('/')}-phone.png"))
        assert w.errors == []
    finally:
        ctx.close()


# -- #11: axis ticks, the knee on the chart, no productive bar without tokens -------------------


@pytest.fixture(scope="module")
def stuck_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The analysis fleet plus two 1-GPU deployments at 300 W: one serves no token, the other
    has GPU metrics only (no engine metrics, tokens unknown)."""
    tmp = tmp_path_factory.mktemp("stuck")
    store, records = plant_analysis(tmp / "w.duckdb", default_planted(), days=1.0)
    idle = [r for r in records if r.deployment_id == "lab/idle70"]
    seen = idle[0].ts_end_s - STEP_S
    store.upsert_deployments([h100("lab/stuck", "stuck", 1), h100("lab/gpuonly", "g", 1)], seen)
    joules = 300.0 * STEP_S
    no_engine = dict.fromkeys(
        ("prompt_tokens", "generation_tokens", "requests_finished", "itl_seconds_sum",
         "requests_running", "requests_waiting", "kv_cache_usage_ratio")
    )  # fmt: skip
    store.write_intervals([
        replace(r, deployment_id=dep, gpu_count=1, energy_joules=joules,
                co2_grams=joules / 3.6e6 * r.pue * r.carbon_intensity_kg_per_kwh * 1e3, **extra)
        for r in idle
        for dep, extra in (("lab/stuck", {}), ("lab/gpuonly", no_engine))
    ])  # fmt: skip
    store.rollup()
    s = serve(store, None, make_config(tmp))
    yield s
    s.close()


@pytest.mark.parametrize("width", [1280, 400])
def test_efficiency_charts_have_ticks_on_both_axes_and_the_knee_in_range(
    fleet_site: Served,
    browser: Browser,  # noqa: F811
    width: int,
) -> None:
    w, ctx = _open(browser, width)
    try:
        p = w.page
        p.goto(fleet_site.url + "/efficiency")
        p.wait_for_selector("#efficiency[data-loaded='1']", timeout=15_000)
        eff = fleet_site.get("/api/v2/analysis?range=7d").json()["charts"]["efficiency"]
        charts = p.eval_on_selector_all(
            "canvas.curve",
            "cs => cs.map(c => ({id: c.dataset.deployment, x: c.dataset.xTicks,"
            " y: c.dataset.yTicks, xr: c.dataset.xRange, knee: c.dataset.knee}))",
        )
        assert len(charts) == 4
        for c in charts:
            xt = [float(v) for v in c["x"].split(",")]
            yt = [float(v) for v in c["y"].split(",")]
            lo, hi = (float(v) for v in c["xr"].split(","))
            assert len(xt) >= 3 and len(yt) >= 3, c
            assert all(lo <= v <= hi for v in xt), c
            knee = eff[c["id"]]["knee_tokens_per_s"]
            if knee is not None:  # an extrapolated knee widens the range rather than vanish
                assert c["knee"] is not None and lo < knee < hi, c
        assert any(eff[c["id"]]["knee_tokens_per_s"] for c in charts)
        assert p.evaluate("document.documentElement.scrollWidth") <= width
        p.locator("#curves .curve-card").first.screenshot(
            path=str(ARTIFACTS / f"efficiency-curve-{width}.png")
        )
        assert w.errors == []
    finally:
        ctx.close()  # type: ignore[attr-defined]


def test_deployments_without_tokens_have_no_productive_bar(
    stuck_site: Served,
    browser: Browser,  # noqa: F811
) -> None:
    api = stuck_site.get("/api/v2/analysis?range=7d").json()
    deps = {d["deployment_id"]: d for d in api["deployments"]}
    assert deps["lab/stuck"]["tokens_per_s"] == 0 and deps["lab/stuck"]["energy_kwh"] > 0
    assert deps["lab/gpuonly"]["tokens_per_s"] is None
    assert deps["lab/gpuonly"]["productive_energy_kwh"] > 0  # what the bar must not show green
    w, ctx = _open(browser)
    try:
        p = w.page
        p.goto(stuck_site.url + "/efficiency")
        p.wait_for_selector("#efficiency[data-loaded='1']", timeout=15_000)
        for unit in ("energy", "co2"):
            p.click(f"[data-unit='{unit}']")
            row = p.locator("#idle-bars .bar-row[data-deployment='lab/stuck']")
            assert row.get_attribute("data-kind") == "zero"
            assert row.locator(".seg-productive").count() == 0
            assert row.locator(".seg-zero").evaluate("s => s.getBoundingClientRect().width") > 10
            # the API counts a GPU-only deployment's energy above idle as productive
            row = p.locator("#idle-bars .bar-row[data-deployment='lab/gpuonly']")
            assert row.get_attribute("data-kind") == "unknown"
            assert row.locator(".seg-productive").count() == 0
            assert row.locator(".seg-unknown").evaluate("s => s.getBoundingClientRect().width") > 10
            busy = p.locator("#idle-bars .bar-row[data-deployment='lab/llama8'] .seg-productive")
            assert busy.evaluate("s => s.getBoundingClientRect().width") > 1
        assert w.errors == []
    finally:
        ctx.close()  # type: ignore[attr-defined]
