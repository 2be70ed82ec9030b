"""SweetSpot (Cavagna et al., ICPE 2026, arXiv 2602.05695): energy per output token against the
prompt and output lengths, fitted per model and serving setting, and its optimal output length.

    FLOPs form:          E_tok = θ0 + θ1·n_in²/n_out + θ2·n_in + θ3·n_in/n_out + θ4·n_out
    Memory+FLOPs form:   the same + θ5/n_out
    Sweet spot:          n_out*(n_in) = sqrt((θ1·n_in² + θ3·n_in + θ5) / θ4)     (θ4 > 0)

Each feature is the paper's operation count of its term from the catalog's dimensions (dense
FLOPs 2·active params per token, attention FLOPs 4·L·(heads·head_dim) per token pair, prefill
weight bytes), so the fitted coefficients per unit (`theta_per_unit`: J per FLOP, J per byte for
θ5) compare across models; `theta` is the same fit in the paper's length parameterisation (J per
output token per unit of the length feature), which the n_out* formula uses. θ ≥ 0 is fitted by
non-negative least squares on relative residuals (each point weighs by its percentage error,
the MAPE the paper reports), with k-fold cross-validated MAPE. n_out* is checked against a
numeric minimiser of the fitted curve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import nnls

from wattlens.catalog.specs import ModelSpec
from wattlens.core.errors import InputError
from wattlens.physics.kv import dtype_bytes
from wattlens.plan.sweetspot_data import SweetSpotData

F64 = NDArray[np.float64]
Form = Literal["flops", "memory"]
FORMS: tuple[Form, ...] = ("flops", "memory")
FEATURES: tuple[str, ...] = ("1", "n_in^2/n_out", "n_in", "n_in/n_out", "n_out", "1/n_out")
UNITS: tuple[str, ...] = ("J/FLOP",) * 5 + ("J/byte",)
DEFAULT_FOLDS = 5
GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def n_theta(form: Form) -> int:
    """Number of coefficients: 5 for the FLOPs form, 6 with the memory term."""
    if form not in FORMS:
        raise InputError(f"form {form!r}: expected flops or memory", field="form")
    return 5 if form == "flops" else 6


def length_features(n_in: ArrayLike, n_out: ArrayLike, form: Form = "flops") -> F64:
    """The paper's length features, one column per θ (shape (..., 5 or 6))."""
    i, o = np.asarray(n_in, dtype=np.float64), np.asarray(n_out, dtype=np.float64)
    i, o = np.broadcast_arrays(i, o)
    cols = [np.ones_like(i), i * i / o, i, i / o, o, 1.0 / o][: n_theta(form)]
    return np.stack(cols, axis=-1)


def feature_scales(model: ModelSpec, form: Form = "flops", dtype: str | None = None) -> F64:
    """Operations per unit of each length feature, from the catalog's dimensions.

    θ0 and θ3: dense FLOPs per token (2·active params; per generated and per prompt token);
    θ1, θ2: attention FLOPs 4·L·a per token pair (prefill n_in², decode over the prompt KV);
    θ4: 2·L·a (decode over the generated KV, summed over the steps and divided by n_out);
    θ5: weight bytes read by the prefill (params x dtype bytes), amortised over n_out.
    a = heads x head_dim, the attention width.
    """
    dense = 2.0 * float(model.active_params)
    attn = float(model.layers) * float(model.attention_heads) * float(model.head_dim)
    if dense <= 0 or attn <= 0:
        raise InputError(f"model {model.id}: no parameter count or attention shape", field="model")
    scales = [dense, 4.0 * attn, 4.0 * attn, dense, 2.0 * attn]
    if n_theta(form) == 6:
        scales.append(float(model.total_params) * dtype_bytes(dtype or model.default_dtype))
    return np.asarray(scales, dtype=np.float64)


def predict(theta: ArrayLike, n_in: ArrayLike, n_out: ArrayLike) -> F64:
    """E_tok (J per output token) of the paper-parameterised θ at (n_in, n_out)."""
    t = np.asarray(theta, dtype=np.float64)
    i, o = np.asarray(n_in, dtype=np.float64), np.asarray(n_out, dtype=np.float64)
    inv = 1.0 / o  # the features summed directly: no (points x θ) matrix on the hot path
    e = t[0] + (t[1] * i * i + t[3] * i + (t[5] if t.size > 5 else 0.0)) * inv + t[2] * i
    return np.asarray(e + t[4] * o, dtype=np.float64)


def n_out_star(theta: ArrayLike, n_in: ArrayLike) -> F64:
    """The paper's n_out*(n_in) = sqrt((θ1·n_in² + θ3·n_in + θ5)/θ4); NaN where θ4 <= 0."""
    t = np.asarray(theta, dtype=np.float64)
    i = np.asarray(n_in, dtype=np.float64)
    theta5 = t[5] if t.size > 5 else 0.0
    num = t[1] * i * i + t[3] * i + theta5
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(t[4] > 0, np.sqrt(np.maximum(num, 0.0) / t[4]), np.nan)


def n_out_star_numeric(
    theta: ArrayLike, n_in: ArrayLike, *, lo: float = 1e-3, hi: float = 1e7, iterations: int = 64
) -> F64:
    """Minimiser of the fitted E_tok over n_out in [lo, hi] by golden-section search.

    With θ >= 0, E_tok = A/n_out + B·n_out + C is convex in n_out, so the search finds the one
    minimum; a minimum at `hi` (θ4 = 0: longer is always better) is returned as NaN.
    """
    i = np.atleast_1d(np.asarray(n_in, dtype=np.float64))
    a, b = np.full(i.shape, np.log(lo)), np.full(i.shape, np.log(hi))  # search in log n_out

    def f(x: F64) -> F64:
        return predict(theta, i, np.exp(x))

    c, d = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
    fc, fd = f(c), f(d)
    for _ in range(iterations):
        left = fc < fd
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        d_new = np.where(left, c, a + GOLDEN * (b - a))
        c_new = np.where(left, b - GOLDEN * (b - a), d)
        fd_new = np.where(left, fc, f(d_new))
        fc_new = np.where(left, f(c_new), fd)
        c, d, fc, fd = c_new, d_new, fc_new, fd_new
    x = np.exp((a + b) / 2.0)
    return np.where(x >= hi * 0.999, np.nan, x)


def fit_theta(x: F64, y: F64) -> F64:
    """θ >= 0 minimising the relative residuals sum(((x @ θ - y) / y)²) (NNLS, scaled columns)."""
    a = x / y[:, None]
    norms = np.linalg.norm(a, axis=0)
    norms = np.where(norms > 0, norms, 1.0)
    coef, _ = nnls(a / norms, np.ones(y.size))
    return np.asarray(coef / norms, dtype=np.float64)


def mape_percent(predicted: F64, observed: F64) -> float:
    """Mean absolute percentage error."""
    return float(100.0 * np.mean(np.abs(predicted - observed) / observed))


def cv_mape_percent(x: F64, y: F64, folds: int = DEFAULT_FOLDS, seed: int = 0) -> float:
    """k-fold cross-validated MAPE: each point predicted by a fit that did not see it."""
    k = min(folds, y.size)
    order = np.random.default_rng(seed).permutation(y.size)
    errors = np.empty(y.size)
    for part in np.array_split(order, k):
        train = np.ones(y.size, dtype=bool)
        train[part] = False
        theta = fit_theta(x[train], y[train])
        errors[part] = np.abs(x[part] @ theta - y[part]) / y[part]
    return float(100.0 * errors.mean())


@dataclass(frozen=True, slots=True)
class SweetSpotFit:
    """A fitted SweetSpot model with its errors, sweet spots and the grid's efficiency spread."""

    model: str
    form: Form
    theta: F64  # J per output token per unit of each length feature (the paper's θ)
    scales: F64  # operations per unit of each length feature (catalog dimensions)
    mape_percent: float  # cross-validated
    mape_in_sample_percent: float
    folds: int
    points: int
    n_in: F64  # distinct prompt lengths in the data
    n_out_star: F64  # formula, NaN where θ4 = 0 (no minimum)
    n_out_star_numeric: F64
    worst_best_ratio: float  # fitted model over the data's (n_in, n_out) points
    worst_best_ratio_measured: float
    n_out_range: tuple[float, float]
    setting_column: str | None = None
    setting: float | None = None

    @property
    def theta_per_unit(self) -> F64:
        """θ per operation (J/FLOP, J/byte for θ5): comparable across models."""
        return np.asarray(self.theta / self.scales, dtype=np.float64)

    @property
    def max_star_difference_tokens(self) -> float | None:
        """Largest |formula - numeric| over the data's prompt lengths (None: no minimum)."""
        diff = np.abs(self.n_out_star - self.n_out_star_numeric)
        return None if np.all(np.isnan(diff)) else float(np.nanmax(diff))

    def to_json(self) -> dict[str, Any]:
        """The `--json` / API body (snake_case, units in names)."""
        names = [f"theta{i}" for i in range(self.theta.size)]
        lo, hi = self.n_out_range

        def star(v: float) -> float | None:
            return None if np.isnan(v) else round(float(v), 3)

        return {
            "model": self.model,
            "form": self.form,
            "theta": dict(zip(names, self.theta.tolist(), strict=True)),
            "theta_features": dict(zip(names, FEATURES[: self.theta.size], strict=True)),
            "theta_per_unit": dict(zip(names, self.theta_per_unit.tolist(), strict=True)),
            "theta_per_unit_units": dict(zip(names, UNITS[: self.theta.size], strict=True)),
            "mape_percent": self.mape_percent,
            "mape_in_sample_percent": self.mape_in_sample_percent,
            "cv_folds": self.folds,
            "points": self.points,
            "worst_best_ratio": self.worst_best_ratio,
            "worst_best_ratio_measured": self.worst_best_ratio_measured,
            "n_out_star": [
                {
                    "n_in": int(i) if float(i).is_integer() else float(i),
                    "n_out_star": star(s),
                    "n_out_star_numeric": star(m),
                    "in_data_range": bool(lo <= s <= hi),
                }
                for i, s, m in zip(self.n_in, self.n_out_star, self.n_out_star_numeric, strict=True)
            ],  # fmt: skip
            "n_out_star_max_difference_tokens": self.max_star_difference_tokens,
            "setting": None
            if self.setting_column is None
            else {"column": self.setting_column, "value": self.setting},
        }


def fit_sweetspot(
    data: SweetSpotData,
    model: ModelSpec,
    *,
    form: Form = "flops",
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
) -> SweetSpotFit:
    """Fit θ to measured points for a catalog model and report MAPE, n_out* and the spread."""
    k = n_theta(form)
    if not 2 <= folds <= 50:
        raise InputError(f"folds {folds}: expected 2..50", field="folds")
    distinct_in, distinct_out = np.unique(data.n_in), np.unique(data.n_out)
    if data.size < 2 * k or distinct_in.size < 2 or distinct_out.size < 3:
        raise InputError(
            f"data: {data.size} points over {distinct_in.size} prompt and {distinct_out.size} "
            f"output lengths; the {form} form needs at least {2 * k} points, 2 prompt lengths "
            "and 3 output lengths",
            field="data",
        )
    scales = feature_scales(model, form)
    x = length_features(data.n_in, data.n_out, form) * scales
    y = data.joules_per_output_token
    per_unit = fit_theta(x, y)
    fitted = x @ per_unit
    theta = per_unit * scales
    star = n_out_star(theta, distinct_in)
    numeric = n_out_star_numeric(theta, distinct_in)
    model_eff = predict(theta, data.n_in, data.n_out)
    return SweetSpotFit(
        model=model.id,
        form=form,
        theta=theta,
        scales=scales,
        mape_percent=cv_mape_percent(x, y, folds, seed),
        mape_in_sample_percent=mape_percent(fitted, y),
        folds=min(folds, data.size),
        points=data.size,
        n_in=distinct_in,
        n_out_star=star,
        n_out_star_numeric=numeric,
        worst_best_ratio=_spread(model_eff),
        worst_best_ratio_measured=_spread(y),
        n_out_range=(float(distinct_out[0]), float(distinct_out[-1])),
        setting_column=data.setting_column,
        setting=data.setting,
    )


def _spread(joules_per_token: F64) -> float:
    """Worst over best efficiency (tokens per joule) = max over min of J per output token."""
    lo = float(np.min(joules_per_token))
    return float(np.max(joules_per_token)) / lo if lo > 0 else float("inf")


@dataclass(frozen=True, slots=True)
class Heatmap:
    """Tokens per joule of a fit over a (n_in, n_out) grid, with the n_out* ridge."""

    n_in: F64
    n_out: F64
    tokens_per_joule: F64  # shape (n_in, n_out)
    ridge_n_out: F64  # n_out* per n_in (NaN: no minimum)

    def to_json(self) -> dict[str, Any]:
        """Axes, the matrix (rows: n_in) and the ridge, for the Plan page."""
        return {
            "n_in": self.n_in.tolist(),
            "n_out": self.n_out.tolist(),
            "tokens_per_joule": np.round(self.tokens_per_joule, 6).tolist(),
            "ridge_n_out_star": [None if np.isnan(v) else float(v) for v in self.ridge_n_out],
        }


def heatmap(fit: SweetSpotFit, n_in: ArrayLike | None = None,
            n_out: ArrayLike | None = None, cells: int = 32) -> Heatmap:  # fmt: skip
    """Tokens per joule over a log-spaced grid spanning the data (or the axes given)."""
    lo_out, hi_out = fit.n_out_range
    i = np.asarray(n_in if n_in is not None else _logspace(fit.n_in[0], fit.n_in[-1], cells))
    o = np.asarray(n_out if n_out is not None else _logspace(lo_out, hi_out, cells))
    e = predict(fit.theta, i[:, None], o[None, :])
    with np.errstate(divide="ignore"):
        tpj = np.where(e > 0, 1.0 / e, np.nan)
    return Heatmap(i.astype(np.float64), o.astype(np.float64), tpj, n_out_star(fit.theta, i))


def _logspace(lo: float, hi: float, n: int) -> F64:
    return np.unique(np.round(np.geomspace(lo, hi, n)))


__all__ = [
    "FEATURES",
    "FORMS",
    "Form",
    "Heatmap",
    "SweetSpotFit",
    "cv_mape_percent",
    "feature_scales",
    "fit_sweetspot",
    "fit_theta",
    "heatmap",
    "length_features",
    "mape_percent",
    "n_out_star",
    "n_out_star_numeric",
    "n_theta",
    "predict",
]
