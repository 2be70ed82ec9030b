"""The stream-then-time order of a batch's samples equals numpy's lexsort, whether the batch
holds each stream in one rising run (the fast path) or not (streams split, times repeated or
falling)."""

from __future__ import annotations

import numpy as np

from wattlens.derive.accumulate import _by_stream_then_time


def test_order_equals_lexsort_on_runs_and_on_everything_else() -> None:
    rng = np.random.default_rng(7)
    fast = 0
    for trial in range(3000):
        n_runs = int(rng.integers(1, 8))
        sids = rng.permutation(20)[:n_runs] if trial % 3 else rng.integers(0, 5, n_runs)
        sid_parts, t_parts = [], []
        for s in sids:
            k = int(rng.integers(1, 6))
            t = np.sort(rng.choice(50, k, replace=trial % 5 == 0)).astype(float)
            sid_parts.append(np.full(k, s))
            t_parts.append(t[::-1] if trial % 7 == 0 else t)
        sid, t = np.concatenate(sid_parts), np.concatenate(t_parts)
        want = np.lexsort((t, sid))
        np.testing.assert_array_equal(_by_stream_then_time(sid, t), want)
        fast += bool(np.any(want != np.arange(sid.size)))
    assert fast > 1000  # most batches needed their runs reordered, not kept as they came
