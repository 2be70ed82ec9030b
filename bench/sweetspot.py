"""SweetSpot fit on a 64 x 64 (n_in, n_out) grid (goal <= 50 ms for the fit with its 5-fold
cross-validated MAPE and the n_out* check), next to a naive implementation of the same method in
the same run: features built point by point in Python, θ >= 0 by scipy's generic bounded solver
(curve_fit, trust-region reflective) and n_out* by one scalar minimisation per prompt length."""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import curve_fit, minimize_scalar

from wattlens.catalog import get_model
from wattlens.plan.grid import geometric_lengths, synthetic_grid
from wattlens.plan.sweetspot import fit_sweetspot
from wattlens.plan.sweetspot_data import SweetSpotData

MODEL, GPU, SIZE, FOLDS, RUNS = "llama-3.1-8b", "H100-SXM", 64, 5, 7


def _naive(n_in: np.ndarray, n_out: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float, list]:
    """(θ, CV MAPE %, n_out* per n_in) the plain way."""

    def e_tok(x: np.ndarray, *theta: float) -> np.ndarray:
        rows = [theta[0] + theta[1] * i * i / o + theta[2] * i + theta[3] * i / o + theta[4] * o
                for i, o in zip(x[0], x[1], strict=True)]  # fmt: skip
        return np.asarray(rows) / x[2]  # relative residuals, as the fast path weighs them

    def fit(idx: np.ndarray) -> np.ndarray:
        x = np.vstack([n_in[idx], n_out[idx], y[idx]])
        theta, _ = curve_fit(e_tok, x, np.ones(idx.size), p0=np.full(5, 1e-4),
                             bounds=(0.0, np.inf))  # fmt: skip
        return np.asarray(theta)

    everything = np.arange(y.size)
    theta = fit(everything)
    order = np.random.default_rng(0).permutation(y.size)
    errors = []
    for part in np.array_split(order, FOLDS):
        t = fit(np.setdiff1d(everything, part))
        pred = e_tok(np.vstack([n_in[part], n_out[part], np.ones(part.size)]), *t)
        errors.extend(np.abs(pred - y[part]) / y[part])
    stars = []
    for i in np.unique(n_in):
        res = minimize_scalar(
            lambda o, i=i: theta[0] + theta[1] * i * i / o + theta[2] * i + theta[3] * i / o
            + theta[4] * o, bounds=(1e-3, 1e7), method="bounded", options={"xatol": 1e-4},
        )  # fmt: skip
        stars.append(float(res.x))
    return theta, 100.0 * float(np.mean(errors)), stars


def main() -> None:
    """Print the fit time, the naive time, their ratio and how far the two answers are apart."""
    axis = geometric_lengths(64, 4096, SIZE)
    grid = synthetic_grid(MODEL, GPU, n_in=axis, n_out=axis, concurrency=16, noise=0.02, seed=1)
    data = SweetSpotData(grid.n_in, grid.n_out, grid.joules_per_output_token)
    spec = get_model(MODEL)
    fit_sweetspot(data, spec, folds=FOLDS)  # warm-up
    runs = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fit = fit_sweetspot(data, spec, folds=FOLDS)
        runs.append(time.perf_counter() - t0)
    fast_s = float(np.median(runs))
    t0 = time.perf_counter()
    theta, mape, stars = _naive(grid.n_in, grid.n_out, grid.joules_per_output_token)
    naive_s = time.perf_counter() - t0
    star_diff = float(np.nanmax(np.abs(np.asarray(stars) - fit.n_out_star)))
    theta_diff = float(np.max(np.abs(theta - fit.theta) / np.maximum(fit.theta, 1e-30)))
    print(f"grid: {MODEL} on {GPU}, {len(axis)} x {len(axis)} = {data.size} points (plan grid, "
          f"concurrency 16, 2 % noise)")  # fmt: skip
    print(f"fit + {FOLDS}-fold CV MAPE + n_out* check: {fast_s * 1e3:.1f} ms median of {RUNS} "
          f"(goal <= 50 ms)")  # fmt: skip
    print(f"naive (Python features, curve_fit, minimize_scalar per n_in): {naive_s * 1e3:.0f} ms")
    print(f"ratio naive / fit: {naive_s / fast_s:,.0f}x")
    print(f"CV MAPE: {fit.mape_percent:.3f} % (naive {mape:.3f} %); worst/best "
          f"{fit.worst_best_ratio:.1f}x")  # fmt: skip
    print(
        f"largest relative θ difference: {theta_diff:.1e}; n_out* difference: {star_diff:.3f} "
        "tokens"
    )


if __name__ == "__main__":
    main()
