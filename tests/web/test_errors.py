"""Bad input anywhere in the API: a 4xx in the one error shape with a message, never a 5xx."""

from __future__ import annotations

import http.client
import json
import re
from urllib.parse import urlsplit

import pytest

from .conftest import Served

BAD_PATH_VALUES = ["..", "%2e%2e", "%2E%2E%2Fetc", "UPPER", "a" * 300, "x<script>", "a%20b", "-x"]
BAD_QUERIES = [
    {"range": "abc"},
    {"range": "999d"},
    {"range": "0s"},
    {"range": "-1h"},
    {"range": "7d;drop"},
    {"metric": "bogus"},
    {"metric": "power_watts", "step": "1ms"},
    {"metric": "power_watts", "step": "abc"},
    {"metric": "power_watts", "range": "90d", "step": "30s"},
    {"metric": 'power_watts"}'},
    {"frontier": "..%2F..%2Fetc%2Fpasswd"},
    {"frontier": "x" * 300},
    {"model": "<x>", "gpu": "H100-SXM", "rate": "1"},
    {"model": "llama-3.1-8b", "gpu": "H100-SXM", "context": "-1", "rate": "-1"},
    {"model": "llama-3.1-8b", "gpu": "H100-SXM", "rate": "1", "topology": "%00", "tp": "0"},
    {"model": "llama-3.1-8b", "gpu": "H100-SXM", "rate": "inf", "batch": "1e99"},
    {"model": "llama-3.1-8b", "gpu": "%2e%2e", "rate": "1"},
]
GOOD = {"namespace": "nrp-llm", "container": "vllm", "workload": "gemma", "metric": "power_watts"}


def _assert_error_shape(r, url: str) -> None:
    assert r.status_code < 500, (url, r.status_code, r.text)
    if r.status_code >= 400:
        body = r.json()
        assert set(body) == {"ok", "error", "status"}, (url, body)
        assert body["ok"] is False and body["status"] == r.status_code
        assert isinstance(body["error"], str) and len(body["error"]) > 10


def test_walk_every_api_route_with_bad_input(served: Served) -> None:
    spec = served.get("/openapi.json").json()["paths"]
    paths = [p for p, ops in spec.items() if "get" in ops]
    assert len(paths) >= 11 and "/readyz" in paths
    checked = 0
    for path in paths:
        query = {q["name"] for q in spec[path]["get"].get("parameters", []) if q["in"] == "query"}
        params = re.findall(r"{(\w+)}", path)
        urls = []
        for p in params:  # one bad path parameter at a time
            for bad in BAD_PATH_VALUES:
                values = {**GOOD, p: bad}
                urls.append(path.format(**values))
        good_path = path.format(**GOOD)
        for q in BAD_QUERIES:
            if not set(q) & query:
                continue
            urls.append(good_path + "?" + "&".join(f"{k}={v}" for k, v in q.items()))
        for url in urls:
            r = served.get(url)
            _assert_error_shape(r, url)
            checked += 1
    assert checked > 80


@pytest.mark.parametrize(
    ("url", "status", "fragment"),
    [
        ("/api/v1/carbon/timeseries?range=abc", 400, "range 'abc' is not a duration"),
        ("/api/v1/carbon/timeseries?range=999d", 400, "longer than the maximum 90d"),
        ("/api/v1/carbon/nrp-llm/vllm/joules?range=24h", 400, "metric 'joules' is unknown"),
        ("/api/v1/carbon/%2e%2e/vllm/power_watts", 400, "namespace '..' is not a Kubernetes name"),
        ("/api/v2/deployments/nrp-llm/gemma/series?metric=rm", 400, "metric 'rm' is unknown"),
        ("/api/v2/deployments/nrp-llm/gemma/series", 400, "metric"),
        ("/api/v2/deployments/nrp-llm/nope", 404, "deployment 'nrp-llm/nope' is unknown"),
        ("/api/v2/nothing", 404, "no such path"),
    ],
)
def test_messages(served: Served, url: str, status: int, fragment: str) -> None:
    r = served.get(url)
    assert r.status_code == status, r.text
    assert fragment in r.json()["error"]
    _assert_error_shape(r, url)


@pytest.mark.parametrize(
    "raw_path",
    [
        "/api/v1/carbon/../../../etc/passwd/power_watts",
        "/api/v2/deployments/../../etc/passwd",
        "/static/../app.py",
        "/static/..%2fapp.py",
        "/static/%2e%2e/%2e%2e/errors.py",
        "/api/v1/carbon/a/b/c/d/e",
    ],
)
def test_path_traversal_sent_verbatim(served: Served, raw_path: str) -> None:
    # http.client sends the path as written (httpx would normalise the dot segments away)
    host = urlsplit(served.url)
    conn = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    try:
        conn.request("GET", raw_path)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    assert 400 <= resp.status < 500, (raw_path, resp.status)
    assert b"import " not in body  # never a source file
    if resp.headers.get("content-type", "").startswith("application/json"):
        assert json.loads(body)["ok"] is False
