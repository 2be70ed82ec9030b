"""Prometheus HTTP service discovery: `[{"targets": [...], "labels": {...}}]` -> scrape targets.

Labels starting with `__` are consumed as Prometheus does: `__scheme__` (default http),
`__metrics_path__` (default /metrics) and `__param_<name>` (URL query parameters); `__meta_*`
and any other `__` label are dropped. Every target also gets `instance="host:port"`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from wattlens.core.errors import BackendError, InputError
from wattlens.telemetry.scrape import ScrapeTarget

__all__ = ["load_http_sd", "targets_from_sd"]

_SHAPE = 'expected [{"targets": ["host:port", ...], "labels": {"name": "value", ...}}, ...]'


def _read(url_or_path: str | Path, client: httpx.Client | None) -> Any:
    src = str(url_or_path)
    if src.startswith(("http://", "https://")):
        try:
            if client is None:
                r = httpx.get(src, timeout=10, headers={"Accept": "application/json"})
            else:
                r = client.get(src, headers={"Accept": "application/json"})
        except httpx.HTTPError as e:
            raise BackendError(f"cannot reach HTTP SD endpoint {src}: {e}; check the URL") from e
        if r.status_code != 200:
            raise BackendError(f"HTTP SD endpoint {src} answered HTTP {r.status_code}")
        text = r.text
    else:
        try:
            text = Path(src).read_text()
        except OSError as e:
            raise InputError(f"cannot read HTTP SD file {src}: {e.strerror}") from e
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{src}: not JSON ({e}); {_SHAPE}") from e


def targets_from_sd(doc: Any, source: str = "<sd>") -> list[ScrapeTarget]:
    """Scrape targets from an already-parsed HTTP SD document."""
    if not isinstance(doc, list):
        raise InputError(f"{source}: top level is {type(doc).__name__}; {_SHAPE}")
    out: list[ScrapeTarget] = []
    for i, group in enumerate(doc):
        where = f"{source}: [{i}]"
        if not isinstance(group, dict) or not isinstance(group.get("targets"), list):
            raise InputError(f"{where} has no 'targets' list; {_SHAPE}")
        labels = group.get("labels") or {}
        if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
        ):
            raise InputError(f"{where}.labels must map strings to strings; {_SHAPE}")
        scheme = labels.get("__scheme__", "http")
        path = labels.get("__metrics_path__", "/metrics")
        if scheme not in ("http", "https"):
            raise InputError(f"{where}.labels.__scheme__ is {scheme!r}; expected http or https")
        if not path.startswith("/"):
            path = "/" + path
        params = {k[len("__param_") :]: v for k, v in labels.items() if k.startswith("__param_")}
        query = "?" + urlencode(params) if params else ""
        kept = {k: v for k, v in labels.items() if not k.startswith("__")}
        for j, address in enumerate(group["targets"]):
            if not isinstance(address, str) or not address or "/" in address:
                raise InputError(
                    f"{where}.targets[{j}] is {address!r}; expected 'host:port' without a scheme"
                )
            target_labels = {"instance": address, **kept}
            out.append(ScrapeTarget(f"{scheme}://{address}{path}{query}", target_labels))
    return out


def load_http_sd(
    url_or_path: str | Path, *, client: httpx.Client | None = None
) -> list[ScrapeTarget]:
    """Targets from an HTTP SD endpoint (http/https URL) or a JSON file of the same shape."""
    return targets_from_sd(_read(url_or_path, client), str(url_or_path))
