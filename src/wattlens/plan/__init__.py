"""Planning: the 1/W-law models (tokens per watt, fleets, routing), fitting and calibration.

Modules: options (the named choices as Literal types), profiles (DecodeProfile, power models),
build (computed profiles from the catalog), paper (the published H100/B200 profiles), tokw
(`plan tokw`), traces (request-length CDFs), pools (M/G/c sizing of pools), optimize
(split/gamma search), fleet (`plan fleet`: topologies and comparisons), calibrate (logistic
power fit from telemetry), mlenergy (check against ML.ENERGY H100 data), plots. The
`wattlens plan` commands are in `wattlens.cli.plan`. Names below load their module on first
use, so importing the package (e.g. to mount the CLI) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "DEFAULT_CONTEXTS": "tokw",
    "Comparison": "fleet",
    "DecodeProfile": "profiles",
    "FleetResult": "fleet",
    "PowerProfile": "profiles",
    "TokwResult": "tokw",
    "UtilisationPower": "profiles",
    "compare_fleets": "fleet",
    "computed_profile": "build",
    "paper_profile": "paper",
    "plan_fleet": "fleet",
    "plan_tokw": "tokw",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'wattlens.plan' has no attribute {name!r}")
    return getattr(importlib.import_module(f"wattlens.plan.{_EXPORTS[name]}"), name)


def __dir__() -> list[str]:
    return __all__
