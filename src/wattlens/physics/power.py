"""GPU power against batch size (logistic model of the 1/W law paper, Eq. 1)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def logistic_power(
    batch: ArrayLike,
    p_idle_watts: ArrayLike,
    p_nominal_watts: ArrayLike,
    k: ArrayLike,
    x0: ArrayLike,
) -> NDArray[np.float64]:
    """P(b) = (P_nom - P_idle) / (1 + exp(-k (log2 b - x0))) + P_idle, with b clamped to >= 1.

    Chen et al. 2026 (arXiv 2603.17280) Eq. 1. All arguments broadcast; returns watts per GPU.
    Note the paper's P_idle is power at b -> 0 of the curve, not an idle GPU with no work.
    """
    b = np.maximum(np.asarray(batch, dtype=np.float64), 1.0)
    p_idle = np.asarray(p_idle_watts, dtype=np.float64)
    p_range = np.asarray(p_nominal_watts, dtype=np.float64) - p_idle
    z = -np.asarray(k, dtype=np.float64) * (np.log2(b) - np.asarray(x0, dtype=np.float64))
    return p_range / (1.0 + np.exp(z)) + p_idle


__all__ = ["logistic_power"]
