"""Power-cap what-if: time and energy change of a GPU workload under a power limit.

An approximation with two fitted parameters, calibrated on Samsi et al. 2023 (65B on 4x A100,
250 -> 175 W: time +6.7 %, energy -23.21 %; `data/powercap.toml`):

    P(f) = P_static + (D - P_static) f^alpha        power at relative clock f (f = 1 uncapped)
    f(cap) = ((cap - P_static) / (D - P_static))^(1/alpha)   when cap < D, else 1
    T(cap) / T(1) = 1 - beta + beta / f(cap)        only the clock-bound share beta stretches
    E(cap) = min(D, cap) x T(cap)

D (the workload's draw at full clock, per GPU) and beta (its clock-bound share of time) are
solved in closed form from the published averages; P_static is the GPU's idle power (catalog);
alpha = 3 (DVFS). For another GPU, D scales with TDP relative to the calibration GPU. It does
not model thermal effects, memory clocks or per-kernel behaviour; treat it as a first estimate
and measure (`wattlens bench --power-cap`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from wattlens.catalog import get_gpu
from wattlens.core.errors import CatalogError, InputError

NOTE = (
    "approximation: DVFS power law (alpha = 3) with a clock-bound share of time, calibrated on "
    "one published measurement (Samsi et al. 2023, 65B on 4x A100, 250 -> 175 W); measure your "
    "own workload with `wattlens bench --power-cap`"
)


@lru_cache(maxsize=1)
def powercap_data() -> dict[str, Any]:
    """The calibration targets and fixed constants, with their sources."""
    text = resources.files("wattlens.plan").joinpath("data/powercap.toml").read_text("utf-8")
    return tomllib.loads(text)


@dataclass(frozen=True, slots=True)
class PowerCapModel:
    """Fitted parameters of the what-if model for one GPU."""

    gpu: str
    demand_watts: float  # D: draw at full clock per GPU
    static_watts: float  # P_static: the GPU's idle power
    clock_bound_share: float  # beta
    alpha: float
    tdp_watts: float

    def clock(self, cap_watts: float) -> float:
        """Relative clock under `cap_watts` (1 when the cap is above the demand)."""
        if cap_watts >= self.demand_watts:
            return 1.0
        if cap_watts <= self.static_watts:
            raise InputError(
                f"cap {cap_watts:g} W is at or below the GPU's static power "
                f"({self.static_watts:g} W); the model has no clock there",
                field="cap",
            )
        ratio = (cap_watts - self.static_watts) / (self.demand_watts - self.static_watts)
        return float(ratio ** (1.0 / self.alpha))

    def time_ratio(self, cap_watts: float) -> float:
        """Run time under the cap over run time at full clock."""
        return 1.0 - self.clock_bound_share + self.clock_bound_share / self.clock(cap_watts)

    def energy_ratio(self, cap_watts: float) -> float:
        """Energy under the cap over energy at full clock."""
        return min(self.demand_watts, cap_watts) * self.time_ratio(cap_watts) / self.demand_watts


def _gpu(gpu: str) -> Any:
    try:
        return get_gpu(gpu)
    except CatalogError as e:
        raise InputError(str(e), field="gpu") from e


def calibrate() -> PowerCapModel:
    """Solve D and beta from the published 250 -> 175 W averages (calibration GPU)."""
    d = powercap_data()
    cal, alpha = d["calibration"], float(d["dvfs"]["alpha"])
    g = _gpu(cal["gpu"])
    base, cap = float(cal["base_cap_watts"]), float(cal["cap_watts"])
    t = 1.0 + cal["time_change_percent"] / 100.0
    e = 1.0 + cal["energy_change_percent"] / 100.0
    # E ratio = (cap / min(D, base)) x T ratio: the mean draw at the base cap gives D (< base).
    demand = min(base, cap * t / e)
    static = float(g.idle_watts)
    m0 = PowerCapModel(g.id, demand, static, 0.0, alpha, float(g.tdp_watts))
    f = m0.clock(cap)
    beta = (t - 1.0) / (1.0 / f - 1.0) if f < 1.0 else 0.0
    return PowerCapModel(g.id, demand, static, beta, alpha, float(g.tdp_watts))


def model_for(gpu: str) -> PowerCapModel:
    """The calibrated model moved to `gpu`: demand scaled by TDP, that GPU's idle power."""
    cal = calibrate()
    g = _gpu(gpu)
    scale = float(g.tdp_watts) / cal.tdp_watts
    return PowerCapModel(g.id, cal.demand_watts * scale, float(g.idle_watts),
                         cal.clock_bound_share, cal.alpha, float(g.tdp_watts))  # fmt: skip


def predict(gpu: str, cap_watts: float, base_watts: float | None = None) -> dict[str, Any]:
    """Time and energy change (percent) at `cap_watts` relative to `base_watts` (or uncapped)."""
    m = model_for(gpu)
    for name, v in (("cap", cap_watts), ("base", base_watts)):
        if v is not None and not (0 < v <= 2 * m.tdp_watts):
            raise InputError(f"{name} {v!r}: expected watts in (0, {2 * m.tdp_watts:g}]",
                             field=name)  # fmt: skip
    base = m.tdp_watts if base_watts is None else base_watts
    t = m.time_ratio(cap_watts) / m.time_ratio(base)
    e = m.energy_ratio(cap_watts) / m.energy_ratio(base)
    cal = powercap_data()["calibration"]
    fit = calibrate()
    return {
        "gpu": m.gpu, "cap_watts": cap_watts, "base_watts": base,
        "base": "uncapped (TDP)" if base_watts is None else "cap",
        "time_change_percent": 100.0 * (t - 1.0), "energy_change_percent": 100.0 * (e - 1.0),
        "power_watts_capped": min(m.demand_watts, cap_watts),
        "power_watts_base": min(m.demand_watts, base),
        "relative_clock": m.clock(cap_watts),
        "parameters": {"demand_watts": m.demand_watts, "static_watts": m.static_watts,
                       "clock_bound_share": m.clock_bound_share, "alpha": m.alpha},
        "fit": {"source": cal["source"], "gpu": fit.gpu,
                "published": {"time_change_percent": cal["time_change_percent"],
                              "energy_change_percent": cal["energy_change_percent"]},
                "reproduced": reproduce()},
        "note": NOTE,
    }  # fmt: skip


def reproduce() -> dict[str, float]:
    """The calibrated model at the paper's 250 -> 175 W setting (percent changes)."""
    cal = powercap_data()["calibration"]
    m = calibrate()
    base, cap = float(cal["base_cap_watts"]), float(cal["cap_watts"])
    return {
        "time_change_percent": 100.0 * (m.time_ratio(cap) / m.time_ratio(base) - 1.0),
        "energy_change_percent": 100.0 * (m.energy_ratio(cap) / m.energy_ratio(base) - 1.0),
    }


__all__ = [
    "NOTE",
    "PowerCapModel",
    "calibrate",
    "model_for",
    "powercap_data",
    "predict",
    "reproduce",
]
