"""SweetSpot (Cavagna et al. 2026): the n_out* formula against brute force, θ recovery from
planted data, and the cross-validated MAPE against the noise's known expectation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wattlens.catalog import get_model
from wattlens.core.errors import InputError
from wattlens.plan.sweetspot import (
    fit_sweetspot,
    heatmap,
    n_out_star,
    n_out_star_numeric,
)
from wattlens.plan.sweetspot_data import SweetSpotData

MODEL = get_model("llama-3.1-8b")
AXIS = np.geomspace(64, 4096, 64)  # the paper's length range, 64 x 64 points
N_IN, N_OUT = (a.ravel() for a in np.meshgrid(AXIS, AXIS, indexing="ij"))
PLANTED_FLOPS = np.array([0.1, 2e-5, 3e-5, 2e-3, 4e-5])
PLANTED_MEMORY = np.array([0.1, 2e-5, 3e-5, 2e-3, 4e-5, 1.0])


def e_tok(theta: np.ndarray, n_in: np.ndarray, n_out: np.ndarray) -> np.ndarray:
    """The paper's E_tok written out term by term (independent of the library's features)."""
    t5 = theta[5] if theta.size > 5 else 0.0
    return (theta[0] + theta[1] * n_in**2 / n_out + theta[2] * n_in + theta[3] * n_in / n_out
            + theta[4] * n_out + t5 / n_out)  # fmt: skip


def planted(theta: np.ndarray, noise: float, seed: int = 7) -> SweetSpotData:
    y = e_tok(theta, N_IN, N_OUT)
    y = y * (1.0 + noise * np.random.default_rng(seed).standard_normal(y.size))
    return SweetSpotData(N_IN, N_OUT, y)


def test_formula_matches_brute_force_minimiser_within_one_token() -> None:
    # a grid of θ: every term from absent to dominant; n_in over the paper's range
    rng = np.random.default_rng(3)
    n_in = np.array([1.0, 64.0, 500.0, 4096.0])
    outs = np.arange(1, 60_001, dtype=np.float64)
    checked = 0
    for t1 in (0.0, 1e-6, 1e-4):
        for t3 in (0.0, 1e-4, 1e-2):
            for t4 in (1e-6, 1e-5, 1e-3):
                for t5 in (0.0, 0.05, 5.0):
                    theta = np.array([rng.uniform(0, 1), t1, rng.uniform(0, 1e-4), t3, t4, t5])
                    formula = n_out_star(theta, n_in)
                    numeric = n_out_star_numeric(theta, n_in)
                    best = outs[np.argmin(e_tok(theta, n_in[:, None], outs[None, :]), axis=1)]
                    inside = (formula >= 1) & (formula < outs[-1])  # brute force can hold it
                    assert np.all(np.abs(formula - best)[inside] <= 1.0), theta
                    assert np.allclose(numeric[inside], formula[inside], rtol=1e-3, atol=1e-3)
                    checked += int(inside.sum())
    assert checked > 200


def test_no_minimum_without_the_output_term() -> None:
    theta = np.array([0.1, 1e-5, 1e-5, 1e-3, 0.0])
    assert np.isnan(n_out_star(theta, [100.0, 1000.0])).all()
    assert np.isnan(n_out_star_numeric(theta, [100.0, 1000.0])).all()


@pytest.mark.parametrize(("theta", "form"), [(PLANTED_FLOPS, "flops"), (PLANTED_MEMORY, "memory")])
def test_noise_free_planted_theta_is_recovered_exactly(theta: np.ndarray, form: str) -> None:
    fit = fit_sweetspot(planted(theta, 0.0), MODEL, form=form)  # type: ignore[arg-type]
    np.testing.assert_allclose(fit.theta, theta, rtol=1e-6)
    assert fit.mape_percent < 1e-4
    y = e_tok(theta, N_IN, N_OUT)
    assert fit.worst_best_ratio == pytest.approx(y.max() / y.min(), rel=1e-6)


@pytest.mark.parametrize(
    ("theta", "form", "rtol"), [(PLANTED_FLOPS, "flops", 0.06), (PLANTED_MEMORY, "memory", 0.15)]
)
def test_two_percent_noise_recovers_theta_and_mape_at_most_two(
    theta: np.ndarray, form: str, rtol: float
) -> None:
    fit = fit_sweetspot(planted(theta, 0.02), MODEL, form=form)  # type: ignore[arg-type]
    np.testing.assert_allclose(fit.theta, theta, rtol=rtol)
    assert fit.mape_percent <= 2.0
    # E|N(0, 0.02)| = 0.02 sqrt(2/pi) = 1.596 %: a fit that neither over- nor under-fits
    assert fit.mape_percent == pytest.approx(2.0 * math.sqrt(2.0 / math.pi), abs=0.15)
    assert fit.max_star_difference_tokens is not None
    assert fit.max_star_difference_tokens < 1.0
    body = fit.to_json()
    assert len(body["n_out_star"]) == 64  # one per n_in in the data
    assert body["n_out_star"][0]["n_in"] == 64 and body["n_out_star"][-1]["n_in"] == 4096
    assert set(body) >= {"theta", "mape_percent", "worst_best_ratio", "n_out_star"}


def test_theta_per_unit_uses_catalog_dimensions() -> None:
    fit = fit_sweetspot(planted(PLANTED_FLOPS, 0.0), MODEL)
    # θ0 per unit: J per dense FLOP of one generated token, 2 x active params FLOPs
    assert fit.theta_per_unit[0] == pytest.approx(0.1 / (2.0 * MODEL.active_params), rel=1e-6)
    width = MODEL.layers * MODEL.attention_heads * MODEL.head_dim
    assert fit.theta_per_unit[4] == pytest.approx(4e-5 / (2.0 * width), rel=1e-6)


def test_too_little_data_is_refused() -> None:
    d = SweetSpotData(np.array([64.0, 64.0, 128.0]), np.array([64.0, 128.0, 64.0]),
                      np.array([1.0, 1.0, 1.0]))  # fmt: skip
    with pytest.raises(InputError, match="needs at least"):
        fit_sweetspot(d, MODEL)


def test_heatmap_ridge_is_the_row_maximum() -> None:
    fit = fit_sweetspot(planted(PLANTED_FLOPS, 0.0), MODEL)
    outs = np.arange(1.0, 4097.0)
    hm = heatmap(fit, n_in=np.array([64.0, 512.0, 4096.0]), n_out=outs)
    for row, ridge in zip(hm.tokens_per_joule, hm.ridge_n_out, strict=True):
        assert abs(outs[np.argmax(row)] - ridge) <= 1.0
