"""Client for the Prometheus HTTP API (Prometheus and VictoriaMetrics alike).

Raw samples come from instant queries of range selectors (`metric[5m]`), which both backends
answer with the stored samples, not evaluated points. Every request retries connect errors,
timeouts, 429 and 5xx with exponential backoff; anything else becomes a `BackendError` that
quotes the backend's own `error` field. PromQL built from user input goes through
`selector()` / `escape_label_value()`. A little longer than 400 lines: one client class.
"""

from __future__ import annotations

import json
import math
import os
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from wattlens.config import split_userinfo
from wattlens.core.errors import BackendError, ConfigError, InputError
from wattlens.telemetry.httptransport import StdlibTransport, gunzip
from wattlens.telemetry.rangejson import Matrix, matrix_columns, matrix_rows
from wattlens.telemetry.records import SeriesKey, SeriesSet

MAX_POINTS_PER_SERIES = 11_000  # Prometheus rejects range queries above this (api.go)
_CHUNK_POINTS = 10_000
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:")


def escape_label_value(value: str) -> str:
    """Escape a string for use inside a double-quoted PromQL label matcher."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _check_name(name: str, what: str) -> None:
    if not name or name[0].isdigit() or not set(name) <= _NAME_OK:
        raise InputError(
            f"{what} {name!r} is not a valid Prometheus name; expected letters, digits, '_' or ':'"
        )


def selector(name: str, **labels: str) -> str:
    """PromQL selector `name{k="v",...}` with every value escaped and every name checked."""
    _check_name(name, "metric name")
    parts = []
    for k, v in sorted(labels.items()):
        _check_name(k, "label name")
        if ":" in k:
            raise InputError(f"label name {k!r} may not contain ':'")
        parts.append(f'{k}="{escape_label_value(v)}"')
    return f"{name}{{{','.join(parts)}}}" if parts else name


def _ms(t_s: float) -> int:
    return int(round(t_s * 1000.0))


def _fmt_time(t_ms: int) -> str:
    return f"{t_ms // 1000}.{t_ms % 1000:03d}"


class _Accumulator:
    """Collects per-series array pieces and joins them once (avoids quadratic re-sorting)."""

    def __init__(self) -> None:
        self.parts: dict[SeriesKey, list[tuple[np.ndarray, np.ndarray, bool]]] = {}

    def add(self, key: SeriesKey, t: np.ndarray, v: np.ndarray, ordered: bool = False) -> None:
        """One piece of a series; `ordered`: its times are known to rise strictly."""
        if t.size:
            self.parts.setdefault(key, []).append((t, v, ordered))

    def result(self) -> SeriesSet:
        out = SeriesSet()
        for key, pieces in self.parts.items():
            if len(pieces) == 1 and pieces[0][2]:
                out.series[key] = pieces[0][:2]  # one window, in order: as is
                continue
            t = np.concatenate([p[0] for p in pieces]) if len(pieces) > 1 else pieces[0][0]
            v = np.concatenate([p[1] for p in pieces]) if len(pieces) > 1 else pieces[0][1]
            if t.size < 2 or bool(np.all(t[1:] > t[:-1])):
                out.series[key] = (t, v)  # the backend's order (windows are disjoint): as is
            else:
                out.add(key, t, v)  # sorts and drops duplicate timestamps
        return out


def _ordered(m: Matrix) -> list[bool]:
    """Per series of `m`: whether its times rise strictly (checked for all series at once)."""
    ends = np.cumsum(m.counts)
    out = np.ones(len(m.counts), dtype=bool)
    if m.t.size > 1:
        bad = ~(m.t[1:] > m.t[:-1])  # pair i is (i, i + 1); NaN counts as out of order
        starts = ends[:-1][m.counts[1:] > 0]  # of the series after the first with samples
        bad[starts[starts > 0] - 1] = False  # a pair that straddles two series is not checked
        out[np.searchsorted(ends, np.flatnonzero(bad), side="right")] = False
    return out.tolist()


class PrometheusClient:
    """Prometheus-API client with auth, TLS, retries and raw-sample reads."""

    def __init__(
        self,
        base_url: str,
        *,
        bearer_token: str | None = None,
        bearer_token_file: Path | None = None,
        bearer_token_env: str | None = "WATTLENS_BEARER_TOKEN",
        verify: bool | str = True,
        client_cert: tuple[str, str] | None = None,
        timeout_s: float = 30,
        retries: int = 3,
        backoff_s: float = 0.5,
        transport: httpx.BaseTransport | None = None,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"Prometheus URL {base_url!r} must start with http:// or https://, "
                "e.g. http://prometheus:9090"
            )
        base_url, userinfo = split_userinfo(base_url)  # shown URLs never carry a password
        self.base_url = base_url.rstrip("/")
        env = os.environ if environ is None else environ
        self._token = bearer_token
        self._token_file = bearer_token_file
        if self._token is None and self._token_file is None and bearer_token_env:
            self._token = env.get(bearer_token_env) or None
        if self._token_file is not None:
            self._read_token_file()  # fail at construction, not at the first query
        self.retries = retries
        self.backoff_s = backoff_s
        # series keys by digest of their `metric` JSON text (rangejson.series_keys)
        self.known_keys: dict[bytes, SeriesKey] = {}
        self._sleep = sleep
        tls = self._ssl_context(verify, client_cert, plain=self.base_url.startswith("http:"))
        self._client = httpx.Client(
            base_url=self.base_url + "/",
            timeout=httpx.Timeout(timeout_s),
            verify=True if tls is None else tls,  # for proxies from the environment
            transport=transport or StdlibTransport(tls),
            headers={"Accept": "application/json"},
            auth=httpx.BasicAuth(*userinfo) if userinfo else None,
        )

    @staticmethod
    def _ssl_context(
        verify: bool | str, client_cert: tuple[str, str] | None, *, plain: bool = False
    ) -> ssl.SSLContext | None:
        """The TLS context for `verify` and `client_cert`; None: the system CAs, loaded at the
        first https request."""
        if plain and verify is True and client_cert is None:
            # A plain-HTTP backend never negotiates TLS (requests stay under base_url, redirects
            # are not followed), so the system CA bundle is not loaded (16-30 ms of CPU per
            # client); an empty verifying context stands in and would refuse any TLS peer.
            return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if verify is True and client_cert is None:
            return None
        try:
            if verify is False:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            elif isinstance(verify, str):
                ctx = ssl.create_default_context(cafile=verify)
            else:
                ctx = ssl.create_default_context()
            if client_cert is not None:
                ctx.load_cert_chain(client_cert[0], client_cert[1])
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(
                f"cannot load TLS files (CA {verify!r}, client cert {client_cert!r}): {e}; "
                "check the paths and that the files are PEM"
            ) from e
        return ctx

    def _read_token_file(self) -> str:
        assert self._token_file is not None
        try:
            # Re-read per request: Kubernetes rotates projected service-account tokens.
            return Path(self._token_file).read_text().strip()
        except OSError as e:
            raise ConfigError(
                f"cannot read bearer token file {self._token_file}: {e.strerror}; "
                "check the path in bearer_token_file"
            ) from e

    def __repr__(self) -> str:
        auth = "none"
        if self._token is not None:
            auth = "token=***"
        elif self._token_file is not None:
            auth = f"token_file={self._token_file}"
        return f"PrometheusClient({self.base_url!r}, auth={auth})"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        token = self._read_token_file() if self._token_file is not None else self._token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _request(self, path: str, params: dict[str, str], *, post: bool = True) -> Any:
        """One API call with retries; returns the `data` field of a success response."""
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                status, body = self._send(path, params, post)
            except (httpx.TransportError, httpx.TimeoutException) as e:
                last = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                if attempt == self.retries:
                    raise BackendError(
                        f"cannot reach Prometheus at {self.base_url}: {last}; "
                        "check the backend URL (backend.prometheus_url)"
                    ) from e
                continue
            if status in _RETRY_STATUS and attempt < self.retries:
                last = f"HTTP {status}"
                continue
            return self._decode(status, body, path, params)
        raise BackendError(f"Prometheus at {self.base_url} failed: {last}")  # pragma: no cover

    def _send(self, path: str, params: dict[str, str], post: bool) -> tuple[int, bytes]:
        """(status, body) of one request. A gzip body is inflated in one call, not piece by
        piece as the client's decoder would (a backfill reads tens of MB: issue #11)."""
        headers = self._headers()
        if post:
            request = self._client.build_request("POST", path, data=params, headers=headers)
        else:
            request = self._client.build_request("GET", path, params=params, headers=headers)
        resp = self._client.send(request, stream=True)
        try:
            gz = resp.headers.get("content-encoding", "").strip().lower() == "gzip"
            if not gz or resp.is_stream_consumed:  # identity, another coding, or read already
                return resp.status_code, resp.read()
            raw = b"".join(resp.iter_raw())
        finally:
            resp.close()
        try:
            return resp.status_code, gunzip(raw)
        except ValueError as e:
            raise BackendError(
                f"Prometheus at {self.base_url} answered {path} with a damaged gzip body ({e})"
            ) from e

    def _decode(self, status: int, content: bytes, path: str, params: dict[str, str]) -> Any:
        if status == 200 and (m := matrix_columns(content)) is not None:
            return {"resultType": "matrix", "result": m}
        query = params.get("query", "")
        what = f"{path} {query!r}" if query else path
        try:
            body = json.loads(content)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            snippet = content[:120].decode("utf-8", "replace").replace("\n", " ")
            raise BackendError(
                f"{self.base_url}/{path} answered HTTP {status} with non-JSON "
                f"{snippet!r}; check that the backend URL (backend.prometheus_url) points at the "
                "Prometheus API root"
            )
        if status in (401, 403):
            raise BackendError(
                f"Prometheus at {self.base_url} refused {what} (HTTP {status}): "
                f"{body.get('error', 'unauthorized')}; check the bearer token or client cert"
            )
        if status >= 400 or body.get("status") != "success":
            raise BackendError(
                f"Prometheus at {self.base_url} rejected {what} (HTTP {status}, "
                f"{body.get('errorType', 'error')}): {body.get('error', 'no error message')}"
            )
        return body.get("data")

    def _query(self, query: str, time_s: float | None) -> dict[str, Any]:
        params = {"query": query}
        if time_s is not None:
            params["time"] = _fmt_time(_ms(time_s))
        data = self._request("api/v1/query", params)
        if not isinstance(data, dict) or "resultType" not in data:
            raise BackendError(f"Prometheus at {self.base_url} answered {query!r} without data")
        return data

    # -- queries ---------------------------------------------------------------------------

    def instant(
        self, query: str, time_s: float | None = None
    ) -> list[tuple[dict[str, str], float, float]]:
        """Instant query: `(labels incl. __name__, timestamp_s, value)` per vector element."""
        data = self._query(query, time_s)
        kind, result = data["resultType"], data["result"]
        if kind == "scalar":
            return [({}, float(result[0]), float(result[1]))]
        if kind == "matrix":
            raise InputError(
                f"query {query!r} returns a range vector; use instant_raw() for range selectors"
            )
        if kind != "vector":
            raise InputError(f"query {query!r} returned a {kind}; expected an instant vector")
        return [(dict(r["metric"]), float(r["value"][0]), float(r["value"][1])) for r in result]

    def instant_raw(self, selector: str, window_s: float, time_s: float) -> SeriesSet:
        """Raw samples of `selector` in the window ending at `time_s` (`selector[window]`)."""
        acc = _Accumulator()
        for key, t, v, ordered in self._raw_window(
            selector, _ms(time_s) - _ms(window_s), _ms(time_s)
        ):
            acc.add(key, t, v, ordered)
        return acc.result()

    def _raw_window(
        self, sel: str, lo_ms: int, hi_ms: int, include_lo: bool = False
    ) -> Iterator[tuple[SeriesKey, np.ndarray, np.ndarray, bool]]:
        """Samples with lo < t <= hi (or lo <= t with include_lo), whatever the backend's edges,
        per series with whether its times are known to rise strictly.

        Prometheus 2.x windows are closed `[t-w, t]`, 3.x and VictoriaMetrics left-open; asking
        for 1 ms more and filtering on integer milliseconds gives the same answer on all.
        """
        width_ms = hi_ms - lo_ms + 1
        data = self._query(f"{sel}[{width_ms}ms]", hi_ms / 1000.0)
        if data["resultType"] != "matrix":
            raise InputError(f'{sel!r} is not a plain selector; expected e.g. metric{{k="v"}}')
        result = data["result"]
        if len(self.known_keys) > 4 * len(result) + 100_000:  # series gone: forget them
            self.known_keys.clear()
        if isinstance(result, Matrix):  # the edges and the order of every series at once
            result = self._within(result, lo_ms, hi_ms, include_lo)
            rows = matrix_rows(result, sel, self.known_keys)
            for (key, t, v), ordered in zip(rows, _ordered(result), strict=True):
                yield key, t, v, ordered
            return
        for key, t, v in matrix_rows(result, sel, self.known_keys):
            t_ms = np.rint(t * 1000.0).astype(np.int64)
            keep = (t_ms >= lo_ms) if include_lo else (t_ms > lo_ms)
            keep &= t_ms <= hi_ms
            yield key, t[keep], v[keep], False

    @staticmethod
    def _within(m: Matrix, lo_ms: int, hi_ms: int, include_lo: bool) -> Matrix:
        """`m` less the samples outside lo < t <= hi (lo <= t with include_lo)."""
        t_ms = np.rint(m.t * 1000.0).astype(np.int64)
        keep = (t_ms >= lo_ms) if include_lo else (t_ms > lo_ms)
        keep &= t_ms <= hi_ms
        if keep.all():
            return m
        kept = np.concatenate([[0], np.cumsum(keep)])
        ends = np.cumsum(m.counts)
        counts = kept[ends] - kept[ends - m.counts]
        return Matrix(m.metrics, counts, m.t[keep], m.v[keep])

    def raw(
        self,
        selector: str,
        start_s: float,
        end_s: float,
        *,
        chunk_s: float = 3600,
        progress: Callable[[float], None] | None = None,
    ) -> SeriesSet:
        """Every raw sample with start_s <= t <= end_s, fetched in windows of `chunk_s`.

        Args:
            progress: called with the fraction done (0-1] after each window.
        """
        if end_s < start_s:
            raise InputError(f"raw(): end {end_s} is before start {start_s}")
        if chunk_s <= 0:
            raise InputError(f"raw(): chunk_s must be positive, got {chunk_s}")
        start_ms, end_ms, step_ms = _ms(start_s), _ms(end_s), max(1, _ms(chunk_s))
        acc = _Accumulator()
        lo = start_ms
        first = True
        while first or lo < end_ms:
            hi = min(lo + step_ms, end_ms)
            for key, t, v, ordered in self._raw_window(selector, lo, hi, include_lo=first):
                acc.add(key, t, v, ordered)
            first, lo = False, hi
            if progress is not None:
                progress(1.0 if end_ms == start_ms else (hi - start_ms) / (end_ms - start_ms))
        return acc.result()

    def range(self, query: str, start_s: float, end_s: float, step_s: float) -> SeriesSet:
        """Range query, split so no request exceeds Prometheus's 11,000 points per series."""
        if step_s <= 0 or end_s < start_s:
            raise InputError(f"range(): need step > 0 and end >= start, got {start_s}..{end_s}")
        acc = _Accumulator()
        n_total = int(math.floor((end_s - start_s) / step_s + 1e-9)) + 1
        for first in range(0, n_total, _CHUNK_POINTS):
            n = min(_CHUNK_POINTS, n_total - first)
            s = start_s + first * step_s
            params = {
                "query": query,
                "start": f"{s:.3f}",
                "end": f"{s + (n - 1) * step_s:.3f}",
                "step": repr(float(step_s)),
            }
            data = self._request("api/v1/query_range", params)
            if not isinstance(data, dict) or data.get("resultType") != "matrix":
                raise BackendError(f"range query {query!r} did not return a matrix")
            for key, t, v in matrix_rows(data["result"], query, self.known_keys):
                acc.add(key, t, v)
        return acc.result()

    def ping(self) -> dict[str, Any]:
        """Build info of the backend (version etc.), or `{}` where the backend has none."""
        try:
            data = self._request("api/v1/status/buildinfo", {}, post=False)
        except BackendError as e:
            if "HTTP 404" not in str(e) and "non-JSON" not in str(e):
                raise
            data = None
        if isinstance(data, dict) and data:
            return data
        self.instant("vector(1)")  # proves the query API answers
        return {}

    def label_values(
        self, label: str, match: str, start_s: float, end_s: float
    ) -> list[str] | None:
        """Values of `label` on series matching `match` in [start_s, end_s] (the backend's
        index: a superset where it answers per block or day), or None where the answer is not
        the list asked for."""
        params = {"match[]": match, "start": f"{start_s:.3f}", "end": f"{end_s:.3f}"}
        got = self._request(f"api/v1/label/{label}/values", params, post=False)
        return [str(v) for v in got] if isinstance(got, list) else None

    def earliest_timestamp(
        self, *selectors: str, now_s: float | None = None, horizon_s: float = 5 * 365 * 86400
    ) -> float | None:
        """Timestamp of the oldest retained sample of any of `selectors`, or None when none has.

        Bisects on "any sample in (lo, mid]", keeping the invariant "no sample <= lo", so each
        query scans only the unexplored window, and asks about every selector in one query a
        step (`count(count_over_time(a[w])) or count(...b...)`: one selector per `_over_time`,
        which drops metric names, so series of different metrics would collide); then reads the
        raw samples of the last window.
        """
        if not selectors:
            raise InputError("earliest_timestamp: expected at least one selector")
        hi = _ms(time.time() if now_s is None else now_s)
        lo = hi - _ms(horizon_s)

        def any_in(a_ms: int, b_ms: int) -> bool:
            q = " or ".join(f"count(count_over_time({s}[{b_ms - a_ms}ms]))" for s in selectors)
            return bool(self.instant(q, b_ms / 1000.0))

        if not any_in(lo, hi):
            return None
        while hi - lo > 600_000:
            mid = (lo + hi) // 2
            if any_in(lo, mid):
                hi = mid
            else:
                lo = mid
        found = [t[0] for s in selectors for _, t, _, _ in self._raw_window(s, lo, hi) if t.size]
        return float(min(found)) if found else None


__all__ = [
    "MAX_POINTS_PER_SERIES",
    "PrometheusClient",
    "escape_label_value",
    "selector",
]
