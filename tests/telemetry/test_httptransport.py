"""StdlibTransport against real HTTP servers on loopback: chunked gzip bodies, keep-alive, a
connection the server closed while idle, refused connections and read timeouts."""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from wattlens.core.errors import BackendError
from wattlens.telemetry.httptransport import StdlibTransport, gunzip
from wattlens.telemetry.promapi import PrometheusClient

BODY = b'{"status":"success","data":{"resultType":"vector","result":[]}}' * 500
GZ_BODY = gzip.compress(BODY)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.do_GET()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        self.server.bodies.append(self.rfile.read(length))
        self.server.paths.append(self.path)
        packed = gzip.compress(BODY)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for i in range(0, len(packed), 700):  # small chunks, as Prometheus sends them
            piece = packed[i : i + 700]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        if self.server.close_after_answer:
            self.close_connection = True  # closed without saying so: the idle-close case

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[bytes] = []
        self.paths: list[str] = []
        self.connections = 0
        self.close_after_answer = False

    def process_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:
        self.connections += 1
        super().process_request(request, client_address)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_chunked_gzip_answer_arrives_whole_raw_and_decoded(server: _Server) -> None:
    with httpx.Client(base_url=server.url, transport=StdlibTransport()) as c:
        with c.stream("POST", "/api/v1/query?x=1", data={"query": "up"}) as r:
            raw = b"".join(r.iter_raw())
        assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
        assert gzip.decompress(raw) == BODY
        assert c.get("/again").content == BODY  # httpx still decodes when asked to
    assert server.paths == ["/api/v1/query?x=1", "/again"]
    assert server.bodies[0] == b"query=up"


def test_connections_are_kept_alive(server: _Server) -> None:
    with httpx.Client(base_url=server.url, transport=StdlibTransport()) as c:
        for _ in range(5):
            assert c.get("/q").status_code == 200
    assert server.connections == 1


def test_a_connection_closed_while_idle_is_retried_once_on_a_new_one(server: _Server) -> None:
    server.close_after_answer = True
    with httpx.Client(base_url=server.url, transport=StdlibTransport()) as c:
        for _ in range(3):
            assert c.get("/q").content == BODY
    assert server.connections == 3  # each request after a close went out on a new connection


def test_refused_connection_is_a_connect_error_and_a_backend_error() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with httpx.Client(transport=StdlibTransport()) as c, pytest.raises(httpx.ConnectError):
        c.get(f"http://127.0.0.1:{port}/")
    client = PrometheusClient(f"http://127.0.0.1:{port}", retries=0)
    with pytest.raises(BackendError, match=rf"cannot reach Prometheus at http://127.0.0.1:{port}"):
        client.ping()


def test_a_silent_server_is_a_read_timeout() -> None:
    with socket.socket() as listener:  # accepts (the kernel's backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        with (
            httpx.Client(transport=StdlibTransport(), timeout=0.3) as c,
            pytest.raises(httpx.ReadTimeout),
        ):
            c.get(url)


@pytest.mark.parametrize(
    "body",
    [GZ_BODY[: len(GZ_BODY) // 2], b"not gzip at all", GZ_BODY[:40] + b"\xff" * 64],
    ids=["cut short", "not gzip", "bad deflate block"],
)
def test_damaged_gzip_is_a_value_error_naming_why(body: bytes) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        gunzip(body)


def test_gunzip_inflates_what_the_standard_library_wrote() -> None:
    assert gunzip(gzip.compress(BODY, 9)) == BODY
