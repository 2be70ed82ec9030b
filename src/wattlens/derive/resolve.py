"""Map raw series to what they measure: deployment, quantity and the physical stream behind them.

A *stream* is one thing measured over time. GPU streams are keyed by (host, GPU UUID[, MIG id]) so
the DCGM energy counter stays one stream when the pod label on it changes at a pod restart. Engine
streams are the series themselves (their counters live and die with the pod).
"""

from __future__ import annotations

from dataclasses import dataclass

from wattlens.telemetry.labels import CanonicalLabels, canonical, workload_of_pod
from wattlens.telemetry.metrics import COUNTERS, GPU_QUANTITIES, Quantity
from wattlens.telemetry.metrics import quantity_of as _quantity_of
from wattlens.telemetry.records import SeriesKey

# Labels a scraper or Prometheus adds: the same engine counter seen through another path (direct
# scrape vs. Prometheus) must stay one stream, or its whole value would count as new tokens.
_SCRAPE_INFRA_LABELS = frozenset(
    {"instance", "job", "endpoint", "service", "prometheus", "prometheus_replica", "cluster"}
)


@dataclass(frozen=True, slots=True)
class Resolved:
    """What one series measures."""

    quantity: Quantity
    name: str  # the metric name as exposed
    stream: tuple[str, ...]  # physical stream identity
    deployment: str | None  # "namespace/workload"; None for unallocated GPUs
    namespace: str | None
    workload: str | None
    gpu: tuple[str, str] | None  # (host, uuid-or-index) for GPU quantities
    labels: CanonicalLabels
    is_counter: bool
    is_gpu: bool


def resolve_series(
    key: SeriesKey,
    *,
    namespaces: frozenset[str] | None = None,
    deployment_label: str | None = None,
) -> Resolved | None:
    """Resolve a series, or None when wattlens does not use it (or it is filtered out)."""
    q = _quantity_of(key.name)
    if q is None:
        return None
    if (
        key.name == "vllm:prompt_tokens_by_source_total"
        and key.label("source") != "local_cache_hit"
    ):
        return None  # computed and transferred prompt tokens are in prompt_tokens already
    c = canonical(key.labels)
    if c.tp_rank not in (None, "0"):
        return None  # SGLang exposes one series per TP rank; counting all would multiply tokens
    if namespaces and c.namespace not in namespaces:
        return None
    workload = None
    if deployment_label:
        workload = key.label(deployment_label)
    if workload is None and c.pod:
        workload = workload_of_pod(c.pod)
    is_gpu = q in GPU_QUANTITIES
    if is_gpu and _is_exporter_itself(key, c):
        workload = None  # an unallocated GPU carries only the exporter pod's own labels
    deployment = f"{c.namespace}/{workload}" if (c.namespace and workload) else None
    gpu = None
    if is_gpu:
        gpu = (c.host or "", c.gpu_uuid or c.gpu_index or "")
        # The deployment is part of a GPU stream: a time-sliced GPU exposed under several
        # deployments charges each of them the whole GPU ('exclusive', an upper bound), while a
        # pod restart keeps the stream (same deployment, new pod name).
        stream: tuple[str, ...] = (q.value, *gpu, c.mig_instance or "", deployment or "")
    else:
        if deployment is None:
            return None  # engine series without pod identity cannot be joined
        stream = (
            q.value,
            key.name,
            *(f"{k}={v}" for k, v in key.labels if k not in _SCRAPE_INFRA_LABELS),
        )
    return Resolved(
        quantity=q,
        name=key.name,
        stream=stream,
        deployment=deployment,
        namespace=c.namespace,
        workload=workload,
        gpu=gpu,
        labels=c,
        is_counter=q in COUNTERS,
        is_gpu=is_gpu,
    )


def _is_exporter_itself(key: SeriesKey, c: CanonicalLabels) -> bool:
    """True when a GPU series' pod labels name the dcgm-exporter pod, not a workload.

    Unallocated GPUs carry no pod labels; a Prometheus scrape then adds the exporter target's own
    namespace/pod/container, which must not become a deployment.
    """
    if key.label("exported_pod") or key.label("exported_namespace"):
        return False
    names = (c.pod or "", c.container or "")
    return any("dcgm-exporter" in n for n in names)


__all__ = ["Resolved", "resolve_series"]
