"""Fixtures for the telemetry readers: recorded inputs, a tiny exporter server, real backends."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/servers.py

from servers import Server, start_prometheus, start_victoria_metrics  # noqa: E402

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No WATTLENS_* variable from the developer's shell leaks into a test."""
    import os

    for key in list(os.environ):
        if key.startswith("WATTLENS_"):
            monkeypatch.delenv(key)


# -- a tiny exporter: stdlib HTTP server in a thread ----------------------------------------


class ExporterServer:
    """Serves fixed bodies by path; `.set(path, body, content_type)`, `.url(path)`."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, bytes, str]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        routes, requests = self.routes, self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                requests.append((self.path, dict(self.headers)))
                status, body, ctype = routes.get(self.path, (404, b"not found", "text/plain"))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        # Bound and listening once the constructor returns: no wait needed before requests.
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def set(self, path: str, body: str, content_type: str = "text/plain; version=0.0.4") -> None:
        self.routes[path] = (200, body.encode(), content_type)

    def set_status(self, path: str, status: int, body: str = "") -> None:
        self.routes[path] = (status, body.encode(), "text/plain")

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    @property
    def address(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{host}:{port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def exporter() -> Iterator[ExporterServer]:
    """A real HTTP exporter endpoint on loopback."""
    server = ExporterServer()
    yield server
    server.close()


# -- real backends loaded with planted samples ----------------------------------------------


@dataclass(frozen=True)
class Planted:
    """Ground truth planted into the backends: series -> [(timestamp_s, value)]."""

    path: Path
    base_s: float
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[float, float]]]


STEP_S = 15.0
N_POINTS = 480  # 2 h at 15 s
TRICKY = 'say "hi" \\ there'  # quotes and a backslash, escaped in the file and in PromQL


def _planted(path: Path) -> Planted:
    # Data ends more than 2 h ago so promtool's blocks are plain persisted blocks; well inside
    # the 30-day retention. Whole hours keep chunk boundaries aligned with sample times.
    base = float((int(time.time()) // 3600) * 3600 - 26 * 3600)
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[float, float]]] = {}
    power_a = ("wl_test_power_watts", (("gpu", "0"), ("pod", "llama-70b-7d9c8b6f4-x2k4p")))
    power_b = ("wl_test_power_watts", (("gpu", "1"), ("pod", TRICKY)))
    energy = ("wl_test_energy_mj_total", (("gpu", "0"),))
    samples[power_a] = [(base + k * STEP_S, 300.0 + (k % 40) * 0.25) for k in range(N_POINTS)]
    # Millisecond offsets: a sample 1 ms after each whole minute tests the window edges.
    samples[power_b] = [(base + k * 60 + 0.001, 70.0 + k * 0.5) for k in range(N_POINTS // 4)]
    # Counter with a reset (driver reload) halfway: raw reads must keep it as stored.
    half = N_POINTS // 2
    samples[energy] = [
        (base + k * STEP_S, float(1_000_000 + 6000 * k) if k < half else float(6000 * (k - half)))
        for k in range(N_POINTS)
    ]
    lines = []
    for (name, labels), pts in samples.items():
        esc = ",".join(
            f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
            for k, v in labels
        )
        lines.extend(f"{name}{{{esc}}} {v!r} {t!r}" for t, v in pts)
    path.write_text(
        "# TYPE wl_test_power_watts gauge\n# TYPE wl_test_energy_mj counter\n"
        + "\n".join(lines)
        + "\n# EOF\n"
    )
    return Planted(path, base, samples)


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    """A small OpenMetrics file whose every sample is known."""
    return _planted(tmp_path_factory.mktemp("planted") / "planted.om")


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory, planted: Planted) -> Iterator[Server]:
    """Real Prometheus, backfilled with the planted file by promtool."""
    with start_prometheus(
        tmp_path_factory.mktemp("prom"), backfill_openmetrics=planted.path
    ) as server:
        yield server


@pytest.fixture(scope="session")
def victoria_metrics(
    tmp_path_factory: pytest.TempPathFactory, planted: Planted
) -> Iterator[Server]:
    """Real VictoriaMetrics with the planted file imported."""
    with start_victoria_metrics(
        tmp_path_factory.mktemp("vm"), import_openmetrics=planted.path
    ) as server:
        yield server


@pytest.fixture(params=["prometheus", "victoria_metrics"])
def backend(request: pytest.FixtureRequest) -> Server:
    """Each real backend in turn."""
    return request.getfixturevalue(request.param)
