"""Consolidation: scale-to-zero accounting and MIG / time-slicing packing."""

from __future__ import annotations

import numpy as np
import pytest

from wattlens.analysis import AnalysisOptions
from wattlens.analysis.consolidate import Candidate, co_locate, mig_profile, scale_to_zero
from wattlens.analysis.data import Series
from wattlens.catalog import get_gpu

OPTS = AnalysisOptions.default()


def _series(tokens: np.ndarray, watts: float) -> Series:
    """30 s intervals; `tokens` are tokens per interval."""
    n = tokens.size
    e = np.full(n, watts * 30.0)
    nan = np.full(n, np.nan)
    return Series("ns/x", 1e9 + 30 * np.arange(n), np.full(n, 30.0), e, tokens * 0.8,
                  tokens * 0.2, nan, tokens / 300, np.ones(n), e * 0.05)  # fmt: skip


def _cand(dep: str, s: Series, gpu: str, n: int, need_gpus: int, mem_gb: float) -> Candidate:
    return Candidate(dep, s, get_gpu(gpu), n, 60.0, need_gpus, mem_gb * 1e9, 16e9)


def test_scale_to_zero_saves_idle_runs_minus_cold_starts() -> None:
    # 2 h idle, 10 min traffic, 2 h idle: two runs longer than the 15 min delay, one wake.
    tok = np.concatenate([np.zeros(240), np.full(20, 3000.0), np.zeros(240)])
    s = _series(tok, 120.0)
    out = scale_to_zero(_cand("ns/x", s, "H100-SXM", 2, 1, 20), OPTS)
    saved = 2 * 120.0 * (7200 - 900)
    cold_s = 16e9 / 2e9 + 60.0  # weights at 2 GB/s plus 60 s start-up
    cold_j = cold_s * 2 * 60.0  # 2 GPUs at 60 W idle
    assert out["wake_count"] == 1
    assert out["cold_start_s"] == pytest.approx(cold_s)
    assert out["saved_energy_joules"] == pytest.approx(saved - cold_j)
    assert out["saving_watts"] == pytest.approx((saved - cold_j) / (500 * 30.0))
    assert out["requests_in_range"] == pytest.approx(20 * 3000.0 / 300)


def test_short_idle_runs_save_nothing() -> None:
    tok = np.tile(np.concatenate([np.zeros(10), np.full(10, 50.0)]), 20)  # 5 min gaps
    out = scale_to_zero(_cand("ns/x", _series(tok, 100.0), "H100-SXM", 1, 1, 20), OPTS)
    assert out["saving_watts"] == 0.0 and out["wake_count"] == 0


@pytest.mark.parametrize(
    ("need_gb", "profile"),
    [(8.0, "1g.10gb"), (19.0, "1g.20gb"), (20.0, "3g.40gb"), (60.0, "7g.80gb"), (80.0, None)],
)
def test_mig_profile_for_a100_80gb(need_gb: float, profile: str | None) -> None:
    # eighths of 0.90 x 80 GiB: 1/8 = 9.66 GB, 2/8 = 19.3 GB, 4/8 = 38.7 GB, 8/8 = 77.3 GB
    got = mig_profile(get_gpu("A100-80GB"), need_gb * 1e9, 0.90)
    assert (got[0] if got else None) == profile


def test_co_location_packs_by_first_fit_decreasing() -> None:
    idle = _series(np.zeros(100), 60.0)
    busy = _series(np.full(100, 40.0), 70.0)
    items = [
        _cand("a/1", idle, "RTX-A6000", 1, 1, 20.0),
        _cand("a/2", idle, "RTX-A6000", 2, 1, 20.0),
        _cand("a/3", busy, "RTX-A6000", 1, 1, 30.0),
    ]
    (plan,) = co_locate(items, OPTS)
    # A6000 has no MIG: 46.4 GB per time-sliced GPU; FFD: 30 | 20+20 -> 2 GPUs for 4 before
    assert plan["mode"] == "time_slicing"
    assert plan["gpus_before"] == 4 and plan["gpus_after"] == 2
    assert plan["saving_watts"] == pytest.approx(2 * 60.0)
    assert plan["combined_peak_tokens_per_s"] == pytest.approx(40.0 / 30.0)  # tokens per 30 s


def test_no_plan_when_nothing_can_share() -> None:
    idle = _series(np.zeros(10), 60.0)
    items = [
        _cand("a/1", idle, "RTX-A6000", 1, 1, 40.0),
        _cand("a/2", idle, "RTX-A6000", 1, 1, 40.0),
    ]
    assert co_locate(items, OPTS) == []
