"""The one error hierarchy. The CLI and the web app catch only `WattlensError`.

    WattlensError            user-facing problem; message names the input, the expectation, the fix
    ├── ConfigError          bad config key or value
    ├── InputError           malformed file or exposition text, bad CLI value
    ├── CatalogError         unknown GPU, model, grid region or spec
    ├── BackendError         metrics backend unreachable or answering errors
    ├── StoreError           DuckDB file unusable
    └── NotFoundError        an API path names something that does not exist

`status` is the HTTP status the web app maps the error to.
"""

from __future__ import annotations


class WattlensError(Exception):
    """Base class for errors a user can fix; `str(e)` is one line."""

    status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(WattlensError):
    """A configuration key or value is wrong."""


class InputError(WattlensError):
    """Input data (a file, exposition text or option value) is malformed."""


class CatalogError(WattlensError):
    """A name does not resolve to a catalog entry."""

    status = 404


class BackendError(WattlensError):
    """The metrics backend cannot be reached or answered with an error."""

    status = 503


class StoreError(WattlensError):
    """The DuckDB store cannot be opened or written."""

    status = 500


class NotFoundError(WattlensError):
    """A requested resource does not exist."""

    status = 404


__all__ = [
    "BackendError",
    "CatalogError",
    "ConfigError",
    "InputError",
    "NotFoundError",
    "StoreError",
    "WattlensError",
]
