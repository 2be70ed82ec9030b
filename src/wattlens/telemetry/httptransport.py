"""An httpx transport over the standard library's `http.client`, for the Prometheus client.

Why: Prometheus streams large answers in chunked encoding, in chunks of ~2 KB of gzip. httpx's
default transport (httpcore + h11) handles every chunk as an event in Python: 22-34 ms of CPU to
read a 2.2 MB answer on this 2-CPU machine, where `http.client` reads the same in 11 ms (bench
backfill_cpu, issue #11: a start-up backfill reads ~70 such answers). Everything above the
transport stays httpx: requests, headers, auth, redirects refused, environment proxies (httpx
mounts its own transport for those), and the exceptions callers handle.

Connections are kept alive and reused; one that the server closed while idle is retried once
on a fresh connection, as httpcore does.
"""

from __future__ import annotations

import gzip
import http.client
import socket
import ssl
import threading
import zlib
from collections.abc import Callable
from typing import Any, cast

import httpx

_inflate: Callable[[bytes], bytes] = gzip.decompress
_INFLATE_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error)
try:  # ISA-L's inflate: 2.9x zlib's speed on a Prometheus answer (3.0 MB of gzip: 24 -> 8.5 ms)
    from isal import igzip
    from isal.igzip_lib import IsalError

    _inflate = igzip.decompress
    # the package's stubs declare IsalError an instance; it is the exception class
    _INFLATE_ERRORS = (*_INFLATE_ERRORS, cast(type[BaseException], IsalError))
except ImportError:  # a platform without python-isal's wheels: the standard library's
    pass

_Key = tuple[str, str, int]
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
_IDLE_PER_HOST = 4


class StdlibTransport(httpx.BaseTransport):
    """Sends each request on a kept-alive `http.client` connection and reads the whole answer."""

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._ssl = ssl_context
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        key: _Key = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        body = request.read()
        for attempt in (0, 1):
            conn: http.client.HTTPConnection | None = None
            reused = False
            try:
                conn, reused = self._connection(key, timeouts)
                status, headers, content, reusable = self._exchange(conn, request, body)
            except _STALE as e:
                _close(conn)
                if reused and attempt == 0:
                    continue  # the server closed it while idle: once more on a new one
                raise httpx.RemoteProtocolError(_describe(e), request=request) from e
            except TimeoutError as e:  # socket.timeout is TimeoutError
                connected = conn is not None and conn.sock is not None
                _close(conn)
                kind = httpx.ReadTimeout if connected else httpx.ConnectTimeout
                raise kind(_describe(e), request=request) from e
            except http.client.HTTPException as e:
                _close(conn)
                raise httpx.RemoteProtocolError(_describe(e), request=request) from e
            except OSError as e:  # refused, unreachable, name not resolved, TLS failure
                _close(conn)
                raise httpx.ConnectError(_describe(e), request=request) from e
            if reusable:
                self._release(key, conn)
            else:
                conn.close()
            return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content))
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    @staticmethod
    def _exchange(
        conn: http.client.HTTPConnection, request: httpx.Request, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes, bool]:
        conn.putrequest(
            request.method,
            request.url.raw_path.decode("ascii"),
            skip_host=True,  # httpx's headers carry Host and Accept-Encoding
            skip_accept_encoding=True,
        )
        for name, value in request.headers.multi_items():
            conn.putheader(name, value)
        conn.endheaders(body or None)
        resp = conn.getresponse()
        content = resp.read()
        return resp.status, resp.getheaders(), content, not resp.will_close

    def _connection(
        self, key: _Key, timeouts: dict[str, Any]
    ) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            idle = self._idle.get(key)
            conn = idle.pop() if idle else None
        read_s = timeouts.get("read")
        if conn is not None:
            if conn.sock is not None:
                conn.sock.settimeout(read_s)
            return conn, True
        scheme, host, port = key
        connect_s = timeouts.get("connect")
        if scheme == "https":
            ctx = self._ssl or ssl.create_default_context()
            conn = http.client.HTTPSConnection(host, port, timeout=connect_s, context=ctx)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=connect_s)
        try:
            conn.connect()
        except BaseException:
            conn.close()
            raise
        assert conn.sock is not None
        conn.sock.settimeout(read_s)
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, False

    def _release(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < _IDLE_PER_HOST:
                idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for c in conns:
            c.close()


def gunzip(body: bytes) -> bytes:
    """A gzip body inflated in one call; ValueError saying why when it is damaged."""
    try:
        return _inflate(body)
    except _INFLATE_ERRORS as e:
        raise ValueError(str(e) or type(e).__name__) from e


def _close(conn: http.client.HTTPConnection | None) -> None:
    if conn is not None:
        conn.close()


def _describe(e: BaseException) -> str:
    return str(e) or type(e).__name__


__all__ = ["StdlibTransport", "gunzip"]
