"""dcgm-exporter families (Kubernetes mode, 4.5.x label order); HELP from default-counters.csv.

Temperatures, clocks and memory are illustrative shapes, not calibrated data; power and the
energy counter come from the model.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from wattlens.emulator.families import F64, Block, FamilySpec, Labels, Target, format_labels
from wattlens.emulator.model import FleetModel


@lru_cache(maxsize=1 << 16)
def gpu_labels(model: FleetModel, gpu: int, generation: int) -> Labels:
    """Exporter labels of one GPU (pod labels only when a deployment holds it)."""
    g = model.gpus[gpu]
    node = model.scenario.node(g.node)
    owner = model.scenario.deployments[g.deployment] if g.deployment >= 0 else None
    name = owner.gpu_model_name if owner else _node_gpu_name(model, g.node)
    labels: list[tuple[str, str]] = [
        ("gpu", str(g.index)),
        ("UUID", g.uuid),
        ("pci_bus_id", g.pci_bus_id),
        ("device", g.device),
        ("modelName", name),
        (node.hostname_label, g.node),
        ("DCGM_FI_DRIVER_VERSION", node.driver_version),
    ]
    if owner is not None:
        pod = model.pod_name(g.deployment, generation)
        labels += [("container", owner.container), ("namespace", owner.namespace), ("pod", pod)]
    return tuple(labels)


def _node_gpu_name(model: FleetModel, node: str) -> str:
    for d in model.scenario.deployments:
        if d.node == node:
            return d.gpu_model_name
    return "NVIDIA A100-SXM4-80GB"


def _node_gpus(t: Target) -> NDArray[np.int64]:
    return np.asarray(t.model.node_gpus.get(t.node or "", []), dtype=np.int64)


def _gpu_rows(fn: Callable[[Target, NDArray[np.int64]], F64]) -> Callable[[Target], Block]:
    """Block of a per-GPU family; `fn` gives values for the node's GPUs at once: (k, m)."""

    def block(t: Target) -> Block:
        gis = _node_gpus(t)
        m = t.obs.times_s.size
        values = fn(t, gis)
        if values.shape != (gis.size, m):
            values = np.broadcast_to(values, (gis.size, m))
        if m == 1 or (t.obs.generation[:, 0] == t.obs.generation[:, -1]).all():
            same, text = _node_labels(t.model, t.node or "", tuple(t.obs.generation[:, 0].tolist()))
            return Block([""] * gis.size, same, values, None, text)
        labels: list[Labels] = []
        src: list[int] = []
        masks: list[NDArray[np.bool_] | None] = []
        for k, gi in enumerate(gis.tolist()):
            di = int(t.model.gpu_deployment[gi])
            gens = t.obs.generation[di] if di >= 0 else None
            if gens is None or m == 1 or gens[0] == gens[-1]:  # one pod throughout
                labels.append(gpu_labels(t.model, gi, 0 if gens is None else int(gens[0])))
                src.append(k)
                masks.append(None)
                continue
            for g in np.unique(gens).tolist():  # a restart: one series per pod name
                labels.append(gpu_labels(t.model, gi, g))
                src.append(k)
                masks.append(gens == g)
        if all(x is None for x in masks):
            return Block([""] * len(labels), labels, values)
        mask = np.array([np.ones(m, dtype=bool) if x is None else x for x in masks])
        return Block([""] * len(labels), labels, values[src], mask)

    return block


@lru_cache(maxsize=4096)
def _node_labels(
    model: FleetModel, node: str, generations: tuple[int, ...]
) -> tuple[list[Labels], list[str]]:
    """Labels (and their text) of a node's GPUs while deployments are at `generations`."""
    labels = []
    for gi in model.node_gpus.get(node, []):
        di = int(model.gpu_deployment[gi])
        labels.append(gpu_labels(model, gi, generations[di] if di >= 0 else 0))
    return labels, [format_labels(x) for x in labels]


@lru_cache(maxsize=64)
def _memory_mib(model: FleetModel) -> tuple[F64, F64]:
    """(total, used) MiB per GPU: engines preallocate `memory_utilization` of the memory."""
    total, used = [], []
    for g in model.gpus:
        if g.deployment < 0:
            total.append(81920.0)
            used.append(0.0)
            continue
        d = model.scenario.deployments[g.deployment]
        share = d.memory_utilization if d.engine == "vllm" else 0.5 * d.memory_utilization
        total.append(d.gpu_memory_mib)
        used.append(np.floor(d.gpu_memory_mib * share))
    return np.asarray(total)[:, None], np.asarray(used)[:, None]


# Cosmetic gauges (temperature, clocks, memory) are illustrative shapes, not calibrated data.
def _temp(t: Target, gis: NDArray[np.int64]) -> F64:
    return 28.5 + 0.13 * t.obs.power_watts[gis]  # rendered as integers (floored)


def _sm_clock(t: Target, gis: NDArray[np.int64]) -> F64:
    return 210.0 + 1200.0 * np.minimum(1.0, t.obs.util_percent[gis] / 50.0)


def _fb_free(t: Target, gis: NDArray[np.int64]) -> F64:
    total, used = _memory_mib(t.model)
    return np.floor(0.99 * total[gis] - used[gis])


def _const(value: float) -> Callable[[Target, NDArray[np.int64]], F64]:
    return lambda t, gis: np.full((gis.size, 1), value)


DCGM_FAMILIES: tuple[FamilySpec, ...] = (
    FamilySpec("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).",
               _gpu_rows(_sm_clock), integer=True),
    FamilySpec("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz).",
               _gpu_rows(_const(1593.0)), integer=True),
    FamilySpec("DCGM_FI_DEV_MEMORY_TEMP", "gauge", "Memory temperature (in C).",
               _gpu_rows(lambda t, gis: _temp(t, gis) + 4.0), integer=True),
    FamilySpec("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).",
               _gpu_rows(_temp), integer=True),
    FamilySpec("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).",
               _gpu_rows(lambda t, gis: t.obs.power_watts[gis])),
    FamilySpec("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter",
               "Total energy consumption since boot (in mJ).",
               _gpu_rows(lambda t, gis: t.obs.energy_millijoules[gis]), integer=True),
    FamilySpec("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "counter", "Total number of PCIe retries.",
               _gpu_rows(_const(0.0)), integer=True),
    FamilySpec("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).",
               _gpu_rows(lambda t, gis: t.obs.util_percent[gis]), integer=True),
    FamilySpec("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %).",
               _gpu_rows(lambda t, gis: 0.6 * t.obs.util_percent[gis]), integer=True),
    FamilySpec("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered.",
               _gpu_rows(_const(0.0)), integer=True),
    FamilySpec("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).",
               _gpu_rows(_fb_free), integer=True),
    FamilySpec("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).",
               _gpu_rows(lambda t, gis: _memory_mib(t.model)[1][gis]), integer=True),
    FamilySpec("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge",
               "Ratio of time the graphics engine is active.",
               _gpu_rows(lambda t, gis: t.obs.util_percent[gis] / 100.0 * 0.93)),
)  # fmt: skip


__all__ = ["DCGM_FAMILIES", "gpu_labels"]
