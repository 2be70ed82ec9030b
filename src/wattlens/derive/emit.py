"""Accumulators -> output: `DeploymentInfo` per deployment and `IntervalRecord` columns."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from wattlens.core.records import DeploymentInfo
from wattlens.core.units import co2_grams
from wattlens.derive.buckets import unpack
from wattlens.derive.layout import (
    CACHED,
    COV_CTR,
    COV_GAUGE,
    E_CTR,
    E_GAUGE,
    FINISHED,
    GEN,
    HAS_CACHED,
    HAS_CTR,
    HAS_GAUGE,
    ITL,
    KV_N,
    KV_S,
    M_ECTR,
    M_EGAUGE,
    M_GPU,
    M_RUN,
    M_WAIT,
    NF,
    PROMPT,
    RUN_N,
    RUN_S,
    SAMPLES,
    UTIL_N,
    UTIL_S,
    WAIT_N,
    WAIT_S,
    DeploymentState,
)
from wattlens.derive.options import CarbonLookup, DeriveOptions


def deployment_info(
    d: DeploymentState,
    options: DeriveOptions,
    carbon: CarbonLookup,
    gpu_type_of: Callable[[str], str | None],
) -> DeploymentInfo:
    """Current attributes of a deployment (GPUs: those seen in its last three steps)."""
    recent = [g for g, ts in d.gpus_last_seen.items() if ts >= d.last_seen_s - 3 * options.step_s]
    hosts = sorted({h for h, _ in recent if h})
    hw = d.gpu_hardware.most_common(1)[0][0] if d.gpu_hardware else None
    node = hosts[0] if hosts else None
    region, _ = carbon(node, d.namespace)
    return DeploymentInfo(
        deployment_id=d.id,
        namespace=d.namespace,
        workload=d.workload,
        model_name=d.model_names.most_common(1)[0][0] if d.model_names else None,
        gpu_type=gpu_type_of(hw) if hw else None,
        gpu_hardware=hw,
        gpu_count=len(recent),
        node=node,
        container=d.containers.most_common(1)[0][0] if d.containers else None,
        grid_region=region,
        mig=d.mig,
    )


def _intensity(d: DeploymentState, carbon: CarbonLookup) -> float:
    hosts = sorted({h for h, _ in d.gpus_last_seen if h})
    return carbon(hosts[0] if hosts else None, d.namespace)[1]


def member_counts(m: np.ndarray) -> np.ndarray:
    """Distinct members per (row, set column) of (rows, NM, words) uint64 bit sets, as floats."""
    return np.bitwise_count(m).sum(axis=2, dtype=np.int64).astype(np.float64)


def covered_seconds(
    a: np.ndarray, members: np.ndarray, has_ctr: np.ndarray, has_gauge: np.ndarray, step_s: float
) -> np.ndarray:
    """Seconds each interval's energy readings cover: the bucket's step for a full interval,
    less for the first and last ones of a run (mean over the energy streams that reported)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ctr = a[:, COV_CTR] / np.maximum(1.0, members[:, M_ECTR])
        gauge = a[:, COV_GAUGE] / np.maximum(1.0, members[:, M_EGAUGE])
    cover = np.where(has_ctr, ctr, np.where(has_gauge, gauge, step_s))
    # No energy coverage recorded (engine-only rows): the whole step; never beyond it.
    return np.where(cover > 0, np.minimum(cover, step_s), step_s)


def interval_columns(
    keys: np.ndarray,
    a: np.ndarray,
    m: np.ndarray,
    deps: list[DeploymentState],
    options: DeriveOptions,
    carbon: CarbonLookup,
    pue: float,
) -> dict[str, np.ndarray]:
    """IntervalRecord columns for packed (deployment, bucket) keys and their accumulators."""
    n = keys.size
    dep, bucket = unpack(keys)
    a = a.reshape(n, NF)
    ids = np.array([d.id for d in deps] or [""], dtype=object)[dep]
    intensity = np.array([_intensity(d, carbon) for d in deps] or [0.0])[dep]
    engine = np.array([d.has_engine for d in deps] or [False])[dep]
    known_gpus = np.array([len(d.gpus_last_seen) for d in deps] or [0])[dep]
    has_ctr, has_gauge = a[:, HAS_CTR] > 0, a[:, HAS_GAUGE] > 0
    source = np.where(has_ctr, "counter", np.where(has_gauge, "gauge", "none")).astype(object)
    energy = np.where(has_ctr, a[:, E_CTR], a[:, E_GAUGE])
    energy = np.where(has_ctr | has_gauge, energy, np.nan)

    def tokens(col: int) -> np.ndarray:
        return np.where(engine, a[:, col], np.nan)

    members = member_counts(m)

    def mean(s_col: int, n_col: int, m_col: int | None = None) -> np.ndarray:
        """Interval mean; summed over engine streams (replicas) when m_col is given."""
        with np.errstate(invalid="ignore", divide="ignore"):
            avg = np.where(a[:, n_col] > 0, a[:, s_col] / a[:, n_col], np.nan)
        return avg * np.maximum(1.0, members[:, m_col]) if m_col is not None else avg

    return {
        "deployment_id": ids,
        "ts_end_s": bucket.astype(np.float64) * options.step_s,
        "interval_s": covered_seconds(a, members, has_ctr, has_gauge, options.step_s),
        "energy_joules": energy,
        "energy_source": source,
        "prompt_tokens": tokens(PROMPT),
        "generation_tokens": tokens(GEN),
        "requests_finished": tokens(FINISHED),
        "itl_seconds_sum": tokens(ITL),
        "requests_running": mean(RUN_S, RUN_N, M_RUN),
        "requests_waiting": mean(WAIT_S, WAIT_N, M_WAIT),
        "kv_cache_usage_ratio": mean(KV_S, KV_N),
        "gpu_util_percent": mean(UTIL_S, UTIL_N),
        "gpu_count": np.where(members[:, M_GPU] > 0, members[:, M_GPU], known_gpus).astype(
            np.int64
        ),
        "carbon_intensity_kg_per_kwh": intensity.astype(np.float64),
        "pue": np.full(n, pue),
        "co2_grams": co2_grams(energy, intensity, pue),
        "sample_count": a[:, SAMPLES].astype(np.int64),
        # unknown (NaN) unless the engine exposes a prefix-cache counter
        "cached_prompt_tokens": np.where(a[:, HAS_CACHED] > 0, a[:, CACHED], np.nan),
    }


_TOKEN_COLS = (
    "prompt_tokens",
    "generation_tokens",
    "requests_finished",
    "itl_seconds_sum",
    "cached_prompt_tokens",
)


def align_open(
    cols: dict[str, np.ndarray],
    keys: np.ndarray,
    token_end_s: dict[int, list[float]],
    step_s: float,
) -> dict[str, np.ndarray]:
    """Open (still filling) intervals cut to the span their energy and tokens both cover.

    In the newest bucket the GPU and the engine were last read at different moments: energy
    covers (start, start + interval_s], tokens (start, t_engine] where t_engine is the mean last
    reading of the deployment's generation counters (those read within the last step). Both are
    cut, pro rata, to the shorter span, so power and token rates are unchanged and J/token never
    mixes spans; a row whose common span is empty is dropped. Rows without an engine keep their
    energy span."""
    if keys.size == 0:
        return cols
    dep, _ = unpack(keys)
    start = cols["ts_end_s"] - step_s
    e_cov = cols["interval_s"]
    has_energy = ~np.isnan(cols["energy_joules"])
    t_cov = np.full(keys.size, np.nan)
    for i, d in enumerate(dep.tolist()):
        recent = [t for t in token_end_s.get(d, ()) if t > start[i] - step_s]
        if recent:
            t_cov[i] = min(max(sum(recent) / len(recent) - start[i], 0.0), step_s)
    has_tokens = ~np.isnan(cols["generation_tokens"])
    engine = has_tokens & ~np.isnan(t_cov)
    common = np.where(engine, np.where(has_energy, np.minimum(e_cov, t_cov), t_cov), e_cov)
    out = dict(cols)
    with np.errstate(invalid="ignore", divide="ignore"):
        e_scale = np.where(e_cov > 0, common / e_cov, 0.0)
        # tokens of a span nothing dates (no recent generation reading) are left unknown
        t_scale = np.where(engine & (t_cov > 0), common / t_cov, np.where(has_tokens, np.nan, 1.0))
    for name in ("energy_joules", "co2_grams"):
        out[name] = cols[name] * np.where(has_energy, e_scale, 1.0)
    for name in _TOKEN_COLS:
        out[name] = cols[name] * t_scale
    out["interval_s"] = common
    keep = common > 0
    return {k: v[keep] for k, v in out.items()}


def nan_to_none(col: np.ndarray) -> list:
    """Column values as Python objects, NaN (unknown) as None."""
    values = col.tolist()
    if col.dtype.kind == "f":
        return [None if v != v else v for v in values]
    return values


__all__ = ["align_open", "deployment_info", "interval_columns", "member_counts", "nan_to_none"]
