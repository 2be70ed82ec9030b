"""Frontier comparison: the physics-derived spec recomputed by hand, and its sensitivity."""

from __future__ import annotations

import math

import pytest

from wattlens.analysis import AnalysisOptions, compare_to_frontier, resolve_frontier

OPTS = AnalysisOptions.default()


def test_physics_spec_marginal_energies_by_hand() -> None:
    # frontier-moe-1.5t: 300e9 active params, FP8, 24 x H100-SXM (TDP 700 W, idle 225 W,
    # FP8 dense 1,979 TFLOPS, 3.35 TB/s).
    prefill_tps = 24 * 0.60 * 1979e12 / (2 * 300e9)
    prompt_j = 24 * (700 - 225) / prefill_tps
    step_s = (300e9 / 24) / (0.80 * 3.35e12)
    # 1/W law Eq. 1 with the H100 appendix parameters (300, 600, k 1, x0 4.2) at batch 4
    p4 = 300 + 300 / (1 + math.exp(-(math.log2(4) - 4.2)))
    gen_j = 24 * (p4 - 225) * step_s / 4
    m = resolve_frontier("frontier-moe-1.5t", OPTS)
    assert m.derived
    assert m.idle_floor_watts == pytest.approx(24 * 225)
    assert m.prompt_joules_per_token == pytest.approx(prompt_j)
    assert m.generation_joules_per_token == pytest.approx(gen_j)


def test_legacy_spec_is_typed_in() -> None:
    m = resolve_frontier("nrp-2026", OPTS)
    assert not m.derived
    assert (m.prompt_joules_per_token, m.generation_joules_per_token) == (0.5, 6.0)


def test_sensitivity_brackets_the_ratio() -> None:
    out = compare_to_frontier(3.0, 15.0, 783.0, "frontier-moe-1.5t", OPTS)
    for lo, hi in out["sensitivity"].values():
        assert min(lo, hi) <= out["ratio"] <= max(lo, hi)
    lo, hi = out["sensitivity"]["idle_watts_per_gpu x0.8/x1.2"]
    assert lo == pytest.approx((0.8 * 5400 + out["frontier_watts"] - 5400) / 783.0)
    b1, b16 = out["sensitivity"]["decode_batch 1/16"]
    assert b1 > out["ratio"] > b16  # smaller batches cost more per generated token


def test_logistic_power_outside_the_appendix_uses_the_papers_tdp_fractions() -> None:
    # A100-80GB is not in Appendix A: the paper's projection rule, idle 0.43 x TDP and nominal
    # 0.86 x TDP (catalog/papers.toml b200_projection), with TDP 400 W: 172 W and 344 W.
    from wattlens.analysis.frontier import _logistic_params

    p_idle, p_nom, k, x0 = _logistic_params("A100-80GB")
    assert (p_idle, p_nom) == pytest.approx((172.0, 344.0))
    assert (k, x0) == (1.0, 4.2)
