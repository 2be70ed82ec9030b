"""GPU power against batch size: the logistic curve (1/W law paper, Eq. 1) and a first-principles
utilisation model (the paper's ComputedProfile power)."""

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


def logistic_x0(weight_stream_s: ArrayLike, kv_scan_s_per_seq: ArrayLike) -> NDArray[np.float64]:
    """Midpoint x0 = log2(W_s / H): the batch where KV reads match weight streaming.

    The rule the 1/W paper uses for its projected B200 profile (Chen et al. 2026, scripts/
    profiles.py): power rises fastest where the KV scan overtakes the weight stream.
    """
    return np.log2(np.asarray(weight_stream_s, dtype=np.float64) / np.asarray(kv_scan_s_per_seq))


def utilisation_power(
    activity: ArrayLike,
    tdp_watts: ArrayLike,
    floor_fraction: ArrayLike = 0.43,
    dynamic_fraction: ArrayLike = 0.43,
) -> NDArray[np.float64]:
    """P = TDP x (floor + dynamic x min(1, activity)), watts per GPU.

    Chen et al. 2026 ComputedProfile: floor 0.43 x TDP (one request, ~300 W on H100) and
    saturation 0.86 x TDP (~600 W), from ML.ENERGY H100 measurements (Chung et al. 2025).
    """
    a = np.clip(np.asarray(activity, dtype=np.float64), 0.0, 1.0)
    return np.asarray(tdp_watts, dtype=np.float64) * (
        np.asarray(floor_fraction, dtype=np.float64)
        + np.asarray(dynamic_fraction, dtype=np.float64) * a
    )


def decode_activity(
    batch: ArrayLike,
    step_time_s: ArrayLike,
    kv_scan_s_per_seq: ArrayLike,
    flops_per_token_per_gpu: ArrayLike,
    peak_flops: ArrayLike,
) -> NDArray[np.float64]:
    """Share of a decode step spent on KV reads plus share of peak FLOPs used (union bound).

    kv_frac = n x H_eff / tau; compute_frac = n x FLOPs per token / (tau x peak); the sum is
    the activity of `utilisation_power` (Chen et al. 2026, ComputedProfile.power_at_concurrency).
    """
    n = np.asarray(batch, dtype=np.float64)
    tau = np.asarray(step_time_s, dtype=np.float64)
    kv = n * np.asarray(kv_scan_s_per_seq, dtype=np.float64) / tau
    compute = (
        n
        * np.asarray(flops_per_token_per_gpu, dtype=np.float64)
        / (tau * np.asarray(peak_flops, dtype=np.float64))
    )
    return kv + compute


__all__ = ["decode_activity", "logistic_power", "logistic_x0", "utilisation_power"]
