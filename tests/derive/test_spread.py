"""Spreading an amount over the buckets it spans, against a plain per-bucket overlap loop."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from wattlens.derive.spread import spread, spread_many


def _reference(owner, start, end, amount, step):
    """Overlap of (start, end] with each ((k-1)*step, k*step], times amount / duration."""
    out: dict[tuple[int, int], float] = defaultdict(float)
    for o, a, b, x in zip(owner, start, end, amount, strict=True):
        if b <= a or math.ceil(b / step) <= math.ceil(a / step):
            out[(int(o), math.ceil(b / step))] += x
            continue
        for k in range(math.ceil(a / step), math.ceil(b / step) + 1):
            overlap = min(k * step, b) - max((k - 1) * step, a)
            if overlap > 0:
                out[(int(o), k)] += x * overlap / (b - a)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_spread_matches_the_overlap_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 2000
    start = rng.uniform(0, 10_000, n)
    gap = rng.choice([5.0, 15.0, 30.0, 60.0, 95.0, 7200.0], n)  # within, across, and long gaps
    end = start + gap
    owner = rng.integers(0, 7, n)
    amount = rng.uniform(0, 1000, n)
    o, b, share = spread(owner, start, end, amount, 30.0)
    got: dict[tuple[int, int], float] = defaultdict(float)
    for key in zip(o.tolist(), b.tolist(), share.tolist(), strict=True):
        got[(key[0], key[1])] += key[2]
    want = _reference(owner, start, end, amount, 30.0)
    assert set(k for k, v in got.items() if v > 1e-9) == set(k for k, v in want.items() if v > 1e-9)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-9), k
    assert share.sum() == pytest.approx(amount.sum(), rel=1e-12)


def test_spread_many_gives_each_amount_what_spread_gives_it_alone() -> None:
    rng = np.random.default_rng(11)
    n = 3000
    start = rng.uniform(0, 10_000, n)
    end = start + rng.choice([0.0, 5.0, 30.0, 60.0, 95.0, 7200.0], n)
    owner = rng.integers(0, 9, n)
    amounts = (rng.uniform(0, 1000, n), end - start)
    o, b, shares = spread_many(owner, start, end, amounts, 30.0)
    for amount, share in zip(amounts, shares, strict=True):
        o1, b1, s1 = spread(owner, start, end, amount, 30.0)
        np.testing.assert_array_equal(o, o1)
        np.testing.assert_array_equal(b, b1)
        np.testing.assert_array_equal(share, s1)  # the same rows, in the same order, bit for bit
    # and each spread is the overlap loop's
    want = _reference(owner, start, end, amounts[1], 30.0)
    got: dict[tuple[int, int], float] = defaultdict(float)
    for key in zip(o.tolist(), b.tolist(), shares[1].tolist(), strict=True):
        got[(key[0], key[1])] += key[2]
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-9), k
