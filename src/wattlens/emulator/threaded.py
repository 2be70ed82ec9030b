"""An ASGI app served by uvicorn in a background thread on a bound loopback port.

The emulator's scrape targets (`EmulatorServer`) and its OpenAI-compatible endpoint
(`EmulateServer`) both serve this way, for tests, benchmarks and the demo.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType
from typing import Any, Self

import uvicorn

from wattlens.core.errors import BackendError

START_TIMEOUT_S = 10.0


def bind(host: str, port: int, what: str) -> socket.socket:
    """A TCP socket bound to `host:port`, or a BackendError that names `what` and the address."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, OverflowError) as e:
        sock.close()
        raise BackendError(f"{what} cannot listen on {host}:{port} ({e}); pick another port") from e
    return sock


class _Server(uvicorn.Server):
    """uvicorn server that signals an event once it listens (no polling on a sleep)."""

    def __init__(self, config: uvicorn.Config, started: threading.Event) -> None:
        super().__init__(config)
        self._started_event = started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self._started_event.set()


class ThreadedServer:
    """Serve `app` on `host:port` (0: any free port) in a thread; `what` names it in errors."""

    def __init__(self, app: Any, *, host: str, port: int, what: str) -> None:
        self.app = app
        self.host = host
        self._port = port
        self._what = what
        self._socket: socket.socket | None = None
        self._bound_port: int | None = None
        self._thread: threading.Thread | None = None
        self._server: _Server | None = None

    @property
    def port(self) -> int:
        """The bound port (after `start()`)."""
        if self._bound_port is None:
            raise BackendError(f"{self._what} is not started; call start() first")
        return self._bound_port

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:41234`."""
        return f"http://{self.host}:{self.port}"

    @property
    def address(self) -> str:
        """`host:port` as a scrape target."""
        return f"{self.host}:{self.port}"

    def start(self) -> Self:
        """Bind, serve in a thread, and return once it accepts connections."""
        sock = self._socket = bind(self.host, self._port, self._what)
        self._bound_port = int(sock.getsockname()[1])
        started = threading.Event()
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        server = self._server = _Server(config, started)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])),
            name=f"wattlens-{self._what.replace(' ', '-')}",
            daemon=True,
        )
        self._thread.start()
        if not started.wait(START_TIMEOUT_S):
            self.stop()
            raise BackendError(f"{self._what} did not start within {START_TIMEOUT_S} s")
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=START_TIMEOUT_S)
        if self._socket is not None:
            self._socket.close()
        self._thread = None
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


__all__ = ["START_TIMEOUT_S", "ThreadedServer", "bind"]
