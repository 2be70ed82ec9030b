"""Run uvicorn in a background thread: `serve_in_thread(app, host, port)` -> handle.

Startup is awaited on an event set once uvicorn has bound its sockets (no sleeps); a bind
failure is raised in the caller as a `ConfigError` naming the address.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

import uvicorn

from wattlens.config import Config
from wattlens.core.errors import ConfigError, InputError
from wattlens.core.libc import M_ARENA_MAX, libc_function
from wattlens.store import StoreReader

STARTUP_TIMEOUT_S = 30.0
# glibc gives each thread that allocates its own heap ("arena"), up to 8 per core. A service
# answers on ~40 pool threads beside DuckDB's: freed memory scattered over 16 arenas is not
# reused across them, and the soak's RSS grew by that fragmentation (bench/RESULTS.md, soak).
# Two arenas is the common server setting (glibc's MALLOC_ARENA_MAX, which takes precedence).
MALLOC_ARENAS = 2
# The server thread shares the GIL with the collector's derive and write work: at CPython's
# default 5 ms switch interval a request that arrives mid-cycle waits up to 5 ms for the GIL,
# which set the service's p99 at 1,000 req/s (bench/go_compare). 1 ms bounds that wait.
GIL_SWITCH_INTERVAL_S = 0.001

log = logging.getLogger(__name__)


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process (before its threads start); False where the C
    library is not glibc or MALLOC_ARENA_MAX is set in the environment (glibc has read it)."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    mallopt = libc_function("mallopt")
    if mallopt is None:  # not glibc (musl, macOS)
        return False
    ok = bool(mallopt(M_ARENA_MAX, arenas))
    if not ok:
        log.debug("mallopt(M_ARENA_MAX, %d) refused", arenas)
    return ok


class _Server(uvicorn.Server):
    """uvicorn.Server that signals an event when startup finished (or failed)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: Any = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


class ServerHandle:
    """A running server: `.url`, `.port`, `.stop()`; also a context manager."""

    def __init__(self, server: _Server, thread: threading.Thread, host: str, port: int) -> None:
        self._server = server
        self._thread = thread
        self.host = host
        self.port = port
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        shown = f"[{shown}]" if ":" in shown else shown
        self.url = f"http://{shown}:{port}"

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout_s)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(
    app: Any, host: str = "127.0.0.1", port: int = 8080, *, log_level: str = "warning"
) -> ServerHandle:
    """Start `app` under uvicorn in a daemon thread; port 0 picks a free port."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, access_log=False, lifespan="off"
    )
    server = _Server(config)
    failure: list[BaseException] = []
    sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))

    def run() -> None:
        try:
            server.run()
        except BaseException as e:  # noqa: BLE001 - SystemExit from a failed bind lands here
            failure.append(e)
        finally:
            server.ready.set()

    thread = threading.Thread(target=run, name=f"wattlens-web-{port}", daemon=True)
    thread.start()
    if not server.ready.wait(STARTUP_TIMEOUT_S):
        server.should_exit = True
        raise ConfigError(f"web server on {host}:{port} did not start in {STARTUP_TIMEOUT_S} s")
    if failure or not server.started:
        thread.join(5)
        raise ConfigError(
            f"cannot listen on {host}:{port} (address in use or not allowed); "
            "choose another port (service.port) or stop the other process"
        )
    bound = port
    for srv in server.servers:
        for sock in srv.sockets:
            bound = sock.getsockname()[1]
            break
    return ServerHandle(server, thread, host, bound)


def web_starter(host: str, port: int) -> Callable[[StoreReader, Config, bool], ServerHandle]:
    """A `(store, config, live) -> running app` callable for the app layer's long-running jobs.

    The port is checked here, before any long work starts (0 picks a free port). The process is
    about to become a long-running service, so its malloc arenas are capped here, before the
    store and the web server start their threads (`limit_malloc_arenas`)."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InputError(f"port {port!r}: expected 0 to 65535 (0: any free port)", field="port")
    limit_malloc_arenas()

    def start(store: StoreReader, config: Config, live: bool) -> ServerHandle:
        from wattlens.web.app import create_app  # the app imports this module's neighbours

        return serve_in_thread(create_app(store=store, config=config, live=live), host, port)

    return start


__all__ = ["MALLOC_ARENAS", "ServerHandle", "limit_malloc_arenas", "serve_in_thread", "web_starter"]
