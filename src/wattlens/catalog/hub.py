"""The Hugging Face hub, for one file only: a repo's `config.json` (huggingface_hub, cached).

huggingface_hub keeps the file in its cache (HF_HOME), sends HF_TOKEN for gated repos and
makes no request when HF_HUB_OFFLINE=1 (then only a cached copy is used). `endpoint=` points
at another hub (the tests use a loopback server holding recorded config files).
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wattlens.core.errors import CatalogError

# 'org/name' with the characters the hub allows in repo ids (huggingface_hub validate_repo_id).
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[\w.-]{1,96}$")
# Seconds to wait for the hub: a dashboard refresh must not stall on an unreachable hub.
_TIMEOUT_S = 5.0
_PROBE_S = 2.0
_DEFAULT_ENDPOINT = "https://huggingface.co"  # huggingface_hub's default HF_ENDPOINT


def looks_like_repo_id(name: str) -> bool:
    """True for 'org/name' spellings that could be a hub repo."""
    return bool(_REPO_ID.match(name.strip()))


def reachable(endpoint: str | None, timeout_s: float = _PROBE_S) -> bool:
    """True when a TCP connection to the hub opens within `timeout_s`.

    huggingface_hub retries a failed request five times with backoff (about 25 s), so an
    unreachable hub is detected once, quickly, before asking it anything.
    """
    parts = urlsplit(endpoint or _DEFAULT_ENDPOINT)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout_s):
            return True
    except OSError:
        return False


def hub_offline(environ: Mapping[str, str]) -> bool:
    """HF_HUB_OFFLINE set to a true value (huggingface_hub's own reading of it)."""
    return environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def fetch_config(
    repo_id: str,
    *,
    endpoint: str | None = None,
    token: str | None = None,
    cache_dir: Path | None = None,
    offline: bool = False,
) -> dict[str, Any]:
    """Download (or read from the cache) `config.json` of `repo_id`; CatalogError if it fails."""
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise CatalogError(
            "model lookup on the Hugging Face hub needs huggingface_hub; pip install "
            "huggingface_hub, or add the model's config.json to [models] directory"
        ) from e
    try:
        path = hf_hub_download(
            repo_id,
            "config.json",
            endpoint=endpoint,
            token=token,
            cache_dir=cache_dir,
            local_files_only=offline,
            etag_timeout=_TIMEOUT_S,
        )
        return dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError, ValueError) as e:
        why = "not in the local cache (HF_HUB_OFFLINE is set)" if offline else str(e).split("\n")[0]
        raise CatalogError(
            f"config.json of {repo_id!r} could not be read from the Hugging Face hub: {why}; "
            "set HF_TOKEN for a gated repo, or put its config.json in [models] directory"
        ) from e


__all__ = ["fetch_config", "hub_offline", "looks_like_repo_id", "reachable"]
