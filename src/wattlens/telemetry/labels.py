"""Label variants real clusters produce, resolved in one place.

- `Hostname` (dcgm-exporter <= 4.5.x) and `hostname` (later); `node`/`instance` are not hosts.
- `exported_namespace`/`exported_pod`/`exported_container`: Prometheus renames the exporter's own
  k8s labels when the scrape target carries the same names; the exported_ form is the GPU's pod.
- `pod_namespace`/`pod_name`/`container_name`: dcgm-exporter `--use-old-namespace`.
- MIG: `GPU_I_PROFILE`, `GPU_I_ID` (one series per instance; power is per parent GPU only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wattlens.telemetry.records import Labels

_NAMESPACE = ("exported_namespace", "namespace", "pod_namespace", "kubernetes_namespace")
_POD = ("exported_pod", "pod", "pod_name", "kubernetes_pod_name")
_CONTAINER = ("exported_container", "container", "container_name")
_HOST = ("Hostname", "hostname", "kubernetes_node", "exported_node", "node")

# Kubernetes name suffixes use this alphabet (k8s.io/apimachinery rand.SafeEncodeString).
_SAFE = "[bcdfghjklmnpqrstvwxz2456789]"
_DEPLOYMENT_POD = re.compile(rf"^(?P<base>.+?)-{_SAFE}{{4,10}}-{_SAFE}{{5}}$")
_SHORT_SUFFIX_POD = re.compile(rf"^(?P<base>.+)-{_SAFE}{{5}}$")
_STATEFULSET_POD = re.compile(r"^(?P<base>.+)-\d+$")


@dataclass(frozen=True, slots=True)
class CanonicalLabels:
    """The labels wattlens reads, whichever spelling the source used."""

    namespace: str | None = None
    pod: str | None = None
    container: str | None = None
    host: str | None = None
    gpu_index: str | None = None
    gpu_uuid: str | None = None
    gpu_model_name: str | None = None
    mig_profile: str | None = None
    mig_instance: str | None = None
    model_name: str | None = None
    engine: str | None = None
    tp_rank: str | None = None


def _first(d: dict[str, str], names: tuple[str, ...]) -> str | None:
    for n in names:
        v = d.get(n)
        if v:
            return v
    return None


def canonical(labels: Labels | dict[str, str]) -> CanonicalLabels:
    """Resolve label variants into one `CanonicalLabels`."""
    d = labels if isinstance(labels, dict) else dict(labels)
    return CanonicalLabels(
        namespace=_first(d, _NAMESPACE),
        pod=_first(d, _POD),
        container=_first(d, _CONTAINER),
        host=_first(d, _HOST),
        gpu_index=d.get("gpu") or None,
        gpu_uuid=d.get("UUID") or d.get("uuid") or None,
        gpu_model_name=d.get("modelName") or None,
        mig_profile=d.get("GPU_I_PROFILE") or None,
        mig_instance=d.get("GPU_I_ID") or None,
        model_name=d.get("model_name") or None,
        engine=d.get("engine") or None,
        tp_rank=d.get("tp_rank") or None,
    )


def workload_of_pod(pod: str) -> str:
    """Name of the workload behind a pod: stable across pod restarts.

    `llama-70b-7d9c8b6f4-x2k4p` (Deployment) -> `llama-70b`; `vllm-x2k4p` (DaemonSet/Job) -> `vllm`;
    `olmo-0` (StatefulSet) -> `olmo`; anything else is its own workload.
    """
    for pattern in (_DEPLOYMENT_POD, _SHORT_SUFFIX_POD, _STATEFULSET_POD):
        m = pattern.match(pod)
        if m:
            return m.group("base")
    return pod


__all__ = ["CanonicalLabels", "canonical", "workload_of_pod"]
