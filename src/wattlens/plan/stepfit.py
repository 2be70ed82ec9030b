"""Fit the physics step model's parameters (`wattlens.physics.stepmodel`) to observations.

One fitter for the shipped default (ML.ENERGY H100 rows, `plan.mlenergy`) and for `plan
calibrate` (a deployment's telemetry or bench results, `plan.calibrate`). Residuals are logs of
predicted over observed J/token, per-GPU power and decode step time, so every quantity weighs by
its relative error. Parameters not in `free` keep their starting value. The covariance is
sigma^2 (J^T J)^-1 over the free parameters; a calibration the data cannot determine (a standard
error larger than its value, or a load range too narrow) is marked `identifiable: false` with
the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares

from wattlens.core.errors import InputError
from wattlens.physics.stepmodel import (
    LOWER,
    PARAM_NAMES,
    UPPER,
    Hardware,
    StepParams,
    Workload,
    decode_step,
)

F64 = NDArray[np.float64]
# Weights of the three residual kinds (J/token is the target; power and step time pin the split
# of J/token into watts and seconds so that the parameters transfer to other hardware).
W_JOULES, W_POWER, W_STEP = 1.0, 0.5, 0.3
MIN_LOAD_RATIO = 4.0  # largest / smallest batch observed, below which load effects are unseen


@dataclass(frozen=True, slots=True)
class Observations:
    """Measured points (1-D arrays of one length); NaN marks a quantity not measured."""

    batch: F64
    joules_per_token: F64
    power_watts: F64  # per GPU
    step_s: F64  # median decode step (inter-token latency); NaN if unknown
    mean_kv_tokens: F64  # used where task < 0
    prompt_per_output: F64  # prompt tokens per output token, where task < 0
    out_tokens: F64  # mean output tokens per request (for fitted prompt lengths)
    task: NDArray[np.int64]  # index of a fitted prompt length, or -1

    def take(self, index: Any) -> Observations:
        """Rows `index`."""
        return Observations(**{k: getattr(self, k)[index] for k in self.__dataclass_fields__})


@dataclass(frozen=True, slots=True)
class StepFit:
    """A fitted parameter set with its uncertainty and in-sample errors."""

    params: StepParams
    covariance: F64  # over PARAM_NAMES (zero rows/columns for parameters held fixed)
    free: tuple[str, ...]
    prompt_tokens: tuple[float, ...]  # fitted mean prompt per task (nuisance)
    mape_joules_per_token_percent: float
    mape_power_percent: float
    mape_step_percent: float
    points: int
    identifiable: bool = True
    reasons: tuple[str, ...] = ()
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def stderr(self) -> dict[str, float]:
        """One-sigma error per parameter (0 for parameters held fixed)."""
        d = np.sqrt(np.clip(np.diag(self.covariance), 0.0, None))
        return {n: float(v) for n, v in zip(PARAM_NAMES, d, strict=True)}


def _kv_and_prefill(obs: Observations, prompts: F64) -> tuple[F64, F64]:
    has = obs.task >= 0
    prompt = np.where(has, prompts[np.maximum(obs.task, 0)] if prompts.size else 0.0, 0.0)
    kv = np.where(has, prompt + obs.out_tokens / 2.0, obs.mean_kv_tokens)
    ppo = np.where(has, prompt / np.maximum(obs.out_tokens, 1.0), obs.prompt_per_output)
    return kv, ppo


def predict(
    params: StepParams, hw: Hardware, wl: Workload, obs: Observations, prompts: F64
) -> tuple[F64, F64, F64]:
    """(J per output token, power per GPU, decode step s) at the observed points."""
    kv, ppo = _kv_and_prefill(obs, prompts)
    n = np.maximum(obs.batch, 1e-9)
    full = decode_step(params, hw, wl, n, kv, prefill_tokens_per_step=n * ppo)
    decode = decode_step(params, hw, wl, n, kv)
    joules = np.asarray(wl.tp, dtype=np.float64) * full.power_watts * full.step_s / n
    return joules, full.power_watts, decode.step_s


def _residuals(
    theta: F64,
    base: F64,
    free_idx: list[int],
    n_tasks: int,
    hw: Hardware,
    wl: Workload,
    obs: Observations,
) -> F64:
    x = base.copy()
    x[free_idx] = theta[: len(free_idx)]
    prompts = theta[len(free_idx) :] * 1e3 if n_tasks else np.zeros(0)
    j, p, s = predict(StepParams.from_vector(x), hw, wl, obs, prompts)
    parts = []
    for w, pred, meas in (
        (W_JOULES, j, obs.joules_per_token),
        (W_POWER, p, obs.power_watts),
        (W_STEP, s, obs.step_s),
    ):
        ok = np.isfinite(meas) & (meas > 0)
        parts.append(w * np.log(pred[ok] / meas[ok]))
    return np.concatenate(parts)


def fit(
    hw: Hardware,
    wl: Workload,
    obs: Observations,
    *,
    start: StepParams,
    free: tuple[str, ...] = PARAM_NAMES,
    n_tasks: int = 0,
    source: str = "",
) -> StepFit:
    """Least-squares fit of the `free` parameters (and `n_tasks` prompt lengths) to `obs`."""
    unknown = [f for f in free if f not in PARAM_NAMES]
    if unknown:
        raise InputError(f"fit: unknown parameter(s) {', '.join(unknown)}", field="free")
    free_idx = [PARAM_NAMES.index(f) for f in free]
    base = start.vector()
    lo = [LOWER[i] for i in free_idx] + [0.0] * n_tasks
    hi = [UPPER[i] for i in free_idx] + [16.0] * n_tasks
    x0 = np.clip(np.concatenate([base[free_idx], np.full(n_tasks, 0.5)]), lo, hi)
    sol = least_squares(
        _residuals, x0, bounds=(lo, hi), args=(base, free_idx, n_tasks, hw, wl, obs), x_scale="jac"
    )
    x = base.copy()
    x[free_idx] = sol.x[: len(free_idx)]
    params = StepParams.from_vector(x)
    dof = max(1, sol.fun.size - sol.x.size)
    sigma2 = float(sol.fun @ sol.fun) / dof
    cov_free = np.linalg.pinv(sol.jac.T @ sol.jac) * sigma2
    cov = np.zeros((len(PARAM_NAMES), len(PARAM_NAMES)))
    k = len(free_idx)
    cov[np.ix_(free_idx, free_idx)] = cov_free[:k, :k]
    prompts = sol.x[k:] * 1e3
    j, p, s = predict(params, hw, wl, obs, prompts)
    reasons = _identifiability(params, cov, free, obs)
    return StepFit(
        params=params,
        covariance=cov,
        free=tuple(free),
        prompt_tokens=tuple(float(v) for v in prompts),
        mape_joules_per_token_percent=_mape(j, obs.joules_per_token),
        mape_power_percent=_mape(p, obs.power_watts),
        mape_step_percent=_mape(s, obs.step_s),
        points=int(obs.batch.size),
        identifiable=not reasons,
        reasons=tuple(reasons),
        source=source,
    )


def _mape(pred: F64, meas: F64) -> float:
    ok = np.isfinite(meas) & (meas > 0)
    if not np.any(ok):
        return float("nan")
    return 100.0 * float(np.mean(np.abs(pred[ok] - meas[ok]) / meas[ok]))


def _identifiability(
    params: StepParams, cov: F64, free: tuple[str, ...], obs: Observations
) -> list[str]:
    reasons = []
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    for name in free:
        i = PARAM_NAMES.index(name)
        value = float(params.vector()[i])
        at_bound = min(value - LOWER[i], UPPER[i] - value) <= 1e-6 * (UPPER[i] - LOWER[i])
        if se[i] > abs(value):  # also at a bound: pinned there is not the same as determined
            where = " (at its bound)" if at_bound else ""
            reasons.append(
                f"{name} = {value:.3g} ± {se[i]:.2g}{where}: the standard error exceeds the value"
            )
    b = obs.batch[np.isfinite(obs.batch) & (obs.batch > 0)]
    if b.size and float(b.max() / max(b.min(), 1e-9)) < MIN_LOAD_RATIO:
        reasons.append(
            f"observed load spans batch {b.min():.1f}..{b.max():.1f} (ratio "
            f"{b.max() / max(b.min(), 1e-9):.1f} < {MIN_LOAD_RATIO:g}): too narrow to tell "
            "fixed from per-sequence costs"
        )
    return reasons


def band(
    params: StepParams,
    covariance: F64,
    evaluate: Any,
    *,
    draws: int = 200,
    seed: int = 42,
    percentiles: tuple[float, float] = (5.0, 95.0),
) -> tuple[F64, F64]:
    """(low, high) percentiles of `evaluate(StepParams)` over draws from the covariance.

    Draws are clipped to the physical bounds. The band covers parameter uncertainty only, not
    structural error (see the cross-validated figures in docs/planning.md).
    """
    rng = np.random.default_rng(seed)
    x = params.vector()
    samples = rng.multivariate_normal(x, covariance, size=draws, method="svd")
    samples = np.clip(samples, LOWER, UPPER)
    values = np.asarray([evaluate(StepParams.from_vector(s)) for s in samples])
    lo, hi = np.percentile(values, list(percentiles), axis=0)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)


__all__ = [
    "MIN_LOAD_RATIO",
    "Observations",
    "StepFit",
    "band",
    "fit",
    "predict",
]
