"""A recorded-response fake of the Electricity Maps v4 and WattTime v3 APIs on loopback.

It replays the providers' documented response shapes (tests/integrations/data/gridlive) over real
HTTP, checks the auth each provider requires, and records every request (path, query, headers).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

DATA = Path(__file__).parent / "data" / "gridlive"
T0 = 1768003200.0  # 2026-01-10T00:00:00Z, the first planted hour
EM_TOKEN = "em-secret"  # what the fake accepts as auth-token
WT_USER, WT_PASSWORD = "alice", "pw"


class Fake:
    """What the server answers and what it saw."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self.fail_status: int | None = None
        self.hang = threading.Event()  # set at teardown; a hanging request waits on it
        self.hanging = False
        self.tokens = ["wt-token-1"]
        self.expired: set[str] = set()

    def answer(self, path: str, query: dict[str, list[str]], headers: dict[str, str]
               ) -> tuple[int, Any]:  # fmt: skip
        self.requests.append((path, query, headers))
        if self.hanging:
            self.hang.wait(10)
        if self.fail_status:
            return self.fail_status, {"error": "planted failure"}
        if path.startswith("/v4/carbon-intensity/"):
            if headers.get("auth-token") != "em-secret":
                return 401, {"message": "missing or invalid auth-token"}
            return 200, _load("electricitymaps-" + path.rsplit("/", 1)[1])
        if path == "/login":
            want = "Basic " + base64.b64encode(b"alice:pw").decode()
            if headers.get("authorization") != want:
                return 403, {"error": "bad credentials"}
            return 200, {"token": self.tokens[-1]}
        if path in ("/v3/historical", "/v3/forecast"):
            token = headers.get("authorization", "").removeprefix("Bearer ")
            if token not in self.tokens or token in self.expired:
                return 401, {"error": "invalid token"}
            return 200, _load("watttime-" + path.rsplit("/", 1)[1])
        return 404, {"error": path}


def _load(name: str) -> Any:
    return json.loads((DATA / f"{name}.json").read_text())


@pytest.fixture()
def fake() -> Iterator[tuple[Fake, str]]:
    state = Fake()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            url = urlparse(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body = state.answer(url.path, parse_qs(url.query), headers)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        state.hang.set()
        server.shutdown()
        server.server_close()
