"""The dashboard in real headless Chromium (Debian's, driven by Playwright's sync API)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from .conftest import Served, make_config, serve
from .plant import END_S, Spec, default_specs, info, plant

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
XSS = ["<img src=x onerror=window.__xss=1>", "</script><script>window.__xss=2</script>"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        yield b
        b.close()


class Watched:
    """A page plus every console error and uncaught exception it produced."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))


@pytest.fixture
def page(browser: Browser) -> Iterator[Watched]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme="light")
    w = Watched(ctx.new_page())
    yield w
    ctx.close()


def load(w: Watched, url: str, times: int = 1) -> None:
    w.page.goto(url + "/")
    w.page.wait_for_selector(f"#dashboard[data-loaded='{times}']", timeout=15_000)


def fmt(value: Any, digits: int, unit: str = "") -> str:
    """The dashboard's number format (JS toFixed), from the API value."""
    if value is None:
        return "-"
    return f"{value:.{digits}f}" + (f" {unit}" if unit else "")


FIELDS = {  # data-field -> (digits, unit), as the cards print them
    "live.power_watts": (1, "W"),
    "live.co2_grams_per_hour": (1, "g/h"),
    "live.co2_mg_per_token": (3, "mg"),
    "live.joules_per_token": (2, "J"),
    "live.prompt_tokens_per_s": (1, "tok/s"),
    "live.generation_tokens_per_s": (1, "tok/s"),
    "avg_24h.power_watts": (1, "W"),
    "avg_24h.co2_grams_per_hour": (1, "g/h"),
    "avg_24h.co2_mg_per_token": (3, "mg"),
    "avg_24h.joules_per_token": (2, "J"),
    "avg_24h.prompt_tokens_per_s": (1, "tok/s"),
    "avg_24h.generation_tokens_per_s": (1, "tok/s"),
    "avg_24h.decode_tokens_per_s": (1, "tok/s"),
    "activity.requests_running": (1, ""),
    "activity.requests_waiting": (1, ""),
    "activity.kv_cache_usage_percent": (1, "%"),
    "activity.gpu_util_percent": (1, "%"),
    "activity.requests_per_hour": (0, ""),
    "activity.decode_tokens_per_s": (1, "tok/s"),
}


def test_dashboard_numbers_equal_the_api(served: Served, page: Watched) -> None:
    load(page, served.url)
    api = {d["deployment"]: d for d in served.get("/api/v2/deployments").json()["deployments"]}
    shown = page.page.evaluate(
        """() => Array.from(document.querySelectorAll('article.card')).map(c => ({
            id: c.dataset.deployment,
            title: c.querySelector('.card-title').textContent,
            fields: Object.fromEntries(Array.from(c.querySelectorAll('[data-field]'))
                .map(e => [e.dataset.field, e.textContent]))}))"""
    )
    assert sorted(c["id"] for c in shown) == sorted(api)
    for card in shown:
        d = api[card["id"]]
        assert card["title"] == (d["model_name"] or d["workload"])
        for field, (digits, unit) in FIELDS.items():
            section, key = field.split(".")
            assert card["fields"][field] == fmt(d[section][key], digits, unit), (card["id"], field)
    fleet = served.get("/api/v2/fleet").json()
    tile = page.page.text_content("[data-tile='total_power_watts']")
    assert tile == fmt(fleet["total_power_watts"] / 1000, 2, "kW")
    assert page.page.text_content("[data-tile='active_gpus']") == (
        f"{fleet['active_gpus']} / {fleet['gpu_count']}"
    )
    bars = page.page.eval_on_selector_all(
        "#jpt-bars .bar-row", "rs => rs.map(r => r.dataset.deployment)"
    )
    assert set(bars) == {k for k, d in api.items() if d["live"]["joules_per_token"] is not None}
    assert page.page.is_hidden("#stale-banner")
    # each frontier sentence names the spec the API compared against (issue #11: one answer)
    frontier = page.page.eval_on_selector_all(
        "article.card .frontier",
        "es => es.map(e => [e.closest('article').dataset.deployment,"
        " e.dataset.frontierSpec, e.textContent])",
    )
    assert frontier, "no active card shows a frontier comparison"
    for dep_id, spec, text in frontier:
        assert spec == api[dep_id]["avg_24h"]["frontier_spec"] and f"(spec {spec})" in text
    ARTIFACTS.mkdir(exist_ok=True)
    page.page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    assert page.errors == []


def test_range_and_theme_switch(served: Served, page: Watched) -> None:
    load(page, served.url)
    p = page.page
    assert p.get_attribute("[data-range='7d']", "aria-pressed") == "true"
    p.click("[data-range='24h']")
    total = served.get("/api/v2/fleet/co2?range=24h").json()["total_co2_grams"]
    want = (
        f"{total / 1000:.2f} kg CO\u2082 in 24h"
        if total >= 1000
        else f"{total:.1f} g CO\u2082 in 24h"
    )
    p.wait_for_function(
        "want => document.getElementById('co2-total').textContent === want", arg=want
    )
    assert p.get_attribute("[data-range='24h']", "aria-pressed") == "true"
    points = len(served.get("/api/v2/fleet/co2?range=24h").json()["t"])
    assert p.get_attribute("#co2-chart", "data-drawn") == str(points)
    assert p.locator("#co2-chart canvas").count() == 1
    assert p.get_attribute("html", "data-theme") == "light"
    bg_light = p.evaluate("getComputedStyle(document.body).backgroundColor")
    p.click("#theme-toggle")
    assert p.get_attribute("html", "data-theme") == "dark"
    assert p.evaluate("getComputedStyle(document.body).backgroundColor") != bg_light
    p.reload()
    p.wait_for_selector("#dashboard[data-loaded='1']")
    assert p.get_attribute("html", "data-theme") == "dark"  # remembered
    assert p.get_attribute("[data-range='24h']", "aria-pressed") == "true"
    ARTIFACTS.mkdir(exist_ok=True)
    p.screenshot(path=str(ARTIFACTS / "dashboard-dark.png"), full_page=True)
    assert page.errors == []


def test_phone_width_is_one_column(served: Served, browser: Browser) -> None:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    w = Watched(ctx.new_page())
    try:
        load(w, served.url)
        p = w.page
        assert p.evaluate("document.documentElement.scrollWidth") <= 390
        lefts = p.eval_on_selector_all(
            "article.card", "cs => cs.map(c => c.getBoundingClientRect().left)"
        )
        assert len(set(lefts)) == 1
        p.screenshot(path=str(ARTIFACTS / "dashboard-phone.png"))
        assert w.errors == []
    finally:
        ctx.close()


def test_stale_banner_when_backend_is_down(tmp_path: Path, page: Watched) -> None:
    last_good = END_S - 3600
    meta = {
        "collector.source": "Prometheus API at http://prometheus:9090",
        "collector.last_success_s": repr(last_good),
        "collector.last_error": "GET http://prometheus:9090/api/v1/query: connection refused",
        "collector.last_error_s": repr(END_S - 30),
    }
    store, fleet = plant(tmp_path / "w.duckdb", days=0.05, end_s=last_good, meta=meta)
    s = serve(store, fleet, make_config(tmp_path))
    try:
        load(page, s.url)
        banner = page.page.locator("#stale-banner")
        assert banner.is_visible()
        status = s.get("/api/v2/status").json()
        assert status["data"]["last_good_sample_at"] == "2023-11-14T23:00:00Z"
        assert page.page.get_attribute("#last-good-sample", "datetime") == "2023-11-14T23:00:00Z"
        text = banner.text_content()
        assert "2023-11-14 23:00:00 UTC" in text and "60 min ago" in text
        assert "Backend down: GET http://prometheus:9090/api/v1/query: connection refused" in text
        # every deployment is past the live window: no live data, which is not "all idle"
        assert page.page.is_visible("#state-banner")
        assert "No live data" in page.page.text_content("#state-banner")
        assert "idle" not in page.page.text_content("#state-banner")
        assert page.errors == []
    finally:
        s.close()


def test_no_deployments_state(tmp_path: Path, page: Watched) -> None:
    from wattlens.store import Store

    s = serve(Store.open(tmp_path / "empty.duckdb"), None, make_config(tmp_path))
    try:
        load(page, s.url)
        assert page.page.is_visible("#cards-empty")
        assert "No deployments yet" in page.page.text_content("#cards-empty")
        assert page.page.is_visible("#stale-banner")  # no data at all is stale too
        assert page.errors == []
    finally:
        s.close()


def test_labels_are_rendered_as_text_never_executed(tmp_path: Path, page: Watched) -> None:
    base = default_specs()[0]
    specs = [
        replace(base, info=replace(info(f"evil/m{k}", payload, container=f"c{k}"), node=payload))
        for k, payload in enumerate(XSS)
    ] + [Spec(info("evil/plain", "plain-model"), 0.198, 1.0)]
    store, fleet = plant(tmp_path / "w.duckdb", specs, days=0.05)
    s = serve(store, fleet, make_config(tmp_path))
    try:
        load(page, s.url)
        p = page.page
        assert p.evaluate("typeof window.__xss") == "undefined"
        titles = p.eval_on_selector_all(
            "article.card .card-title", "ts => ts.map(t => t.textContent)"
        )
        assert sorted(titles) == sorted([*XSS, "plain-model"])
        metas = " ".join(p.eval_on_selector_all(".card-meta", "ms => ms.map(m => m.textContent)"))
        assert all(x in metas for x in XSS)
        labels = p.eval_on_selector_all(".bar-label", "ls => ls.map(l => l.textContent)")
        assert set(XSS) <= set(labels)
        assert p.locator("article.card img").count() == 0
        assert p.locator("script").count() == 3  # theme.js, uPlot, dashboard.js: nothing injected
        assert p.evaluate("typeof window.__xss") == "undefined"
        assert page.errors == []
    finally:
        s.close()


# -- #11: a fresh start, failures, narrow screens, the docs page and unknown pages --------------


def tile_texts(p: Page) -> list[str]:
    return p.eval_on_selector_all("[data-tile]", "ts => ts.map(t => t.textContent)")


def test_fresh_start_warms_up_then_goes_live(tmp_path: Path, page: Watched) -> None:
    """History is in the store (a backfill) but no live interval yet: 'warming up', never idle
    or 0.00 kW, the 7 d chart drawn; then the collector's intervals land and the page goes live."""
    history_end = END_S - 3600
    meta = {"collector.source": "Prometheus API at http://prometheus:9090"}  # no cycle yet
    store, fleet = plant(tmp_path / "w.duckdb", days=2, end_s=history_end, meta=meta)
    s = serve(store, fleet, make_config(tmp_path))
    try:
        load(page, s.url)
        p = page.page
        assert p.get_attribute("#dashboard", "data-phase") == "warming_up"
        assert "Warming up" in p.text_content("#state-banner") and p.is_visible("#state-banner")
        body = p.text_content("#dashboard")
        assert "idle:" not in body and "All deployments are idle" not in body
        assert "0.00" not in " ".join(tile_texts(p))
        assert p.text_content("[data-tile='total_power_watts']") == "-"
        badges = p.eval_on_selector_all("article.card .badge", "bs => bs.map(b => b.textContent)")
        assert badges and "no data" not in badges and set(badges) == {"warming up"}
        assert p.is_hidden("#stale-banner")  # the newest row is backfill, not a stale feed
        co2 = s.get("/api/v2/fleet/co2?range=7d").json()
        assert co2["t"] and p.get_attribute("#co2-chart", "data-drawn") == str(len(co2["t"]))
        assert p.text_content("#co2-total").endswith("CO\u2082 in 7d")
        assert p.locator("#co2-chart canvas").count() == 1
        p.screenshot(path=str(ARTIFACTS / "dashboard-warming-up.png"))

        # the collector catches up: the last ten intervals again, an hour later, and a success
        caught_up = [
            replace(r, ts_end_s=r.ts_end_s + 3600)
            for r in fleet.records
            if r.ts_end_s > history_end - 300
        ]
        store.write_intervals(caught_up)
        store.set_meta("collector.last_success_s", repr(END_S))
        p.wait_for_selector("#dashboard[data-phase='ok']", timeout=15_000)
        fleet_api = s.get("/api/v2/fleet").json()
        assert fleet_api["active_deployments"] > 0
        tile = p.text_content("[data-tile='total_power_watts']")
        assert tile == fmt(fleet_api["total_power_watts"] / 1000, 2, "kW")
        assert p.is_hidden("#state-banner") and p.is_hidden("#stale-banner")
        assert "active" in p.eval_on_selector_all(
            "article.card .badge", "bs => bs.map(b => b.textContent)"
        )
        p.screenshot(path=str(ARTIFACTS / "dashboard-live.png"))
        assert page.errors == []
    finally:
        s.close()


def _with_collection(p: Page, collection: dict[str, Any]) -> None:
    """Answer /api/v2/status with the server's body plus `collection` (the #11 contract)."""

    def handle(route: Any) -> None:
        resp = route.fetch()
        route.fulfill(response=resp, json={**resp.json(), "collection": collection})

    p.route("**/api/v2/status", handle)


def test_failure_banner_names_each_target(served: Served, page: Watched) -> None:
    failures = [
        {"target": "http://10.0.0.7:9400/metrics", "cause": "connection refused",
         "since": "2023-11-14T23:30:00Z"},
        {"target": "http://prometheus:9090/api/v1/query_range", "cause": "HTTP 503",
         "since": "2023-11-14T23:55:00Z"},
    ]  # fmt: skip
    _with_collection(page.page, {"mode": "live", "failures": failures})
    load(page, served.url)
    p = page.page
    assert p.is_visible("#failures-banner")
    items = p.eval_on_selector_all(
        "#failures-banner li",
        "ls => ls.map(l => [l.dataset.target, l.textContent, l.querySelector('time').dateTime])",
    )
    assert [i[0] for i in items] == [f["target"] for f in failures]
    assert (
        "connection refused" in items[0][1]
        and "2023-11-14 23:30:00 UTC (30 min ago)" in items[0][1]
    )
    assert "HTTP 503" in items[1][1] and "(5 min ago)" in items[1][1]
    assert [i[2] for i in items] == [f["since"] for f in failures]
    assert "2 targets" in p.text_content("#failures-banner")
    p.screenshot(path=str(ARTIFACTS / "dashboard-failures.png"))
    assert page.errors == []


def test_stored_only_banner_and_no_live_tiles(served: Served, page: Watched) -> None:
    _with_collection(page.page, {"mode": "stored_only", "failures": []})
    load(page, served.url)
    p = page.page
    assert p.get_attribute("#dashboard", "data-phase") == "stored_only"
    assert "Serving stored history only" in p.text_content("#mode-banner")
    assert p.is_hidden("#failures-banner") and p.is_hidden("#state-banner")
    assert p.text_content("[data-tile='total_power_watts']") == "-"
    assert p.locator("#co2-chart canvas").count() == 1  # the history is still drawn
    assert page.errors == []


def test_400px_wide_has_no_horizontal_overflow(served: Served, browser: Browser) -> None:
    ctx = browser.new_context(viewport={"width": 400, "height": 900}, color_scheme="light")
    w = Watched(ctx.new_page())
    try:
        load(w, served.url)
        p = w.page
        assert p.evaluate("document.documentElement.scrollWidth") <= 400
        inside = """() => { const b = document.getElementById('co2-chart').getBoundingClientRect();
            const c = document.querySelector('#co2-chart canvas').getBoundingClientRect();
            return c.width > 100 && c.left >= b.left && c.right <= b.right + 0.5; }"""
        assert p.evaluate(inside)
        # the box narrows without a window resize (as when a scrollbar appears): the chart follows
        p.evaluate("document.querySelector('main').style.paddingRight = '40px'")
        p.wait_for_function(inside, timeout=10_000)
        assert p.evaluate("document.documentElement.scrollWidth") <= 400
        p.screenshot(path=str(ARTIFACTS / "dashboard-400.png"))
        assert w.errors == []
    finally:
        ctx.close()


def test_docs_page_leads_back_to_the_dashboard(served: Served, page: Watched) -> None:
    p = page.page
    p.goto(served.url + "/docs")
    p.wait_for_selector("#swagger-ui .opblock", timeout=15_000)  # Swagger UI ran under the CSP
    assert p.locator("header.topbar nav a[href='/']").count() == 1
    p.click("#back-to-dashboard")
    p.wait_for_selector("#dashboard[data-loaded='1']", timeout=15_000)
    assert p.url == served.url + "/"
    assert page.errors == []


def test_unknown_page_is_an_html_404(served: Served, page: Watched) -> None:
    r = served.get("/no/such/page")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Page not found" in r.text and "/no/such/page" in r.text
    api = served.get("/api/v2/no-such-thing")
    assert api.status_code == 404 and api.json()["ok"] is False
    p = page.page
    resp = p.goto(served.url + "/no/such/page")
    assert resp is not None and resp.status == 404
    assert p.text_content("h1") == "Page not found"
    p.click("#not-found a[href='/']")
    p.wait_for_selector("#dashboard[data-loaded='1']", timeout=15_000)
    # Chromium logs the document's own 404 status; nothing else may fail
    assert [e for e in page.errors if "404" not in e] == []
