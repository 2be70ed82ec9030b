"""Fit the logistic power curve P(b) (1/W law Eq. 1) to observed (requests running, power) points.

The fit is a bounded nonlinear least squares (scipy `curve_fit`, trust-region reflective) over
p_idle, p_nominal, x0 and k. It reports RMSE, MAPE and one-sigma parameter errors from the
covariance. The fitted `PowerProfile` saves to JSON or TOML and plugs into
`plan_tokw(..., power_profile=...)`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import OptimizeWarning, curve_fit

from wattlens.core.errors import InputError
from wattlens.physics.power import logistic_power
from wattlens.plan.profile_files import read_profile, toml_value, write_profile
from wattlens.plan.profiles import PowerProfile
from wattlens.plan.stepfit import MIN_LOAD_RATIO

MIN_POINTS = 5
_NAMES = ("p_idle_watts", "p_nominal_watts", "x0", "k")


class IntervalSource(Protocol):
    """What calibration needs from the store (`wattlens.store.Store` satisfies it)."""

    def intervals(
        self, deployment_id: str | None, start_s: float | None = None, end_s: float | None = None
    ) -> dict[str, np.ndarray]: ...


def _model(b: np.ndarray, p_idle: float, p_nom: float, x0: float, k: float) -> np.ndarray:
    return logistic_power(b, p_idle, p_nom, k, x0)


def fit_power_curve(
    batch: ArrayLike, power_watts: ArrayLike, *, source: str = "fitted"
) -> PowerProfile:
    """Fit P(b) to points; InputError when there are too few or they do not span any batch."""
    b = np.asarray(batch, dtype=np.float64).ravel()
    p = np.asarray(power_watts, dtype=np.float64).ravel()
    if b.shape != p.shape:
        raise InputError(f"calibration: {b.size} batch values but {p.size} power values")
    ok = np.isfinite(b) & np.isfinite(p) & (p > 0)
    b, p = b[ok], p[ok]
    if b.size < MIN_POINTS or np.unique(np.round(np.log2(np.maximum(b, 1.0)), 2)).size < 3:
        raise InputError(
            f"calibration: {b.size} usable (requests running, power) points over "
            f"{np.unique(np.round(b)).size} distinct batch sizes; need at least {MIN_POINTS} "
            "points over 3 batch sizes, so collect history under varied load"
        )
    lo_p, hi_p = float(p.min()), float(p.max())
    x = np.log2(np.maximum(b, 1.0))
    p0 = [lo_p, hi_p, float(np.median(x)), 1.0]
    bounds = ([0.0, lo_p, -4.0, 0.05], [hi_p, 2.0 * hi_p, 16.0, 10.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        try:
            popt, pcov = curve_fit(_model, b, p, p0=p0, bounds=bounds, method="trf", maxfev=20000)
        except (RuntimeError, ValueError) as e:
            raise InputError(f"calibration: the logistic fit did not converge ({e})") from e
    pred = _model(b, *popt)
    resid = pred - p
    err = np.sqrt(np.clip(np.diag(pcov), 0.0, None))
    stderr = {
        n: (float(e) if math.isfinite(e) else float("nan"))
        for n, e in zip(_NAMES, err, strict=True)
    }
    reasons = _unidentifiable(popt, stderr, b)
    return PowerProfile(
        identifiable=not reasons,
        reasons=tuple(reasons),
        p_idle_watts=float(popt[0]),
        p_nominal_watts=float(popt[1]),
        x0=float(popt[2]),
        k=float(popt[3]),
        source=source,
        rmse_watts=float(np.sqrt(np.mean(resid**2))),
        mape_percent=float(np.mean(np.abs(resid) / p) * 100.0),
        stderr=stderr,
        points=int(b.size),
    )


def _unidentifiable(popt: np.ndarray, stderr: dict[str, float], b: np.ndarray) -> list[str]:
    """Why the data do not determine the curve (#9: the demo's Qwen3.5-397B fitted idle
    23.5 +- 8.7e7 W and a negative x0 without a word)."""
    reasons = []
    for name, value in zip(_NAMES, popt, strict=True):
        se = stderr[name]
        if not math.isfinite(se) or se > abs(float(value)):
            reasons.append(f"{name} = {value:.3g} ± {se:.2g}: the standard error exceeds the value")
    lo, hi = float(np.log2(max(b.min(), 1.0))), float(np.log2(max(b.max(), 1.0)))
    if not lo <= popt[2] <= hi:
        reasons.append(
            f"x0 = {popt[2]:.2f} lies outside the observed log2 batch {lo:.2f}..{hi:.2f}: the "
            "curve's midpoint is extrapolated"
        )
    if b.max() / max(b.min(), 1e-9) < MIN_LOAD_RATIO:
        reasons.append(
            f"observed batch {b.min():.1f}..{b.max():.1f} spans less than {MIN_LOAD_RATIO:g}x: "
            "too narrow to tell the idle floor from the rise"
        )
    return reasons


def calibrate_from_store(
    store: IntervalSource,
    deployment_id: str,
    *,
    start_s: float | None = None,
    end_s: float | None = None,
    min_running: float = 1.0,
) -> PowerProfile:
    """Fit per-GPU power (energy / interval / GPUs) against mean requests running.

    Intervals with fewer than `min_running` requests are left out: a mostly idle interval's
    mean batch below 1 would pull the curve's b = 1 end down to the idle floor.
    """
    cols = store.intervals(deployment_id, start_s, end_s)
    n = len(cols.get("interval_s", ()))
    if n == 0:
        raise InputError(
            f"deployment_id {deployment_id!r}: no stored intervals in that range; check the "
            "name against the stored deployments and that history was collected",
            field="deployment_id",
        )
    running = np.asarray(cols["requests_running"], dtype=np.float64)
    energy = np.asarray(cols["energy_joules"], dtype=np.float64)
    dt = np.asarray(cols["interval_s"], dtype=np.float64)
    gpus = np.asarray(cols["gpu_count"], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        power = energy / dt / gpus
    ok = np.isfinite(running) & np.isfinite(power) & (running >= min_running) & (dt > 0)
    if not np.any(np.isfinite(running)):
        raise InputError(
            f"deployment_id {deployment_id!r}: no engine metrics (requests running unknown); "
            "calibration needs vLLM metrics next to the GPU power",
            field="deployment_id",
        )
    return fit_power_curve(
        running[ok], power[ok], source=f"fitted to {int(ok.sum())} intervals of {deployment_id}"
    )


def save_power_profile(profile: PowerProfile, path: str | Path) -> Path:
    """Write a profile as JSON (.json) or TOML (.toml); returns the path."""
    return write_profile(path, asdict(profile), _to_toml)


def _to_toml(data: dict[str, Any]) -> str:
    lines = ["# wattlens power profile: logistic P(b) per GPU (1/W law Eq. 1)"]
    tables = []
    for k, v in data.items():
        if isinstance(v, dict):
            tables.append((k, v))
        elif v is not None:
            lines.append(f"{k} = {toml_value(v)}")
    for name, table in tables:
        lines.append(f"\n[{name}]")
        lines.extend(f"{k} = {toml_value(v)}" for k, v in table.items())
    return "\n".join(lines) + "\n"


def load_power_profile(path: str | Path) -> PowerProfile:
    """Read a profile written by `save_power_profile` (JSON or TOML)."""
    src = Path(path)
    data = read_profile(src, "power_profile")
    missing = [n for n in _NAMES if n not in data]
    if missing:
        raise InputError(
            f"power_profile {str(src)!r}: missing {', '.join(missing)}", field="power_profile"
        )
    allowed = set(PowerProfile.__dataclass_fields__)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InputError(
            f"power_profile {str(src)!r}: unknown key(s) {', '.join(unknown)}",
            field="power_profile",
        )
    data["reasons"] = tuple(data.get("reasons", ()))
    return PowerProfile(**data)


__all__ = [
    "MIN_POINTS",
    "IntervalSource",
    "calibrate_from_store",
    "fit_power_curve",
    "load_power_profile",
    "save_power_profile",
]
