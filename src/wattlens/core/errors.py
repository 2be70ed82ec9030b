"""The one error hierarchy. The CLI and the web app catch only `WattlensError`.

    WattlensError            user-facing problem; message names the input, the expectation, the fix
    ├── ConfigError          bad config key or value
    ├── InputError           malformed file or exposition text, bad option value
    │   └── InfeasibleError  a well-formed request the model cannot satisfy (weights do not fit)
    ├── CatalogError         unknown GPU, model, grid region or spec
    ├── BackendError         metrics backend unreachable or answering errors
    ├── StoreError           DuckDB file unusable
    └── NotFoundError        an API path names something that does not exist

`status` is the HTTP status the web app maps the error to.

Library errors name fields and values (`slo_ttft_ms 0.5: ...`), never CLI flags or query
parameters. An error about one field carries its name in `field` and its message starts with
that name; `renamed` swaps it for what the user typed (the CLI's `--slo-ttft-ms`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Self


class WattlensError(Exception):
    """Base class for errors a user can fix; `str(e)` is one line."""

    status: int = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def renamed(self, names: Mapping[str, str]) -> Self:
        """This error with its field called `names[field]` in the message (self if unmapped)."""
        field = self.field
        if field is None or field not in names or not self.message.startswith(field):
            return self
        after = self.message[len(field) : len(field) + 1]
        if after.isalnum() or after == "_":  # `tp` must not rename `tpu ...`
            return self
        err = copy.copy(self)
        err.message = names[field] + self.message[len(field) :]
        err.args = (err.message,)
        return err


class ConfigError(WattlensError):
    """A configuration key or value is wrong."""


class InputError(WattlensError):
    """Input data (a file, exposition text or option value) is malformed."""


class InfeasibleError(InputError):
    """A well-formed request the model cannot satisfy (the weights do not fit, no split works)."""

    status = 422


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
    "InfeasibleError",
    "InputError",
    "NotFoundError",
    "StoreError",
    "WattlensError",
]
