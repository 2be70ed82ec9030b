"""`wattlens emulate`: one emulated deployment's OpenAI-compatible API served by uvicorn.

`EmulateServer` serves in a background thread (tests, benchmarks); `serve_blocking` runs in the
foreground until interrupted (the CLI).
"""

from __future__ import annotations

import uvicorn

from wattlens.emulator.engine import Clock, Engine, EngineSpec
from wattlens.emulator.openai import create_openai_app
from wattlens.emulator.threaded import ThreadedServer, bind


class EmulateServer(ThreadedServer):
    """An emulated deployment on `host:port` (0: a free port) in a background thread.

    `url` is the base URL, e.g. `http://127.0.0.1:41234` (the API is under `/v1`)."""

    def __init__(
        self,
        spec: EngineSpec,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        self.engine = Engine(spec, clock)
        super().__init__(create_openai_app(self.engine), host=host, port=port, what="emulate")


def serve_blocking(spec: EngineSpec, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve in the foreground until Ctrl-C."""
    sock = bind(host, port, "emulate")
    engine = Engine(spec)
    config = uvicorn.Config(
        create_openai_app(engine), log_level="warning", access_log=False, lifespan="off"
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


__all__ = ["EmulateServer", "serve_blocking"]
