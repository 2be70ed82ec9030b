"""`--url`: the CLI's reads through a running service's JSON API instead of the store file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from wattlens.core.errors import BackendError, WattlensError

TIMEOUT_S = 60.0


def _request(base: str, path: str, params: dict[str, Any]) -> httpx.Response:
    url = base.rstrip("/") + path
    query = {k: v for k, v in params.items() if v is not None}
    try:
        resp = httpx.get(url, params=query, timeout=TIMEOUT_S)
    except httpx.HTTPError as e:
        raise BackendError(
            f"cannot reach the wattlens service at {base}: {type(e).__name__}: {e}; "
            "check --url (the address `wattlens serve` printed)"
        ) from e
    if resp.status_code >= 400:
        try:
            message = resp.json().get("error") or resp.text
        except ValueError:
            message = resp.text[:200]
        raise WattlensError(f"{base} answered HTTP {resp.status_code}: {message}")
    return resp


def get_json(base: str, path: str, **params: Any) -> Any:
    """GET `path` of the service at `base` and decode its JSON body."""
    resp = _request(base, path, params)
    try:
        return resp.json()
    except ValueError as e:
        raise BackendError(f"{base}{path} did not answer JSON; is --url a wattlens service?") from e


def download(base: str, path: str, out: Path, **params: Any) -> int:
    """GET `path` into the file `out`; returns bytes written."""
    resp = _request(base, path, params)
    out.write_bytes(resp.content)
    return len(resp.content)


__all__ = ["download", "get_json"]
