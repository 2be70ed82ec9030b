"""`wattlens emulate`: one emulated deployment's OpenAI-compatible API served by uvicorn.

`EmulateServer` serves in a background thread (tests, benchmarks); `serve_blocking` runs in the
foreground until interrupted (the CLI).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType

import uvicorn

from wattlens.core.errors import BackendError
from wattlens.emulator.engine import Clock, Engine, EngineSpec
from wattlens.emulator.openai import create_openai_app

_START_TIMEOUT_S = 10.0


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except (OSError, OverflowError) as e:
        sock.close()
        raise BackendError(
            f"emulate cannot listen on {host}:{port} ({e}); pick another port"
        ) from e
    return sock


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, started: threading.Event) -> None:
        super().__init__(config)
        self._started_event = started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self._started_event.set()


class EmulateServer:
    """An emulated deployment on `host:port` (0: a free port) in a background thread."""

    def __init__(
        self,
        spec: EngineSpec,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        self.engine = Engine(spec, clock)
        self.app = create_openai_app(self.engine)
        self.host = host
        self._port = port
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._server: _Server | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:41234` (the API is under `/v1`)."""
        if self._sock is None:
            raise BackendError("emulate server is not started; call start() first")
        return f"http://{self.host}:{self._sock.getsockname()[1]}"

    def start(self) -> EmulateServer:
        """Bind, serve in a thread, return once it accepts connections."""
        self._sock = _bind(self.host, self._port)
        started = threading.Event()
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        server = self._server = _Server(config, started)
        sock = self._sock
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])), name="wattlens-emulate",
            daemon=True,
        )  # fmt: skip
        self._thread.start()
        if not started.wait(_START_TIMEOUT_S):
            self.stop()
            raise BackendError(f"emulate server did not start within {_START_TIMEOUT_S} s")
        return self

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=_START_TIMEOUT_S)
        if self._sock is not None:
            self._sock.close()
        self._thread = self._server = None

    def __enter__(self) -> EmulateServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_blocking(spec: EngineSpec, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve in the foreground until Ctrl-C."""
    sock = _bind(host, port)
    engine = Engine(spec)
    config = uvicorn.Config(
        create_openai_app(engine), log_level="warning", access_log=False, lifespan="off"
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


__all__ = ["EmulateServer", "serve_blocking"]
