"""The Plan page's sweet-spot section in real headless Chromium: the synthetic grid is fitted on
load and drawn as a heatmap with the n_out* ridge; an uploaded CSV with planted θ gives the
hand-computed n_out*; a bad CSV shows the API's message naming the line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from wattlens.store import Store

from .conftest import Served, make_config, serve
from .test_browser import ARTIFACTS, Watched, browser  # noqa: F401 - the fixture
from .test_sweetspot_api import AXIS, THETA, planted_csv

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("sweetspot-page")
    s = serve(Store.open(tmp / "empty.duckdb"), None, make_config(tmp))
    yield s
    s.close()


def test_sweetspot_section_fits_draws_and_reports_errors(
    site: Served,
    browser: Browser,  # noqa: F811
    tmp_path: Path,
) -> None:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme="light")
    w = Watched(ctx.new_page())
    try:
        p = w.page
        p.goto(site.url + "/plan")
        p.wait_for_selector("#sweetspot[data-fits='1']", timeout=20_000)
        cells = int(p.get_attribute("#sweetspot-chart", "data-cells") or 0)
        assert cells >= 100 and p.locator("#sweetspot-chart svg rect").count() == cells
        assert p.locator("#sweetspot-chart svg polyline[data-ridge]").count() == 1
        assert p.locator("#sweetspot-theta tbody tr").count() == 5
        # upload a planted grid: n_out* per n_in = sqrt((θ1 n² + θ3 n) / θ4), by hand
        csv = tmp_path / "planted.csv"
        csv.write_text(planted_csv())
        p.set_input_files("#sweetspot-form input[name=data]", str(csv))
        p.click("#sweetspot-form button[type=submit]")
        p.wait_for_selector("#sweetspot[data-fits='2']")
        rows = p.locator("#sweetspot-star tbody tr")
        assert rows.count() == len(AXIS)
        first = float(rows.nth(0).locator("td").nth(1).text_content().replace(",", ""))
        n = AXIS[0]
        assert first == pytest.approx(((THETA[1] * n * n + THETA[3] * n) / THETA[4]) ** 0.5, 1e-3)
        ARTIFACTS.mkdir(exist_ok=True)
        p.locator("#sweetspot").screenshot(path=str(ARTIFACTS / "plan-sweetspot.png"))
        bad = tmp_path / "bad.csv"
        bad.write_text("n_in,n_out,energy_joules\n64,64,1\n64,x,1\n")
        p.set_input_files("#sweetspot-form input[name=data]", str(bad))
        p.click("#sweetspot-form button[type=submit]")
        p.wait_for_selector("#sweetspot[data-errors='1']")
        assert "line 3" in (p.text_content("#sweetspot-error") or "")
        # the 400 of the bad upload is the console's only complaint
        assert [e for e in w.errors if "400" not in e] == []
    finally:
        ctx.close()


def test_sweetspot_heatmap_fits_a_phone(site: Served, browser: Browser) -> None:  # noqa: F811
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    w = Watched(ctx.new_page())
    try:
        w.page.goto(site.url + "/plan")
        w.page.wait_for_selector("#sweetspot[data-fits='1']", timeout=20_000)
        assert w.page.evaluate("document.documentElement.scrollWidth") <= 390
        box = w.page.locator("#sweetspot-chart svg").bounding_box()
        assert box is not None and 200 < box["width"] <= 390 and box["height"] > 200
        assert w.errors == []
    finally:
        ctx.close()
