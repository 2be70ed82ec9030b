"""`create_app`: the FastAPI app serving the API, the pages, static assets and `/metrics`.

The app only reads the store; the collector (started by the CLI) writes it. Assets ship in the
package and are served with a content-hash query string (`?h=`) so caches never go stale.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from prometheus_client import make_asgi_app

from wattlens import __version__
from wattlens.config import Config
from wattlens.store import StoreReader
from wattlens.web.context import WebContext, answer_cache
from wattlens.web.errors import install_error_handlers
from wattlens.web.exporter import StoreCollector, make_registry
from wattlens.web.routes import (
    analysis,
    catalog,
    deployments,
    fleet,
    legacy,
    pages,
    plan,
    plan_queries,
    reads,
    requests,
    sweetspot,
)
from wattlens.web.snapshot import TTLCache

DEFAULT_CACHE_TTL_S = 5.0
DEFAULT_ANALYSIS_TTL_S = 60.0  # analyze() takes about a second on a large fleet
ANALYSIS_CACHE_KEYS = 16
_WEB = Path(str(resources.files("wattlens.web")))
STATIC_DIR = _WEB / "static"
TEMPLATES_DIR = _WEB / "templates"


@cache
def _hash(path: Path, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    """`/static/<name>?h=<content hash>` for a packaged asset."""
    path = STATIC_DIR / name
    return f"/static/{name}?h={_hash(path, path.stat().st_mtime_ns)}"


class _ASGI:
    """Wraps an ASGI callable so Starlette routes to it as an app, not as a request handler."""

    def __init__(self, app: Any) -> None:
        self._app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._app(scope, receive, send)


# Sent on every answer (issue 14). The pages load only their own scripts and styles; styles
# set from script (uPlot, Swagger UI) need 'unsafe-inline' for style attributes only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class _SecurityHeaders:
    """ASGI middleware adding `SECURITY_HEADERS` to every HTTP answer that lacks them."""

    def __init__(self, app: Any) -> None:
        self._app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in have]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self._app(scope, receive, with_headers)


class _WattlensApp(FastAPI):
    """FastAPI answering cached JSON for a few hot GET paths before any middleware or routing.

    The routes stay registered (and documented); the fast path only skips Starlette's stack when
    the body is already cached. A miss falls through to the normal app.
    """

    fast_paths: dict[str, tuple[str, Any]]
    ctx: WebContext

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            hit = self.fast_paths.get(scope["path"])
            body = hit and self.ctx.cached_json_nowait(*hit)
            if body:
                headers = [(b"content-type", b"application/json"),
                           (b"content-length", str(len(body)).encode()),
                           *SECURITY_HEADERS]  # fmt: skip
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await super().__call__(scope, receive, send)


def create_app(
    *,
    store: StoreReader,
    config: Config,
    clock: Callable[[], float] = time.time,
    cache_ttl_s: float = DEFAULT_CACHE_TTL_S,
    analysis_ttl_s: float = DEFAULT_ANALYSIS_TTL_S,
    live: bool = True,
) -> FastAPI:
    """The wattlens web app over an open `Store` and a loaded `Config`.

    Args:
        store: the store to read (thread-safe reads; the collector may write it meanwhile).
        config: the loaded configuration (thresholds, windows, PUE, grid vintage, refresh).
        clock: UTC epoch seconds now; tests inject a fixed clock.
        cache_ttl_s: how long a store snapshot is reused across requests (0 = never).
        analysis_ttl_s: how long an `/api/v2/analysis` answer is reused (0 = never).
        live: whether a collector fills the store; False serves stored history only (a banner
            says so and freshness does not count against readiness).
    """
    ctx = WebContext(
        store=store,
        config=config,
        clock=clock,
        cache=TTLCache(cache_ttl_s),
        answers=answer_cache(cache_ttl_s),
        slow_cache=TTLCache(analysis_ttl_s, max_items=ANALYSIS_CACHE_KEYS),
        live=live,
    )
    app = _WattlensApp(
        title="wattlens",
        version=__version__,
        summary="Energy and CO2 per token for LLM inference on GPUs.",
        docs_url=None,  # served offline by routes/pages.py
        redoc_url=None,
    )
    app.state.wattlens = ctx
    install_error_handlers(app)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=True,  # every page: labels are attacker-controlled
    )
    templates = Jinja2Templates(env=env)
    app.include_router(legacy.router(ctx))
    app.include_router(deployments.router(ctx))
    app.include_router(fleet.router(ctx))
    app.include_router(reads.router(ctx))
    app.include_router(analysis.router(ctx))
    app.include_router(plan.router(ctx))
    app.include_router(sweetspot.router(ctx))
    app.include_router(requests.router(ctx))  # the dashboard's Wh/request panel
    app.include_router(plan_queries.router(ctx))  # /api/v2/plan/query, /daily (#12)
    app.include_router(catalog.router(ctx))
    app.include_router(pages.router(ctx, templates, static_url))
    registry = make_registry(StoreCollector(ctx.snapshot, config, ctx.freshness))
    # Starlette routes a non-function endpoint as an ASGI app; its stubs only name handlers.
    metrics_app = _ASGI(make_asgi_app(registry))
    app.add_route("/metrics", metrics_app, include_in_schema=False)  # type: ignore[arg-type]
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    if config.service.cors_origins:  # none by default: the browser's same-origin rule holds
        app.add_middleware(
            CORSMiddleware, allow_origins=list(config.service.cors_origins),
            allow_methods=["GET", "POST"], allow_headers=["content-type"],
        )  # fmt: skip
    app.add_middleware(_SecurityHeaders)
    app.ctx = ctx
    app.fast_paths = {"/api/v1/carbon": (legacy.CARBON_KEY, legacy.carbon_view(ctx))}
    return app


__all__ = [
    "CONTENT_SECURITY_POLICY",
    "DEFAULT_ANALYSIS_TTL_S",
    "DEFAULT_CACHE_TTL_S",
    "SECURITY_HEADERS",
    "create_app",
    "static_url",
]
