"""Merging contributions into the bucket table, against a plain dict of (deployment, bucket)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from wattlens.derive.accumulate import merge
from wattlens.derive.buckets import BucketTable, unpack
from wattlens.derive.layout import NF, NM


def _contributions(rng: np.random.Generator, n: int, deps: int, span: int, base: int) -> tuple:
    dep = rng.integers(0, deps, n)
    bkt = base + rng.integers(0, span, n)
    col = rng.integers(0, NF, n)
    val = rng.integers(-1000, 1000, n).astype(float)  # integers: sums exact in any order
    member = rng.integers(-1, 70, n)  # -1: no member; >= 64 needs a second word
    mcol = rng.integers(0, NM, n)
    return dep, bkt, col, val, member, mcol


@pytest.mark.parametrize(
    ("deps", "span", "base"),
    [(5, 40, 1_000), (3, 2_000_000, 59_000_000), (1, 1, 7)],  # dense grid, sparse, one cell
)
def test_merge_sums_and_ors_per_deployment_bucket(deps: int, span: int, base: int) -> None:
    rng = np.random.default_rng(deps * 7 + span)
    table = BucketTable(NF, NM, words=2)
    sums: dict[tuple[int, int], np.ndarray] = defaultdict(lambda: np.zeros(NF))
    bits: dict[tuple[int, int], set[tuple[int, int]]] = defaultdict(set)
    for _ in range(4):  # later batches hit rows that exist and add new ones between them
        dep, bkt, col, val, member, mcol = _contributions(rng, 3000, deps, span, base)
        merge(table, [(dep, bkt, col, val)], [(dep, bkt, mcol, member)])
        for d, b, c, v, m, mc in zip(dep, bkt, col, val, member, mcol, strict=True):
            sums[(int(d), int(b))][c] += v
            if m >= 0:
                bits[(int(d), int(b))].add((int(mc), int(m)))
    assert np.all(table.keys[1:] > table.keys[:-1])  # sorted, unique
    keys, mat, masks = table.take_dirty(np.inf)
    d, b = unpack(keys)
    assert list(zip(d.tolist(), b.tolist(), strict=True)) == sorted(sums)
    for i, cell in enumerate(zip(d.tolist(), b.tolist(), strict=True)):
        np.testing.assert_array_equal(mat[i], sums[cell])
        got = {
            (mc, w * 64 + bit)
            for mc in range(NM)
            for w in range(2)
            for bit in range(64)
            if int(masks[i, mc, w]) >> bit & 1
        }
        assert got == bits[cell]


def test_compact_keeps_every_kept_row_and_later_merges_land_on_them() -> None:
    """After rows are taken and the old ones evicted, `compact` frees their memory; the rows
    kept (still pending or recent) and those merged afterwards sum as if nothing moved."""
    rng = np.random.default_rng(11)
    table = BucketTable(NF, NM, words=2)
    sums: dict[tuple[int, int], np.ndarray] = defaultdict(lambda: np.zeros(NF))

    def add(lo: int, hi: int) -> None:
        dep = rng.integers(0, 4, 2000)
        bkt = rng.integers(lo, hi, 2000)
        col = rng.integers(0, NF, 2000)
        val = rng.integers(-1000, 1000, 2000).astype(float)
        merge(table, [(dep, bkt, col, val)], [])
        for d, b, c, v in zip(dep, bkt, col, val, strict=True):
            sums[(int(d), int(b))][c] += v

    add(0, 100)
    table.take_dirty(49)  # buckets 0..49 written; 50..99 still pending
    table.evict_clean(50)  # and forgotten
    capacity = table.mat.shape[0]
    table.compact()
    assert table.mat.shape[0] == len(table) < capacity
    add(60, 140)  # some rows exist (60..99), some are new
    keys, mat, _ = table.take_dirty(np.inf)
    d, b = unpack(keys)
    want = sorted(k for k in sums if k[1] >= 50)
    assert list(zip(d.tolist(), b.tolist(), strict=True)) == want
    for i, cell in enumerate(want):
        np.testing.assert_array_equal(mat[i], sums[cell])
