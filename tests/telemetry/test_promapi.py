"""PrometheusClient: real Prometheus and VictoriaMetrics; MockTransport only at the HTTP edge."""

from __future__ import annotations

import gzip
import json
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from conftest import N_POINTS, STEP_S, TRICKY, Planted

from servers import Server, free_port
from wattlens.core.errors import BackendError, ConfigError, InputError
from wattlens.telemetry.promapi import PrometheusClient, escape_label_value, selector
from wattlens.telemetry.records import SeriesKey, SeriesSet

# -- selector building ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("plain", "plain"),
        ('a"b', 'a\\"b'),
        ("back\\slash", "back\\\\slash"),
        ("line\nbreak", "line\\nbreak"),
        ('"}) or vector(1) #', '\\"}) or vector(1) #'),
    ],
)
def test_escape_label_value(value: str, escaped: str) -> None:
    assert escape_label_value(value) == escaped


def test_selector_quotes_values_and_sorts_labels() -> None:
    got = selector("DCGM_FI_DEV_POWER_USAGE", pod='x"}', namespace="llm")
    assert got == 'DCGM_FI_DEV_POWER_USAGE{namespace="llm",pod="x\\"}"}'
    assert selector("vllm:prompt_tokens_total") == "vllm:prompt_tokens_total"


@pytest.mark.parametrize(
    ("name", "labels"),
    [
        ("up or vector(1)", {}),
        ("9lives", {}),
        ("", {}),
        ("m", {"bad-label": "x"}),
        ("m", {"a:b": "x"}),
    ],
)
def test_selector_rejects_bad_names(name: str, labels: dict[str, str]) -> None:
    with pytest.raises(InputError):
        selector(name, **labels)


# -- auth, retries, errors at the HTTP boundary ---------------------------------------------

OK_VECTOR = {
    "status": "success",
    "data": {"resultType": "vector", "result": [{"metric": {"__name__": "up"}, "value": [1, "1"]}]},
}


def _client(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> PrometheusClient:
    kw.setdefault("backoff_s", 0.5)
    return PrometheusClient("http://prom.test:9090", transport=httpx.MockTransport(handler), **kw)


def test_bearer_token_header_and_masked_repr() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json=OK_VECTOR)

    c = _client(handler, bearer_token="s3cret-token")
    assert c.instant("up") == [({"__name__": "up"}, 1.0, 1.0)]
    assert seen == ["Bearer s3cret-token"]
    assert "s3cret" not in repr(c) and "***" in repr(c)


def test_bearer_token_from_file_reread_and_from_env(tmp_path: Path) -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json=OK_VECTOR)

    token_file = tmp_path / "token"
    token_file.write_text("first\n")
    c = _client(handler, bearer_token_file=token_file)
    c.instant("up")
    token_file.write_text("rotated\n")  # Kubernetes rotates projected tokens
    c.instant("up")
    _client(handler, environ={"WATTLENS_BEARER_TOKEN": "from-env"}).instant("up")
    _client(handler, environ={}).instant("up")
    assert seen == ["Bearer first", "Bearer rotated", "Bearer from-env", None]


def test_missing_token_file_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="bearer token file"):
        _client(lambda r: httpx.Response(200), bearer_token_file=tmp_path / "nope")


def test_url_without_scheme_is_config_error() -> None:
    with pytest.raises(ConfigError, match="http://"):
        PrometheusClient("localhost:9090")


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retries_with_exponential_backoff_then_succeeds(status: int) -> None:
    calls = []
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) <= 2:
            return httpx.Response(status, json={"status": "error", "error": "busy"})
        return httpx.Response(200, json=OK_VECTOR)

    c = _client(handler, retries=3, sleep=sleeps.append)
    assert len(c.instant("up")) == 1
    assert len(calls) == 3
    assert sleeps == [0.5, 1.0]


def test_gives_up_after_retries_and_quotes_error() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503, json={"status": "error", "errorType": "timeout", "error": "q"})

    with pytest.raises(BackendError, match="timeout"):
        _client(handler, retries=2, sleep=lambda s: None).instant("up")
    assert len(calls) == 3


def test_connect_errors_are_retried() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json=OK_VECTOR)

    assert _client(handler, sleep=lambda s: None).instant("up")
    assert len(calls) == 2


def test_4xx_is_not_retried_and_quotes_prometheus_error() -> None:
    calls = []
    msg = 'parse error: unexpected "}" in label matching'

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(400, json={"status": "error", "errorType": "bad_data", "error": msg})

    with pytest.raises(BackendError) as e:
        _client(handler, sleep=lambda s: None).instant("up{")
    assert msg in str(e.value) and "bad_data" in str(e.value)
    assert len(calls) == 1


def test_non_json_answer_says_where_to_look() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>login</html>")

    with pytest.raises(BackendError, match="non-JSON"):
        _client(handler).instant("up")


def test_gzip_answer_is_inflated_and_a_damaged_one_is_backend_error() -> None:
    """A gzip body reads as the plain one: series m{i="1"} with samples (10, 1.5), (20, 2.5)
    inside the window (0, 20]; a body that is not gzip under that header is a BackendError."""
    plain = (
        b'{"status":"success","data":{"resultType":"matrix","result":['
        b'{"metric":{"__name__":"m","i":"1"},"values":[[10,"1.5"],[20,"2.5"]]}]}}'
    )
    bodies = [gzip.compress(plain), b"not gzip at all"]

    def handler(request: httpx.Request) -> httpx.Response:
        gz = {"content-encoding": "gzip"}  # streamed as from a socket, not read up front
        return httpx.Response(200, headers=gz, stream=httpx.ByteStream(bodies.pop(0)))

    c = _client(handler)
    t, v = c.raw("m", 0.0, 20.0).series[SeriesKey("m", (("i", "1"),))]
    assert t.tolist() == [10.0, 20.0] and v.tolist() == [1.5, 2.5]
    with pytest.raises(BackendError, match="damaged gzip body"):
        c.raw("m", 0.0, 20.0)


def test_plain_http_skips_the_ca_bundle_but_https_and_given_files_keep_theirs(
    tmp_path: Path,
) -> None:
    """A plain-HTTP backend gets an empty context that would refuse any TLS peer (no CA is
    loaded); an https URL keeps the default verification, and a CA file given for a plain URL
    is still read (a wrong path fails at construction)."""
    ctx = PrometheusClient._ssl_context(True, None, plain=True)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] == 0
    assert PrometheusClient._ssl_context(True, None) is None  # the system CAs, loaded when used
    unverified = PrometheusClient._ssl_context(False, None)
    assert unverified is not None and unverified.verify_mode == ssl.CERT_NONE
    with pytest.raises(ConfigError, match="cannot load TLS files"):
        PrometheusClient("http://prom.test:9090", verify=str(tmp_path / "missing-ca.pem"))


def test_unreachable_url_is_backend_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    sleeps: list[float] = []
    c = PrometheusClient(url, retries=2, backoff_s=0.25, sleep=sleeps.append, timeout_s=2)
    with pytest.raises(BackendError) as e:
        c.ping()
    assert str(e.value).startswith(f"cannot reach Prometheus at {url}: ")
    assert "check the backend URL (backend.prometheus_url)" in str(e.value)
    assert sleeps == [0.25, 0.5]


def test_range_splits_requests_under_the_point_limit() -> None:
    windows: list[tuple[float, float, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        form = dict(httpx.QueryParams(request.content.decode()))
        s, e, st = float(form["start"]), float(form["end"]), float(form["step"])
        windows.append((s, e, st))
        n = int(round((e - s) / st)) + 1
        values = [[s + i * st, str(s + i * st)] for i in range(n)]
        body = {
            "status": "success",
            "data": {
                "resultType": "matrix",
                "result": [{"metric": {"__name__": "m"}, "values": values}],
            },
        }
        return httpx.Response(200, json=body)

    got = _client(handler).range("m", 0, 25_000 * 10, 10)
    # 25,001 points at step 10 -> three requests, none above 11,000 points.
    assert all((e - s) / st + 1 <= 11_000 for s, e, st in windows)
    assert len(windows) == 3
    t, v = got.series[SeriesKey("m", ())]
    np.testing.assert_array_equal(t, np.arange(0, 250_001, 10, dtype=float))
    np.testing.assert_array_equal(v, t)


# -- real backends --------------------------------------------------------------------------


def _expected(
    planted: Planted, lo: float, hi: float, name: str | None = None
) -> dict[SeriesKey, list[tuple[float, float]]]:
    out = {}
    for (n, labels), pts in planted.samples.items():
        if name is not None and n != name:
            continue
        kept = [(t, v) for t, v in pts if lo <= t <= hi]
        if kept:
            out[SeriesKey(n, labels)] = kept
    return out


def _as_pairs(series: SeriesSet) -> dict[SeriesKey, list[tuple[float, float]]]:
    return {
        k: list(zip(t.tolist(), v.tolist(), strict=True)) for k, (t, v) in series.series.items()
    }


@pytest.mark.integration
def test_ping_reports_backend(backend: Server) -> None:
    info = PrometheusClient(backend.url).ping()
    if backend.name == "prometheus":
        assert info["version"].startswith("2.")
    else:
        assert isinstance(info, dict)


@pytest.mark.integration
@pytest.mark.parametrize(
    ("chunk_s", "offset_s", "span_s"),
    [
        (3600.0, 0.0, N_POINTS * STEP_S),  # whole file, edges on samples
        (900.0, 0.0, N_POINTS * STEP_S),
        (60.0, 0.0, N_POINTS * STEP_S),  # every edge on a sample, some 1 ms after one
        (7.0, 1234.5, 300.0),  # edges between samples
    ],
)
def test_raw_returns_exactly_the_planted_samples(
    backend: Server, planted: Planted, chunk_s: float, offset_s: float, span_s: float
) -> None:
    c = PrometheusClient(backend.url)
    lo = planted.base_s + offset_s
    hi = lo + span_s
    for name in ("wl_test_power_watts", "wl_test_energy_mj_total"):
        got = c.raw(name, lo, hi, chunk_s=chunk_s)
        assert _as_pairs(got) == _expected(planted, lo, hi, name)


@pytest.mark.integration
def test_raw_includes_both_edges_and_reports_progress(backend: Server, planted: Planted) -> None:
    c = PrometheusClient(backend.url)
    # Both edges sit exactly on samples of the 15-s series; [lo, hi] is closed.
    lo, hi = planted.base_s + 10 * STEP_S, planted.base_s + 50 * STEP_S
    done: list[float] = []
    got = c.raw(selector("wl_test_power_watts", gpu="0"), lo, hi, chunk_s=120, progress=done.append)
    want = _expected(planted, lo, hi, "wl_test_power_watts")
    want = {k: v for k, v in want.items() if k.label("gpu") == "0"}
    assert _as_pairs(got) == want
    assert len(next(iter(want.values()))) == 41
    assert done[-1] == 1.0 and done == sorted(done)


@pytest.mark.integration
def test_escaped_label_value_reaches_the_right_series(backend: Server, planted: Planted) -> None:
    c = PrometheusClient(backend.url)
    lo, hi = planted.base_s, planted.base_s + N_POINTS * STEP_S
    got = c.raw(selector("wl_test_power_watts", pod=TRICKY), lo, hi)
    assert [k.label("pod") for k in got] == [TRICKY]
    assert got.sample_count() == N_POINTS // 4


@pytest.mark.integration
def test_instant_raw_window_is_left_open(backend: Server, planted: Planted) -> None:
    c = PrometheusClient(backend.url)
    t_end = planted.base_s + 20 * STEP_S
    got = c.instant_raw(selector("wl_test_power_watts", gpu="0"), 4 * STEP_S, t_end)
    ((t, v),) = got.series.values()
    # (t_end - 60 s, t_end]: samples 17..20, not 16, whatever the backend's own edge rule.
    np.testing.assert_array_equal(t, [planted.base_s + k * STEP_S for k in range(17, 21)])
    np.testing.assert_array_equal(v, [300.0 + k * 0.25 for k in range(17, 21)])


@pytest.mark.integration
def test_range_values_match_planted_samples(backend: Server, planted: Planted) -> None:
    c = PrometheusClient(backend.url)
    start = planted.base_s + 60.0
    got = c.range(selector("wl_test_power_watts", gpu="0"), start, start + 600.0, 60.0)
    ((key, (t, v)),) = got.series.items()
    assert key.name == "wl_test_power_watts"
    # Steps fall on sample times, so each point is the sample at that time (k = 4, 8, ...).
    ks = [4 * (i + 1) for i in range(11)]
    np.testing.assert_array_equal(t, [planted.base_s + k * STEP_S for k in ks])
    np.testing.assert_array_equal(v, [300.0 + (k % 40) * 0.25 for k in ks])


@pytest.mark.integration
def test_instant_query(backend: Server, planted: Planted) -> None:
    c = PrometheusClient(backend.url)
    t = planted.base_s + 100 * STEP_S
    rows = c.instant('sum(wl_test_power_watts{gpu="0"})', t)
    assert rows == [({}, t, 300.0 + (100 % 40) * 0.25)]
    with pytest.raises(InputError, match="instant_raw"):
        c.instant("wl_test_power_watts[1m]", t)


@pytest.mark.integration
def test_bad_query_quotes_backend_error(backend: Server) -> None:
    with pytest.raises(BackendError, match="rejected"):
        PrometheusClient(backend.url, retries=0).instant("sum(")


@pytest.mark.integration
def test_earliest_timestamp(backend: Server, planted: Planted) -> None:
    c = PrometheusClient(backend.url)
    assert c.earliest_timestamp("wl_test_power_watts") == planted.base_s
    assert c.earliest_timestamp(selector("wl_test_power_watts", gpu="1")) == planted.base_s + 0.001
    assert c.earliest_timestamp("wl_test_no_such_metric") is None
    # Several selectors: the oldest sample of any of them, asked in one query per step.
    assert c.earliest_timestamp("wl_test_no_such_metric", "wl_test_power_watts") == planted.base_s


def test_saved_answer_shape_matches_reader(tmp_path: Path) -> None:
    """A matrix answer as the client decodes it equals the same JSON read from a file."""
    from wattlens.telemetry.rangejson import read_range_json

    body = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [{"metric": {"__name__": "m", "a": "1"}, "values": [[1, "2.5"], [2, "NaN"]]}],
        },
    }
    f = tmp_path / "a.json"
    f.write_text(json.dumps(body))
    c = _client(lambda r: httpx.Response(200, json=body))
    live, saved = c.range("m", 1, 2, 1), read_range_json(f)
    assert list(live) == list(saved)
    for key in live:
        np.testing.assert_array_equal(live.series[key][0], saved.series[key][0])
        np.testing.assert_array_equal(live.series[key][1], saved.series[key][1])
