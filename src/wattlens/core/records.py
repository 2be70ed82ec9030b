"""Per-deployment record types: what the derivation produces and the store keeps.

Additive quantities (energy, tokens, CO2, finished requests, ITL sum) are stored as totals per
interval so rollups are sums; gauges are interval means, rolled up weighted by `interval_s`.
Rates (W, tok/s, J/token, g/h, mg/token) are computed on read from these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

EnergySource = Literal["counter", "gauge", "none"]


@dataclass(frozen=True, slots=True)
class DeploymentInfo:
    """One deployment: the GPUs plus engine replicas serving one model in one namespace."""

    deployment_id: str  # "<namespace>/<workload>", stable across pod restarts
    namespace: str
    workload: str
    model_name: str | None  # served model name from the engine; None without engine metrics
    gpu_type: str | None  # catalog GPU id (e.g. "A6000"); None when unknown to the catalog
    gpu_hardware: str | None  # raw DCGM modelName (e.g. "NVIDIA RTX A6000")
    gpu_count: int
    node: str | None  # first host (sorted) the GPUs sit on
    container: str | None
    grid_region: str | None = None  # e.g. "CAMX"
    mig: bool = False  # GPUs are MIG instances (power is per parent GPU)


@dataclass(frozen=True, slots=True)
class IntervalRecord:
    """Totals and means for one deployment over one interval (ts_end_s - interval_s, ts_end_s]."""

    deployment_id: str
    ts_end_s: float  # UTC epoch seconds, aligned to the collection step
    interval_s: float
    energy_joules: float | None
    energy_source: EnergySource
    prompt_tokens: float | None  # None: no engine metrics (unknown), not zero
    generation_tokens: float | None
    requests_finished: float | None
    itl_seconds_sum: float | None  # increase of inter-token-latency histogram _sum
    requests_running: float | None  # mean over the interval
    requests_waiting: float | None
    kv_cache_usage_ratio: float | None  # 0-1
    gpu_util_percent: float | None  # 0-100
    gpu_count: int
    carbon_intensity_kg_per_kwh: float
    pue: float
    co2_grams: float | None  # energy x PUE x intensity
    sample_count: int  # raw samples behind this record
    # Part of prompt_tokens served from the prefix cache (None: the engine does not say). Last,
    # so stores from before it gain it as an appended column.
    cached_prompt_tokens: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for JSON and the store)."""
        return asdict(self)


def identity(info: DeploymentInfo, *, mig: bool = False) -> dict[str, Any]:
    """A deployment's attributes as the JSON views name them (`mig` after gpu_count if asked)."""
    row: dict[str, Any] = {
        "deployment": info.deployment_id,
        "namespace": info.namespace,
        "workload": info.workload,
        "model_name": info.model_name,
        "container": info.container,
        "gpu_type": info.gpu_type,
        "gpu_hardware": info.gpu_hardware,
        "gpu_count": info.gpu_count,
    }
    if mig:
        row["mig"] = info.mig
    row["node"] = info.node
    row["grid_region"] = info.grid_region
    return row


INTERVAL_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(IntervalRecord))
DEPLOYMENT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(DeploymentInfo))

__all__ = [
    "identity",
    "DEPLOYMENT_COLUMNS",
    "INTERVAL_COLUMNS",
    "DeploymentInfo",
    "EnergySource",
    "IntervalRecord",
]
