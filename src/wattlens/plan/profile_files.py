"""Profile files: the TOML or JSON that `plan calibrate` writes and planning commands read.

One home for the file handling both the power-curve and the step-model profiles use.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wattlens.core.errors import InputError


def toml_value(v: Any) -> str:
    """A scalar or list as a TOML value (non-finite floats as TOML's nan / inf / -inf)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return repr(v)


def write_profile(
    path: str | Path, data: dict[str, Any], to_toml: Callable[[dict[str, Any]], str]
) -> Path:
    """Write `data` as JSON (.json) or TOML (.toml, rendered by `to_toml`); returns the path."""
    out = Path(path)
    if out.suffix == ".json":
        out.write_text(json.dumps(data, indent=2, allow_nan=True) + "\n")
    elif out.suffix == ".toml":
        out.write_text(to_toml(data))
    else:
        raise InputError(
            f"out {str(out)!r}: expected a .toml or .json file name for the profile", field="out"
        )
    return out


def read_profile(path: str | Path, field: str) -> dict[str, Any]:
    """A profile file's contents (JSON by suffix, else TOML); InputError naming `field`."""
    src = Path(path)
    try:
        text = src.read_text()
        data = json.loads(text) if src.suffix == ".json" else tomllib.loads(text)
    except (OSError, ValueError) as e:
        raise InputError(f"{field} {str(src)!r}: cannot read it ({e})", field=field) from e
    if not isinstance(data, dict):
        raise InputError(f"{field} {str(src)!r}: expected a table of keys", field=field)
    return data


__all__ = ["read_profile", "toml_value", "write_profile"]
