"""HTML pages: dashboard (`/`), efficiency, plan, methodology and the offline API docs (`/docs`)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from wattlens.web.context import WebContext
from wattlens.web.methodology import methodology_sections, render_methodology_markdown

SWAGGER_UI = "5.35.0"
# Pages load only same-origin assets; JS builds DOM with textContent, and this is the backstop.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def router(
    ctx: WebContext, templates: Jinja2Templates, static_url: Callable[[str], str]
) -> APIRouter:
    """Routes of the HTML pages."""
    r = APIRouter(include_in_schema=False)

    def page(request: Request, name: str, **extra: object) -> Response:
        resp = templates.TemplateResponse(
            request, name, {"static_url": static_url, "config": ctx.config, **extra}
        )
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp

    @r.get("/", response_class=HTMLResponse)
    def dashboard(request: Request) -> Response:
        return page(request, "dashboard.html", refresh_s=ctx.config.service.refresh_s)

    @r.get("/efficiency", response_class=HTMLResponse)
    def efficiency(request: Request) -> Response:
        return page(request, "efficiency.html")

    @r.get("/plan", response_class=HTMLResponse)
    def plan(request: Request) -> Response:
        return page(request, "plan.html")

    @r.get("/methodology", response_class=HTMLResponse)
    def methodology(request: Request) -> Response:
        return page(request, "methodology.html", sections=methodology_sections(ctx.config))

    @r.get("/methodology.md", response_class=PlainTextResponse)
    def methodology_md() -> Response:
        return PlainTextResponse(
            render_methodology_markdown(ctx.config), media_type="text/markdown; charset=utf-8"
        )

    @r.get("/docs", response_class=HTMLResponse)
    def docs(request: Request) -> Response:
        # Swagger UI inside the site's own page: the navigation leads back (#11), and the
        # same CSP applies, since docs.js starts it instead of an inline script.
        return page(request, "docs.html", swagger_ui=SWAGGER_UI)

    return r


__all__ = ["CSP", "router"]
