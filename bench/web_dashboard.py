"""Dashboard load time in headless Chromium: 200 deployments at range 7d (goal <= 1 s).

Time is from navigation start to every panel rendered and the CO2 chart drawn (the page sets
`window.__wattlensDrawnMs` from `performance.now()` then). Each load uses a fresh browser
context (cold HTTP cache). Baseline in the same run: the same page over a 5-deployment fleet.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.web_api import build_fleet_store
from wattlens.config import load_config
from wattlens.web import create_app, serve_in_thread

LOADS = 5
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _load_times(browser, url: str) -> list[float]:  # noqa: ANN001
    out = []
    for _ in range(LOADS + 1):  # the first load warms the server's cache and is dropped
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        page.goto(url + "/")
        page.wait_for_selector("#dashboard[data-loaded='1']", timeout=30_000)
        assert page.get_attribute("[data-range='7d']", "aria-pressed") == "true"
        out.append(page.evaluate("window.__wattlensDrawnMs"))
        ctx.close()
    return out[1:]


def _measure(browser, tmp: Path, deployments: int) -> tuple[float, int]:  # noqa: ANN001
    store, end = build_fleet_store(tmp / f"d{deployments}.duckdb", deployments=deployments)
    cfg = tmp / "wattlens.toml"
    cfg.write_text("")
    app = create_app(store=store, config=load_config(cfg, environ={}), clock=lambda: end)
    handle = serve_in_thread(app, "127.0.0.1", 0)
    try:
        times = _load_times(browser, handle.url)
    finally:
        handle.stop()
        store.close()
    return statistics.median(times), deployments


def main() -> None:
    """Load the dashboard for 200 and for 5 deployments and print the medians and ratio."""
    with tempfile.TemporaryDirectory() as d, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
        try:
            big, n = _measure(browser, Path(d), 200)
            small, m = _measure(browser, Path(d), 5)
        finally:
            browser.close()
    print(
        f"{n} deployments, range 7d: {big:7.0f} ms to all panels and charts drawn "
        f"(median of {LOADS}; goal <= 1000 ms)"
    )
    print(f"{m} deployments (baseline):  {small:7.0f} ms")
    print(f"ratio {n} / {m} deployments: {big / small:.2f}")


if __name__ == "__main__":
    main()
