"""The one JSON error shape and the one place exceptions become responses.

`{"ok": false, "error": "<one line>", "status": N}` for `WattlensError` subclasses (their
`.status`, e.g. 422 for `InfeasibleError`), Starlette/FastAPI HTTP errors (404, 405) and request
validation errors (400).
Anything else is a bug: the client gets the same shape with 500 and the traceback is logged.
An unknown path outside `/api/` is a person's typo or stale link: it gets an HTML 404 page.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

import jinja2
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from wattlens.core.errors import WattlensError
from wattlens.web.routes.pages import CSP

log = logging.getLogger(__name__)

API_PREFIX = "/api/"  # unknown paths under it answer JSON; elsewhere a page
_TEMPLATES_DIR = Path(str(resources.files("wattlens.web"))) / "templates"


def error_body(message: str, status: int) -> dict[str, object]:
    """The error shape every endpoint uses."""
    return {"ok": False, "error": message, "status": status}


def error_response(message: str, status: int) -> JSONResponse:
    """A JSON error response in the one shape."""
    return JSONResponse(error_body(message, status), status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ()) if x not in ("query", "path"))
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)


def _plain_static_url(name: str) -> str:
    # No content hash here (the hashing lives with the app factory); StaticFiles revalidates.
    return f"/static/{name}"


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on `app` (the only exception handling in the web package)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(_TEMPLATES_DIR)), autoescape=True)
    pages = Jinja2Templates(env=env)

    def not_found_page(request: Request) -> Response:
        resp = pages.TemplateResponse(
            request,
            "not_found.html",
            {"static_url": _plain_static_url, "path": request.url.path},
            status_code=404,
        )
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp

    async def on_wattlens(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, WattlensError)
        return error_response(exc.message, exc.status)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            if not request.url.path.startswith(API_PREFIX):
                return not_found_page(request)
            message = "no such path; the API is described at /docs and /openapi.json"
        return error_response(message, exc.status_code)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(_validation_message(exc), 400)

    async def on_bug(_: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return error_response("internal error; see the server log", 500)

    app.add_exception_handler(WattlensError, on_wattlens)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(Exception, on_bug)


__all__ = ["error_body", "error_response", "install_error_handlers"]
