"""Web and API (issue 14): a real `wattlens serve` subprocess over a store whose deployments carry
hostile labels, configured with backend credentials and a backend that is down.

Checked: security headers on every kind of answer, no CORS unless configured, credentials on
no page, API answer or log line, hostile labels rendered as text in Chromium, and PromQL-looking
path and query inputs answered without a 5xx.
"""

from __future__ import annotations

import math
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from servers import free_port, wait_until
from store.factories import deployment, intervals
from wattlens.store import Store

from .procs import wattlens

TOKEN = "tokSECRET1x"
PASSWORD = "pwSECRET2y"
HOSTILE = [
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror="window.__pwned=2">',
    "ünï\u202ecödé ✓ 漢字 \U0001f525",
    "ctl\x01\x07\x1b[31mred",
]
INJECTIONS = ['"} or vector(1) or {"', "a'b\"c", '{x=~".*"}', "%00", "..%2F..%2F", 'a\\"}']


class Service:
    def __init__(self, url: str, proc: object, log: Path) -> None:
        self.url = url
        self.proc = proc
        self.log = log
        self.client = httpx.Client(base_url=url, timeout=30)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("websec")
    db = root / "w.duckdb"
    now = math.floor(time.time() / 30.0) * 30.0
    with Store.open(db) as store:
        for i, label in enumerate(HOSTILE):
            dep_id = f"ns{i}/wl{i}"
            store.upsert_deployments(
                [deployment(dep_id, model_name=label, container=label, node=label)], now
            )
            store.write_intervals(intervals(dep_id, n=60, start_s=now - 60 * 30.0))
        store.rollup_pending()
    cfg = root / "wattlens.toml"
    closed = free_port()  # nothing listens: the backend is down for the whole test
    cfg.write_text(
        f'[backend]\nprometheus_url = "http://wluser:{PASSWORD}@127.0.0.1:{closed}"\n'
        f'bearer_token = "{TOKEN}"\n'
    )
    port = free_port()
    log = root / "serve.log"
    proc = wattlens("serve", "--config", str(cfg), "--db", str(db), "--port", str(port))
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
        try:
            return httpx.get(url + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, "wattlens serve", timeout_s=60)
    svc = Service(url, proc, log)
    yield svc
    svc.client.close()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    log.write_bytes(err)


def get_paths(svc: Service) -> list[str]:
    """Every GET path of the OpenAPI document without path parameters, plus the pages."""
    spec = svc.client.get("/openapi.json").json()
    api = [p for p, ops in spec["paths"].items() if "get" in ops and "{" not in p]
    return sorted({*api, "/", "/efficiency", "/plan", "/docs", "/metrics", "/openapi.json"})


def test_security_headers_on_every_kind_of_answer(service: Service) -> None:
    paths = ["/", "/api/v1/carbon", "/api/v2/status", "/static/wattlens.css", "/metrics",
             "/no/such/page", "/api/v2/deployments/none/such"]  # fmt: skip
    for path in paths:
        h = service.client.get(path).headers
        assert h["x-content-type-options"] == "nosniff", path
        assert h["x-frame-options"] == "DENY", path
        assert h["referrer-policy"] == "no-referrer", path
        csp = h["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-eval" not in csp and "script-src 'self' 'unsafe-inline'" not in csp


def test_no_cors_by_default(service: Service) -> None:
    evil = {"Origin": "https://evil.example"}
    assert (
        "access-control-allow-origin"
        not in service.client.get("/api/v2/status", headers=evil).headers
    )
    pre = service.client.options(
        "/api/v2/status",
        headers={**evil, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in pre.headers


def test_credentials_appear_nowhere(service: Service) -> None:
    for path in get_paths(service):
        body = service.client.get(path).text
        assert TOKEN not in body and PASSWORD not in body, path
    # once the collector has tried the backend, the status names it, without its password
    wait_until(
        lambda: "127.0.0.1" in service.client.get("/api/v2/status").text,
        "the status to name the failing backend",
        timeout_s=60,
    )
    status = service.client.get("/api/v2/status").text
    assert TOKEN not in status and PASSWORD not in status


def test_promql_like_inputs_never_5xx(service: Service) -> None:
    for text in INJECTIONS:
        q = quote(text, safe="")
        for path in (f"/api/v2/deployments/{q}/{q}", f"/api/v2/deployments/{q}/{q}/series",
                     f"/api/v1/carbon/{q}/{q}/energy", f"/api/v2/fleet?range={q}",
                     f"/api/v2/report?since={q}", f"/{q}/{q}"):  # fmt: skip
            r = service.client.get(path)
            assert r.status_code < 500, (path, r.status_code, r.text[:300])


@pytest.mark.browser
def test_hostile_labels_render_as_text_in_chromium(service: Service) -> None:
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium")
    assert exe, "chromium is not installed"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe)
        page = browser.new_page()
        csp_errors: list[str] = []
        page.on("console", lambda m: csp_errors.append(m.text)
                if "Content Security Policy" in m.text else None)  # fmt: skip
        for path in ("/", "/efficiency"):
            page.goto(service.url + path)
            page.wait_for_load_state("networkidle")
            assert page.evaluate("window.__pwned") is None, path
            assert page.locator("script:has-text('__pwned')").count() == 0, path
            assert page.locator("img[src=x]").count() == 0, path
        page.goto(service.url + "/")
        page.wait_for_function("document.body.innerText.includes('window.__pwned=1')")
        assert "<script>window.__pwned=1</script>" in page.inner_text("body")
        browser.close()
    assert csp_errors == []


def test_credentials_never_logged(service: Service) -> None:
    # runs last in this module: stop the service so its whole log is in
    service.client.get("/api/v2/status")
    proc = service.proc
    proc.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
    _, err = proc.communicate(timeout=30)  # type: ignore[attr-defined]
    text = err.decode(errors="replace")
    assert "127.0.0.1" in text or text == ""  # the failing backend may be named
    assert TOKEN not in text and PASSWORD not in text
