"""Efficiency curve per deployment: power against throughput, fitted, and J/token from it.

Model (the "saturating" curve), x = total tok/s of the deployment:

    P(x) = P_idle + (P_sat - P_idle) * (1 - exp(-x / x0))

Why this one and not the 1/W paper's logistic in log batch (papers.md 4.1, Eq. 1):
- P(0) = P_idle exactly, and the low-load limit is linear in x. Below one request in flight
  the engine alternates between idle and single-stream decode, so time-averaged power is
  linear in throughput; the logistic in log x instead approaches P_idle as a power law with a
  free exponent, which makes the idle floor unidentifiable from the narrow throughput range a
  real deployment shows.
- It saturates at P_sat (the GPUs' power limit under full load) with three parameters that
  bounded least squares (`scipy.optimize.curve_fit`) pins down from binned data.
When the data do not reach the bend (x0 runs to its bound), the fit falls back to the linear
limit P = P_idle + s x ("linear"). Uncertainty: the fit covariance, scaled by the reduced
chi-square (interval noise is autocorrelated, so the bin errors alone are too small), carried
to P(x) and J/token(x) = P(x)/x by the gradient.

Knee: the smallest throughput where doubling it improves J/token by less than 10 %. Doubling is
capped at the saturation throughput x_sat = x0 ln 20 (95 % of the power rise), where the GPUs
are fully busy; for the linear limit the knee is x = P_idle (1/2 - f) / (f s) (4 P_idle / s).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from wattlens.analysis.options import AnalysisOptions
from wattlens.core.metrics import ratio_above

F64 = NDArray[np.float64]
CurveModel = Literal["saturating", "linear", "none"]


def format_joules_per_token(value: float | None) -> str:
    """'0.26', '1.60', '43.5', '512' (the NRP table's precision); '-' for None."""
    if value is None or not math.isfinite(value):
        return "-"
    if value < 10:
        return f"{value:.2f}"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


@dataclass(frozen=True, slots=True)
class Bins:
    """Binned (tok/s, W) points: bin means, spread and counts; bin 0 holds x == 0."""

    x: F64
    p: F64
    p_sd: F64
    n: F64


def bin_points(x: F64, p: F64, bins: int) -> Bins:
    """Mean power per log-spaced throughput bin (zero-traffic points in their own bin)."""
    zero = x <= 0
    xs, ps, sd, ns = [], [], [], []
    if zero.any():
        pz = p[zero]
        xs.append(0.0)
        ps.append(float(pz.mean()))
        sd.append(float(pz.std()))
        ns.append(float(pz.size))
    pos = ~zero
    if pos.any():
        xp, pp = x[pos], p[pos]
        lo, hi = float(xp.min()), float(xp.max())
        if hi > lo * 1.0001:
            edges = np.geomspace(lo, hi, bins + 1)
            idx = np.clip(np.searchsorted(edges, xp, side="right") - 1, 0, bins - 1)
        else:
            idx = np.zeros(xp.size, dtype=np.int64)
        n = np.bincount(idx, minlength=bins).astype(np.float64)
        sx = np.bincount(idx, xp, minlength=bins)
        sp = np.bincount(idx, pp, minlength=bins)
        sp2 = np.bincount(idx, pp * pp, minlength=bins)
        keep = n > 0
        mean_p = sp[keep] / n[keep]
        var = np.maximum(sp2[keep] / n[keep] - mean_p**2, 0.0)
        xs.extend((sx[keep] / n[keep]).tolist())
        ps.extend(mean_p.tolist())
        sd.extend(np.sqrt(var).tolist())
        ns.extend(n[keep].tolist())
    return Bins(np.array(xs), np.array(ps), np.array(sd), np.array(ns))


def _saturating(x: F64, p_idle: float, rise: float, x0: float) -> F64:
    return p_idle + rise * -np.expm1(-x / x0)


@dataclass(frozen=True)
class EfficiencyCurve:
    """A fitted power curve and what it says about J/token. Rates in tok/s, power in W."""

    model: CurveModel
    p_idle_watts: float | None
    p_idle_se_watts: float | None
    p_sat_watts: float | None
    x0_tokens_per_s: float | None
    slope_joules_per_token: float | None  # low-load marginal energy, dP/dx at x -> 0
    covariance: list[list[float]] | None  # of (p_idle, rise, x0) or (p_idle, slope)
    saturation_tokens_per_s: float | None
    knee_tokens_per_s: float | None
    knee_joules_per_token: float | None
    knee_extrapolated: bool
    best_joules_per_token: float | None
    best_at_tokens_per_s: float | None
    current_tokens_per_s: float | None
    current_power_watts: float | None
    current_joules_per_token: float | None
    curve_joules_per_token_at_current: float | None
    current_vs_curve: float | None  # current J/token / curve J/token - 1
    current_vs_knee: float | None  # current tok/s / knee tok/s
    observed_min_tokens_per_s: float | None
    observed_max_tokens_per_s: float | None
    sample_count: int
    bins_used: int
    note: str = ""
    # The idle floor P_idle is read at x = 0; with no interval near zero load it is an
    # extrapolation, flagged with the reason (#9: gemma in the demo, 255 +- 37 W fitted against
    # 144 W planted from a lowest load of 195 tok/s).
    idle_extrapolated: bool = False
    idle_extrapolation_reason: str = ""
    _params: tuple[float, ...] = field(default=(), repr=False)
    _cov: Any = field(default=None, repr=False)

    def predict(self, x: Any) -> tuple[F64, F64]:
        """(P(x), standard error of P(x)) in watts; NaN when there is no fit."""
        xa = np.asarray(x, dtype=np.float64)
        if self.model == "none":
            nan = np.full(xa.shape, np.nan)
            return nan, nan
        if self.model == "linear":
            a, s = self._params
            grad = np.stack([np.ones_like(xa), xa])
            p = a + s * xa
        else:
            a, rise, x0 = self._params
            e = np.exp(-xa / x0)
            p = a + rise * (1.0 - e)
            grad = np.stack([np.ones_like(xa), 1.0 - e, -rise * xa / x0**2 * e])
        cov = np.asarray(self._cov)
        var = np.einsum("i...,ij,j...->...", grad, cov, grad)
        return p, np.sqrt(np.maximum(var, 0.0))

    def joules_per_token(self, x: Any) -> tuple[F64, F64]:
        """(J/token(x), its standard error) from the fitted curve."""
        xa = np.asarray(x, dtype=np.float64)
        p, se = self.predict(xa)
        with np.errstate(divide="ignore", invalid="ignore"):
            return p / xa, se / xa

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (no private state)."""
        d = asdict(self)
        d.pop("_params")
        d.pop("_cov")
        return d


def _saturating_jac(x: F64, p_idle: float, rise: float, x0: float) -> F64:
    e = np.exp(-x / x0)
    return np.stack([np.ones_like(x), 1.0 - e, -rise * x / x0**2 * e], axis=1)


def _start_from_grid(b: Bins, w: F64, lo: float, hi: float) -> tuple[float, float, float]:
    """Best (P_idle, rise, x0) over a log grid of x0, (P_idle, rise) by weighted least squares.

    For a fixed x0 the model is linear in P_idle and rise, so the whole grid is solved at once;
    curve_fit then only polishes the best point (variable projection as a starting value).
    """
    x0 = np.geomspace(lo, hi, 64)
    f = -np.expm1(-b.x[:, None] / x0[None, :])  # (bins, grid)
    sw, swf, swff = w.sum(), w @ f, w @ (f * f)
    swp, swfp = w @ b.p, (w * b.p) @ f
    det = sw * swff - swf**2
    with np.errstate(divide="ignore", invalid="ignore"):
        rise = np.maximum((sw * swfp - swf * swp) / det, 0.0)
    a = np.maximum((swp - rise * swf) / sw, 0.0)
    chi2 = ((b.p[:, None] - a - rise * f) ** 2 * w[:, None]).sum(axis=0)
    i = int(np.nanargmin(np.where(np.isfinite(chi2), chi2, np.inf)))
    return float(a[i]), float(rise[i]), float(x0[i])


def _fit_saturating(b: Bins, sigma: F64) -> tuple[tuple[float, ...], F64] | None:
    pos = b.x > 0
    if pos.sum() < 3:
        return None
    x_lo, x_hi = float(b.x[pos].min()), float(b.x[pos].max())
    p_max = float(b.p.max())
    lower = [0.0, 0.0, x_lo / 100.0]
    upper = [p_max * 1.5, p_max * 20.0, x_hi * 100.0]
    p0 = _start_from_grid(b, 1.0 / sigma**2, lower[2], upper[2])
    if p0[2] >= upper[2] * 0.999:
        return None  # no bend in the data: the linear limit says as much with fewer parameters
    start = tuple(min(max(v, lo + 1e-9 * (hi - lo)), hi - 1e-9 * (hi - lo))
                  for v, lo, hi in zip(p0, lower, upper, strict=True))  # fmt: skip
    from scipy.optimize import OptimizeWarning, curve_fit  # scipy loads on the first fit only

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        try:
            popt, pcov = curve_fit(
                _saturating, b.x, b.p, p0=start, sigma=sigma, bounds=(lower, upper),
                jac=_saturating_jac, max_nfev=200,
            )  # fmt: skip
        except (RuntimeError, ValueError):
            return None
    if popt[2] >= 0.5 * upper[2] or not np.all(np.isfinite(pcov)):
        return None
    return tuple(float(v) for v in popt), pcov


def _fit_linear(b: Bins, sigma: F64) -> tuple[tuple[float, ...], F64] | None:
    if np.unique(b.x).size < 2:
        return None
    w = 1.0 / sigma**2
    a_mat = np.stack([np.ones_like(b.x), b.x], axis=1)
    ata = a_mat.T @ (a_mat * w[:, None])
    try:
        inv = np.linalg.inv(ata)
    except np.linalg.LinAlgError:
        return None
    coef = inv @ (a_mat.T @ (w * b.p))
    resid = b.p - a_mat @ coef
    dof = b.x.size - 2
    scale = float(np.sum(w * resid**2) / dof) if dof > 0 else 1.0
    return (float(coef[0]), float(coef[1])), np.asarray(inv * scale, dtype=np.float64)


def _knee(fit_model: CurveModel, params: tuple[float, ...], f: float, sat_frac: float) -> float:
    if fit_model == "linear":
        a, s = params
        return a * (0.5 - f) / (f * s) if s > 0 else math.inf
    a, rise, x0 = params
    x_sat = x0 * math.log(1.0 / (1.0 - sat_frac))
    grid = np.geomspace(x_sat * 1e-4, x_sat, 600)
    j = _saturating(grid, a, rise, x0) / grid
    j2 = _saturating(np.minimum(2 * grid, x_sat), a, rise, x0) / np.minimum(2 * grid, x_sat)
    hit = np.flatnonzero(1.0 - j2 / j < f)
    return float(grid[hit[0]]) if hit.size else x_sat


def fit_efficiency_curve(
    tokens_per_s: F64,
    power_watts: F64,
    ts_end_s: F64,
    interval_s: F64,
    options: AnalysisOptions,
) -> EfficiencyCurve:
    """Fit the curve to per-interval points and read the knee, best and current J/token."""
    ok = np.isfinite(tokens_per_s) & np.isfinite(power_watts) & (interval_s > 0)
    x, p = np.maximum(tokens_per_s[ok], 0.0), power_watts[ok]
    min_tok = options.min_tokens_per_s_for_ratio
    empty = dict.fromkeys(EfficiencyCurve.__dataclass_fields__)
    own = ("model", "note", "idle_extrapolated", "idle_extrapolation_reason")
    base: dict[str, Any] = {
        k: v for k, v in empty.items() if not k.startswith("_") and k not in own
    }
    base.update(knee_extrapolated=False, sample_count=int(x.size), bins_used=0)
    if x.size:
        pos = x[x > 0]
        base["observed_min_tokens_per_s"] = float(pos.min()) if pos.size else 0.0
        base["observed_max_tokens_per_s"] = float(x.max())
    base.update(_current(tokens_per_s, power_watts, ts_end_s, interval_s, options))
    if x.size < 2 * options.min_bin_samples:
        return EfficiencyCurve(
            model="none", note="too few intervals with energy and tokens", **base
        )
    b = bin_points(x, p, options.curve_bins)
    if b.x.size == 1 and b.x[0] == 0:
        base.update(p_idle_watts=float(b.p[0]), p_idle_se_watts=float(b.p_sd[0] / np.sqrt(b.n[0])))
        note = "no traffic in range: the idle power is observed directly, no curve"
        return EfficiencyCurve(model="none", note=note, **base)
    keep = b.n >= min(options.min_bin_samples, b.n.max())
    b = Bins(b.x[keep], b.p[keep], b.p_sd[keep], b.n[keep])
    base["bins_used"] = int(b.x.size)
    sigma = np.sqrt(np.maximum(b.p_sd**2, (0.005 * b.p) ** 2) / b.n) + 1e-9
    good = (b.x > min_tok) & (b.n >= options.min_bin_samples)
    if good.any():
        j = b.p[good] / b.x[good]
        i = int(np.argmin(j))
        base["best_joules_per_token"] = float(j[i])
        base["best_at_tokens_per_s"] = float(b.x[good][i])
    fitted = _fit_saturating(b, sigma)
    model: CurveModel = "saturating"
    if fitted is None:
        fitted, model = _fit_linear(b, sigma), "linear"
    if fitted is None:
        note = "all intervals at one throughput: no curve (more varied traffic needed)"
        return EfficiencyCurve(model="none", note=note, **base)
    params, cov = fitted
    curve = EfficiencyCurve(model=model, note="", _params=params, _cov=cov, **base)
    return _flag_extrapolated_idle(_describe(curve, params, cov, options), b, options)


def _flag_extrapolated_idle(
    curve: EfficiencyCurve, b: Bins, options: AnalysisOptions
) -> EfficiencyCurve:
    """The curve, flagged when its idle floor lies far below everything observed.

    Far: no zero-traffic interval, and at the lowest load seen the curve is more than
    `intercept_max_rise_fraction` above P_idle (the rule `analysis.idle` uses to decide whether
    an intercept is near the observed floor, so the two agree).
    """
    from dataclasses import replace

    a, se, x_lo = curve.p_idle_watts, curve.p_idle_se_watts, curve.observed_min_tokens_per_s
    if a is None or x_lo is None or bool(np.any(b.x <= 0)):
        return curve
    p_lo = float(curve.predict(x_lo)[0])
    limit = options.intercept_max_rise_fraction
    if a > 0 and (p_lo - a) / a <= limit:
        return curve
    rise = f"{(p_lo - a) / a:.0%} above it" if a > 0 else "the floor is at or below 0 W"
    reason = (
        f"idle floor {a:.0f} ± {se or 0.0:.0f} W extrapolated to zero load from a lowest "
        f"observed load of {x_lo:,.0f} tok/s, where the curve is at {p_lo:.0f} W ({rise}; "
        f"more than {limit:.0%}): no interval near idle was seen"
    )
    return replace(curve, idle_extrapolated=True, idle_extrapolation_reason=reason)


def _current(x: F64, p: F64, ts: F64, dt: F64, options: AnalysisOptions) -> dict[str, float | None]:
    if ts.size == 0:
        return {}
    last = ts > ts[-1] - options.current_window_s  # intervals ending in the last hour
    e_ok = last & np.isfinite(p)
    t_ok = last & np.isfinite(x)
    if not e_ok.any():
        return {}
    power = float(np.sum(p[e_ok] * dt[e_ok]) / np.sum(dt[e_ok]))
    rate = float(np.sum(x[t_ok] * dt[t_ok]) / np.sum(dt[t_ok])) if t_ok.any() else None
    jpt = None if rate is None else ratio_above(power, rate, options.min_tokens_per_s_for_ratio)
    return {
        "current_power_watts": power,
        "current_tokens_per_s": rate,
        "current_joules_per_token": jpt,
    }


def _describe(
    curve: EfficiencyCurve, params: tuple[float, ...], cov: F64, options: AnalysisOptions
) -> EfficiencyCurve:
    from dataclasses import replace

    f = options.knee_improvement
    se0 = float(math.sqrt(max(cov[0, 0], 0.0)))
    upd: dict[str, Any] = {
        "p_idle_watts": params[0],
        "p_idle_se_watts": se0,
        "covariance": np.asarray(cov).tolist(),
    }
    if curve.model == "linear":
        upd["slope_joules_per_token"] = params[1]
    else:
        a, rise, x0 = params
        upd.update(
            p_sat_watts=a + rise,
            x0_tokens_per_s=x0,
            slope_joules_per_token=rise / x0,
            saturation_tokens_per_s=x0 * math.log(1.0 / (1.0 - options.saturation_fraction)),
        )
    knee = _knee(curve.model, params, f, options.saturation_fraction)
    if math.isfinite(knee) and knee > 0:
        upd["knee_tokens_per_s"] = knee
        upd["knee_joules_per_token"] = float(curve.joules_per_token(knee)[0])
        upd["knee_extrapolated"] = bool(knee > (curve.observed_max_tokens_per_s or 0.0))
    out = replace(curve, **upd)
    x_now = out.current_tokens_per_s
    if x_now is not None and x_now > options.min_tokens_per_s_for_ratio:
        j_curve = float(out.joules_per_token(x_now)[0])
        extra: dict[str, Any] = {"curve_joules_per_token_at_current": j_curve}
        if out.current_joules_per_token is not None and j_curve > 0:
            extra["current_vs_curve"] = out.current_joules_per_token / j_curve - 1.0
        if out.knee_tokens_per_s:
            extra["current_vs_knee"] = x_now / out.knee_tokens_per_s
        out = replace(out, **extra)
    return out


__all__ = [
    "Bins",
    "CurveModel",
    "EfficiencyCurve",
    "bin_points",
    "fit_efficiency_curve",
    "format_joules_per_token",
]
