"""Vectorised helpers: counter increments and spreading amounts over an aligned time grid.

Buckets are right-closed intervals ((k-1)*step, k*step]; bucket id k names the one ending at k*step.
An amount observed between two samples (a, b] is spread over the buckets it overlaps in proportion
to time, so energy and tokens are conserved exactly and a long scrape gap does not become a spike.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def bucket_id(t_s: NDArray[np.float64] | float, step_s: float) -> I64:
    """Id of the right-closed bucket holding time t: ceil(t / step)."""
    return np.ceil(np.asarray(t_s, dtype=np.float64) / step_s).astype(np.int64)


def spread(
    owner: I64, start_s: F64, end_s: F64, amount: F64, step_s: float
) -> tuple[I64, I64, F64]:
    """Spread each `amount` over (start, end] across buckets, pro rata by time.

    Returns (owner, bucket_id, share) rows; shares of one input sum to its amount.
    Inputs with end <= start put the whole amount in end's bucket.
    """
    o, b, (share,) = spread_many(owner, start_s, end_s, (amount,), step_s)
    return o, b, share


def spread_many(
    owner: I64, start_s: F64, end_s: F64, amounts: tuple[F64, ...], step_s: float
) -> tuple[I64, I64, list[F64]]:
    """`spread` of several amounts over the same (start, end] spans: the rows are found once,
    and each amount's shares are the ones `spread` gives it alone."""
    b0 = bucket_id(start_s, step_s)
    b1 = bucket_id(end_s, step_s)
    dur = end_s - start_s
    one = (b1 <= b0) | (dur <= 0)
    # (start, end] inside one bucket, or degenerate: everything to the end bucket.
    owners = [owner[one]]
    buckets = [b1[one]]
    shares = [[x[one]] for x in amounts]
    two = ~one & (b1 == b0 + 1)
    if two.any():
        edge = b0[two] * step_s
        frac_first = (edge - start_s[two]) / dur[two]
        owners += [owner[two], owner[two]]
        buckets += [b0[two], b1[two]]
        for x, out in zip(amounts, shares, strict=True):
            out += [x[two] * frac_first, x[two] * (1.0 - frac_first)]
    many = np.flatnonzero(~one & (b1 > b0 + 1))
    if many.size:
        # Increments spanning 3+ buckets (gaps, or samples sparser than the step: common when
        # Prometheus scrapes every 60 s), vectorised: one row per (increment, bucket).
        counts = b1[many] - b0[many] + 1
        rows = np.repeat(many, counts)
        first = np.cumsum(counts) - counts
        ks = b0[rows] + (np.arange(rows.size) - np.repeat(first, counts))
        lo = np.maximum((ks - 1) * step_s, start_s[rows])
        hi = np.minimum(ks * step_s, end_s[rows])
        owners.append(owner[rows])
        buckets.append(ks.astype(np.int64))
        for x, out in zip(amounts, shares, strict=True):
            out.append(x[rows] * (hi - lo) / dur[rows])
    return (
        np.concatenate(owners).astype(np.int64, copy=False),
        np.concatenate(buckets).astype(np.int64, copy=False),
        [np.concatenate(s).astype(np.float64, copy=False) for s in shares],
    )


def group_sum(keys: I64, values: F64) -> tuple[I64, F64]:
    """Sum `values` by integer key; returns (unique keys, sums)."""
    if keys.size == 0:
        return keys.astype(np.int64), values.astype(np.float64)
    uniq, inv = np.unique(keys, return_inverse=True)
    sums = np.bincount(inv, weights=values, minlength=uniq.size)  # float64 with weights
    return uniq, sums.astype(np.float64, copy=False)


__all__ = ["bucket_id", "group_sum", "spread", "spread_many"]
