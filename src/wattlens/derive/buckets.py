"""Accumulators per (deployment, bucket) in one float matrix, indexed by numpy-sorted int keys.

No Python object per bucket: an import of 40 deployments x 3 days keeps 345k buckets in a few
arrays instead of dicts of tuples, so memory stays near the matrix itself.
"""

from __future__ import annotations

import numpy as np

_BUCKET_MASK = 0xFFFFFFFF


class BucketTable:
    """Rows of `ncols` floats and `nmasks` bit sets keyed by int64 (deployment << 32 | bucket id).

    Each bit set is `words` uint64 words (64 members each); `widen` adds words when a deployment
    gets more members, so no two members ever share a bit.
    """

    def __init__(self, ncols: int, nmasks: int, words: int = 1) -> None:
        self.ncols = ncols
        self.mat = np.zeros((0, ncols))  # summed
        self.masks = np.zeros((0, nmasks, words), dtype=np.uint64)  # OR-combined bit sets
        self.keys = np.empty(0, dtype=np.int64)  # sorted
        self.key_rows = np.empty(0, dtype=np.int64)  # row of each key
        self.row_key = np.empty(0, dtype=np.int64)  # key of each row, -1 when free
        self.dirty = np.empty(0, dtype=bool)

    def __len__(self) -> int:
        return int(self.keys.size)

    @property
    def words(self) -> int:
        """uint64 words per bit set."""
        return int(self.masks.shape[2])

    def widen(self, words: int) -> None:
        """Make every bit set at least `words` words long (new high words start empty)."""
        if words > self.words:
            pad = np.zeros((*self.masks.shape[:2], words - self.words), dtype=np.uint64)
            self.masks = np.concatenate([self.masks, pad], axis=2)

    def reserve(self, rows: int) -> None:
        """Make room for at least `rows` keys in total without regrowing later."""
        if rows > self.mat.shape[0]:
            self._grow(rows - self.mat.shape[0])

    def _grow(self, n: int) -> None:
        self.mat = np.vstack([self.mat, np.zeros((n, self.ncols))])
        more = np.zeros((n, *self.masks.shape[1:]), dtype=np.uint64)
        self.masks = np.concatenate([self.masks, more])
        self.row_key = np.concatenate([self.row_key, np.full(n, -1, dtype=np.int64)])
        self.dirty = np.concatenate([self.dirty, np.zeros(n, dtype=bool)])

    def _alloc(self, n: int) -> np.ndarray:
        free = np.flatnonzero(self.row_key < 0)
        if free.size < n:
            self._grow(max(n - free.size, self.mat.shape[0], 1024))
            free = np.flatnonzero(self.row_key < 0)
        return free[:n]

    def add(self, keys: np.ndarray, values: np.ndarray, masks: np.ndarray) -> None:
        """Accumulate `values` (summed) and `masks` (OR-ed), one row per unique key (sorted).

        `masks` is (keys, nmasks, words) uint64 with `words` equal to the table's.
        """
        pos = np.searchsorted(self.keys, keys)
        found = np.zeros(keys.size, dtype=bool)
        inside = pos < self.keys.size
        found[inside] = self.keys[pos[inside]] == keys[inside]
        rows = np.empty(keys.size, dtype=np.int64)
        rows[found] = self.key_rows[pos[found]]
        if not found.all():
            new_keys = keys[~found]
            new_rows = self._alloc(new_keys.size)
            rows[~found] = new_rows
            self.row_key[new_rows] = new_keys
            # both sorted and disjoint: insert in place of a sort of the whole table
            at = pos[~found]
            self.keys = np.insert(self.keys, at, new_keys)
            self.key_rows = np.insert(self.key_rows, at, new_rows)
        self.mat[rows] += values  # keys are unique, so fancy-index += is exact
        self.masks[rows] |= masks
        self.dirty[rows] = True

    def take_dirty(self, max_bucket: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(keys, values, masks) changed since the last take, bucket <= max_bucket, by key."""
        used = self.row_key >= 0
        bucket = self.row_key & _BUCKET_MASK
        rows = np.flatnonzero(used & self.dirty & (bucket <= max_bucket))
        rows = rows[np.argsort(self.row_key[rows], kind="stable")]
        self.dirty[rows] = False
        return self.row_key[rows].copy(), self.mat[rows], self.masks[rows]

    def peek_dirty(self, after_bucket: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(keys, values, masks) changed since the last take, bucket > after_bucket, by key;
        unlike `take_dirty` they stay changed (taken later, when complete)."""
        used = self.row_key >= 0
        bucket = self.row_key & _BUCKET_MASK
        rows = np.flatnonzero(used & self.dirty & (bucket > after_bucket))
        rows = rows[np.argsort(self.row_key[rows], kind="stable")]
        return self.row_key[rows].copy(), self.mat[rows], self.masks[rows]

    def evict_clean(self, min_bucket: float) -> None:
        """Forget unchanged rows older than `min_bucket` (late data no longer expected)."""
        used = self.row_key >= 0
        rows = np.flatnonzero(used & ~self.dirty & ((self.row_key & _BUCKET_MASK) < min_bucket))
        if rows.size == 0:
            return
        gone = np.zeros(self.row_key.size, dtype=bool)
        gone[rows] = True
        keep = ~gone[self.key_rows]  # key i lives in row key_rows[i]: no sort (np.isin's)
        self.keys, self.key_rows = self.keys[keep], self.key_rows[keep]
        self.mat[rows] = 0.0
        self.masks[rows] = 0
        self.row_key[rows] = -1

    def compact(self) -> None:
        """Give back the free rows' memory (rows renumbered; keys and contents unchanged)."""
        used = np.flatnonzero(self.row_key >= 0)
        new_row = np.full(self.row_key.size, -1, dtype=np.int64)
        new_row[used] = np.arange(used.size)
        self.mat = self.mat[used]
        self.masks = self.masks[used]
        self.row_key = self.row_key[used]
        self.dirty = self.dirty[used]
        self.key_rows = new_row[self.key_rows]


def pack(dep: np.ndarray, bucket: np.ndarray) -> np.ndarray:
    """One int64 key per (deployment, bucket): bucket ids are epoch/step, well under 2**32."""
    return (dep.astype(np.int64) << 32) | bucket.astype(np.int64)


def unpack(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(deployment, bucket) arrays from packed keys."""
    return key >> 32, key & _BUCKET_MASK


__all__ = ["BucketTable", "pack", "unpack"]
