"""KV budget and concurrency limit against hand calculations (Eq. 3 of Chen et al. 2026)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from wattlens.physics.concurrency import concurrency_limit, kv_budget_bytes, sequences_that_fit

GIB = 2**30


def test_budget_is_util_times_memory_minus_shard_and_overhead() -> None:
    got = kv_budget_bytes(80 * GIB, 140e9, 8, mem_util=0.9, runtime_overhead_bytes=392 * 2**20)
    assert got == 0.9 * 80 * GIB - 140e9 / 8 - 392 * 2**20
    assert kv_budget_bytes(80 * GIB, 810e9, 8) == 0.0
    assert kv_budget_bytes(80 * GIB, 810e9, 8, clamp=False) < 0


def test_manual_profile_slots() -> None:
    # 1/W ManualProfile: 65,536 blocks of 16 token slots -> n = 65536 // ceil(ctx/16).
    budget = 65_536 * 16.0
    ctx = np.array([2048, 4096, 8192, 65536, 100])
    assert concurrency_limit(budget, 1.0, ctx).tolist() == [512, 256, 128, 16, 65_536 // 7]


def test_not_one_sequence_fits_gives_zero() -> None:
    assert concurrency_limit(1e6, 40_960, 131_072) == 0
    assert sequences_that_fit(1e9, 3e8) == 3


@given(
    mem=st.floats(1e9, 2e11),
    extra=st.floats(0, 1e11),
    kv=st.floats(1e3, 1e6),
    ctx=st.integers(1, 262_144),
)
def test_concurrency_limit_is_monotone_in_memory(
    mem: float, extra: float, kv: float, ctx: int
) -> None:
    small = concurrency_limit(kv_budget_bytes(mem, 20e9, 1), kv, ctx)
    large = concurrency_limit(kv_budget_bytes(mem + extra, 20e9, 1), kv, ctx)
    assert large >= small
