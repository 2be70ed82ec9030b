"""/readyz and /api/v2/status, /metrics, the offline pages, and serve_in_thread itself."""

from __future__ import annotations

import re
import socket
import sys

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from wattlens.core.errors import ConfigError
from wattlens.web import create_app, serve_in_thread

from .conftest import Served, make_config, serve
from .plant import END_S, live_expect, plant, window

COLLECTOR_META = {
    "collector.source": "Prometheus API at http://prometheus:9090",
    "collector.last_success_s": repr(END_S - 30),
}


@pytest.fixture
def clocked(tmp_path):
    """A small planted store whose clock the test moves."""
    now = {"t": END_S}
    store, fleet = plant(tmp_path / "w.duckdb", days=0.02, meta=COLLECTOR_META)
    s = serve(store, fleet, make_config(tmp_path), clock=lambda: now["t"])
    yield s, now
    s.close()


def test_readyz_fresh_then_stale(clocked) -> None:
    s, now = clocked
    r = s.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["backend"]["state"] == "ok" and body["data"]["age_s"] == 30
    assert body["data"]["last_good_sample_at"] == "2023-11-14T23:59:30Z"
    now["t"] = END_S - 30 + 301  # stale after max(3 x 30 s step, 5 min)
    r = s.get("/readyz")
    assert r.status_code == 503 and r.json()["data"]["stale"] is True
    assert s.get("/api/v2/status").status_code == 200


def test_backend_down_is_reported(clocked) -> None:
    s, now = clocked
    s.store.set_meta("collector.last_error", "connection refused: prometheus:9090")
    s.store.set_meta("collector.last_error_s", repr(END_S))
    body = s.get("/api/v2/status").json()
    assert body["backend"] == {
        "state": "down",
        "source": COLLECTOR_META["collector.source"],
        "last_error": "connection refused: prometheus:9090",
        "last_error_at": "2023-11-15T00:00:00Z",
    }
    assert body["ready"] is True  # one failed cycle: the data is still fresh


def test_metrics_exporter(served: Served) -> None:
    r = served.get("/metrics")
    assert r.status_code == 200
    fams = {f.name: f for f in text_string_to_metric_families(r.text)}
    for name in (
        "wattlens_power_watts",
        "wattlens_joules_per_token",
        "wattlens_co2_grams_per_hour",
        "wattlens_co2_mg_per_token",
        "wattlens_carbon_intensity_kg_per_kwh",
    ):
        assert fams[name].type == "gauge"
    power = {s.labels["deployment"]: s for s in fams["wattlens_power_watts"].samples}
    for spec in served.fleet.specs:
        sample = power[spec.info.deployment_id]
        exp = live_expect(window(served.fleet.of(spec.info.deployment_id), END_S - 300, END_S))
        assert sample.value == pytest.approx(exp["power_watts"])
        assert sample.labels == {
            "deployment": spec.info.deployment_id,
            "namespace": spec.info.namespace,
            "model_name": spec.info.model_name or "",
            "gpu_type": "A6000",
        }
    ci = {
        s.labels["deployment"]: s.value
        for s in fams["wattlens_carbon_intensity_kg_per_kwh"].samples
    }
    assert ci["nrp-llm/qwen"] == pytest.approx(0.3)
    # below the ratio threshold there is no J/token sample at all (not a 0)
    jpt = {s.labels["deployment"] for s in fams["wattlens_joules_per_token"].samples}
    assert "sdsc-llm/kimi" not in jpt and "nrp-llm/gpt-oss" in jpt


EXTERNAL = re.compile(r"""(?:https?:)?//(?!127\.0\.0\.1|localhost)[a-z0-9.-]+\.[a-z]{2,}""", re.I)
# XML namespace names are identifiers that createElementNS needs, never fetched
NAMESPACES = ("http://www.w3.org/2000/svg",)


def _external(text: str) -> list[str]:
    for ns in NAMESPACES:
        text = text.replace(f'"{ns}"', '""')
    return EXTERNAL.findall(text)


@pytest.mark.parametrize("path", ["/", "/efficiency", "/plan", "/methodology", "/docs"])
def test_pages_have_no_external_urls_and_hashed_assets(served: Served, path: str) -> None:
    r = served.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert _external(r.text) == []
    assets = re.findall(r"""(?:src|href)=["'](/static/[^"']+)["']""", r.text)
    assert assets, "no packaged assets referenced"
    for url in assets:
        assert re.search(r"\?h=[0-9a-f]{12}$", url), url
        a = served.get(url)
        assert a.status_code == 200 and len(a.content) > 0, url
        if url.endswith((".css", ".js")) and "vendor/" not in url:
            assert _external(a.text) == [], url


def test_openapi_documents_every_api_route(served: Served) -> None:
    paths = served.get("/openapi.json").json()["paths"]
    for p in (
        "/api/v1/carbon",
        "/api/v1/carbon/timeseries",
        "/api/v1/carbon/{namespace}/{container}/{metric}",
        "/api/v2/deployments",
        "/api/v2/deployments/{namespace}/{workload}",
        "/api/v2/deployments/{namespace}/{workload}/series",
        "/api/v2/fleet",
        "/api/v2/fleet/co2",
        "/api/v2/status",
        "/api/v2/config",
        "/api/v2/analysis",
        "/api/v2/plan/tokw",
        "/api/v2/plan/fleet",
        "/api/v2/catalog/gpus",
        "/api/v2/catalog/models",
        "/api/v2/catalog/frontiers",
        "/readyz",
        "/healthz",
    ):
        assert p in paths


def test_serve_in_thread_port_in_use(config) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            serve_in_thread(create_app(store=None, config=config), "127.0.0.1", port)


def test_serve_in_thread_stop_closes_port(tmp_path, config) -> None:
    store, _ = plant(tmp_path / "w.duckdb", days=0.01)
    handle = serve_in_thread(create_app(store=store, config=config), "127.0.0.1", 0)
    assert httpx.get(handle.url + "/healthz").status_code == 200
    # The server thread shares the GIL with the collector: a 1 ms switch interval bounds how
    # long a request waits for it (CPython's default is 5 ms).
    assert sys.getswitchinterval() <= 0.001 + 1e-9
    handle.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(handle.url + "/healthz", timeout=2)
    store.close()


def test_cache_serves_stale_while_one_thread_rebuilds() -> None:
    import threading
    import time as _time

    from wattlens.web.snapshot import TTLCache

    cache = TTLCache(ttl_s=1e-9)  # every value is stale at once
    built: list[int] = []
    gate = threading.Event()

    def make() -> int:
        if built:
            gate.wait(10)  # hold the background rebuild until the test has looked
        built.append(len(built))
        return len(built)

    assert cache.get("k", make) == 1  # first build is inline
    assert cache.get("k", make) == 1  # stale: served at once, rebuild started
    assert cache.get_nowait("k", make) == 1  # a second caller does not start another
    gate.set()
    deadline = _time.monotonic() + 10
    while cache.get_nowait("k", make) == 1:
        assert _time.monotonic() < deadline, "background rebuild never finished"
    assert len(built) >= 2


def test_fast_path_serves_cached_carbon_bytes(tmp_path, config) -> None:
    store, _ = plant(tmp_path / "w.duckdb", days=0.01)
    app = create_app(store=store, config=config, clock=lambda: END_S, cache_ttl_s=3600)
    handle = serve_in_thread(app, "127.0.0.1", 0)
    try:
        first = httpx.get(handle.url + "/api/v1/carbon")  # built by the route
        second = httpx.get(handle.url + "/api/v1/carbon")  # answered by the fast path
        assert first.content == second.content and len(second.json()["models"]) == 5
        assert second.headers["content-type"] == "application/json"
    finally:
        handle.stop()
        store.close()
