"""The shipped default parameters of the physics step model (`stepmodel.toml`).

The file is written by `python -m bench plan_model --write-default` from the ML.ENERGY H100 fit
(`wattlens.plan.mlenergy`) and records its source, date, fit error and parameter covariance.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from wattlens.catalog._load import check_sources, load_toml
from wattlens.core.errors import CatalogError

_FILE = "stepmodel.toml"
_KEYS = ("source", "date", "params", "covariance", "param_order", "fit")


@cache
def step_model_defaults() -> dict[str, Any]:
    """The parsed file: source, date, params, param_order, covariance (rows), fit errors."""
    data = load_toml(_FILE)
    missing = [k for k in _KEYS if k not in data]
    if missing:
        raise CatalogError(f"{_FILE}: missing {', '.join(missing)}")
    check_sources([data["source"]], _FILE)
    order = list(data["param_order"])
    if set(order) != set(data["params"]) or len(data["covariance"]) != len(order):
        raise CatalogError(f"{_FILE}: params, param_order and covariance do not agree")
    return data


__all__ = ["step_model_defaults"]
