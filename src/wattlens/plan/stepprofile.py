"""Step-model profiles on disk: the parameters of `wattlens.physics.stepmodel` with their source,
date, fit error, covariance and identifiability, as TOML (or JSON).

`plan calibrate` writes one; `plan tokw` and `plan fleet` take it with `calibration=`; the shipped
default (`wattlens/catalog/stepmodel.toml`) has the same layout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from wattlens.catalog.stepmodel import step_model_defaults
from wattlens.core.errors import InputError
from wattlens.physics.stepmodel import PARAM_NAMES, StepParams
from wattlens.plan.profile_files import read_profile, toml_value, write_profile

F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class StepProfile:
    """Parameters, covariance and provenance of one calibration."""

    params: StepParams
    covariance: F64
    source: str
    date: str
    identifiable: bool = True
    reasons: tuple[str, ...] = ()
    fit: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (the file's layout)."""
        return {
            "kind": "step-model",
            "source": self.source,
            "date": self.date,
            "identifiable": self.identifiable,
            "reasons": list(self.reasons),
            "param_order": list(PARAM_NAMES),
            "covariance": [[float(v) for v in row] for row in self.covariance],
            "params": self.params.as_dict(),
            "stderr": {
                n: float(math.sqrt(max(self.covariance[i, i], 0.0)))
                for i, n in enumerate(PARAM_NAMES)
            },
            "fit": dict(self.fit),
        }


def default_profile() -> StepProfile:
    """The shipped default (ML.ENERGY H100 fit)."""
    return _from_dict(step_model_defaults(), "the shipped default")


def _from_dict(data: dict[str, Any], where: str) -> StepProfile:
    missing = [k for k in ("params", "covariance", "param_order") if k not in data]
    if missing:
        raise InputError(f"calibration {where}: missing {', '.join(missing)}", field="calibration")
    order = list(data["param_order"])
    absent = [n for n in PARAM_NAMES if n not in order or n not in data["params"]]
    if absent:
        raise InputError(
            f"calibration {where}: missing parameter(s) {', '.join(absent)}", field="calibration"
        )
    idx = [order.index(n) for n in PARAM_NAMES]
    cov = np.asarray(data["covariance"], dtype=np.float64)
    if cov.shape != (len(order), len(order)):
        raise InputError(
            f"calibration {where}: covariance is {cov.shape}, expected {len(order)}x{len(order)}",
            field="calibration",
        )
    params = StepParams(**{n: float(data["params"][n]) for n in PARAM_NAMES})
    try:
        params.check()
    except InputError as e:
        raise InputError(f"calibration {where}: {e}", field="calibration") from e
    return StepProfile(
        params=params,
        covariance=cov[np.ix_(idx, idx)],
        source=str(data.get("source", "")),
        date=str(data.get("date", "")),
        identifiable=bool(data.get("identifiable", True)),
        reasons=tuple(data.get("reasons", ())),
        fit=dict(data.get("fit", {})),
    )


def to_toml(profile: StepProfile, header: str = "") -> str:
    """The profile as TOML text (top-level keys first, then [params], [stderr], [fit])."""
    data = profile.as_dict()
    lines = [f"# {line}" for line in header.splitlines()] if header else []
    lines.append("# wattlens step-model profile: parameters of wattlens.physics.stepmodel")
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    for k, v in data.items():
        if k == "covariance":
            lines.append("covariance = [")
            lines.extend(f"  {toml_value(row)}," for row in v)
            lines.append("]")
        elif k not in tables:
            lines.append(f"{k} = {toml_value(v)}")
    for name, table in tables.items():
        lines.append(f"\n[{name}]")
        lines.extend(f"{k} = {toml_value(x)}" for k, x in table.items() if x is not None)
    return "\n".join(lines) + "\n"


def save_step_profile(profile: StepProfile, path: str | Path) -> Path:
    """Write a profile as TOML (.toml) or JSON (.json); returns the path."""
    return write_profile(path, profile.as_dict(), lambda _data: to_toml(profile))


def load_step_profile(path: str | Path) -> StepProfile:
    """Read a profile written by `save_step_profile` (or the shipped default's layout)."""
    data = read_profile(path, "calibration")
    return _from_dict(data, repr(str(path)))


__all__ = [
    "StepProfile",
    "default_profile",
    "load_step_profile",
    "save_step_profile",
    "to_toml",
]
