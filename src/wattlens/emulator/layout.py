"""Where things sit: GPU slots on nodes, GPU UUIDs and PCI ids, pod names and pod IPs.

All names are deterministic from the scenario seed. Pods are named
`<workload>-<10-char ReplicaSet hash>-<5-char suffix>` over the k8s safe alphabet; a restart
keeps the ReplicaSet hash and draws a new suffix (the pod was deleted and recreated).
"""

from __future__ import annotations

from dataclasses import dataclass

from wattlens.emulator._rng import safe_string, stream_id
from wattlens.emulator.scenario import Deployment, Scenario

# PCI buses of an 8-GPU HGX baseboard as seen in public nvidia-smi dumps (illustrative).
_PCI_BUSES = (0x07, 0x0F, 0x47, 0x4E, 0x87, 0x90, 0xB7, 0xBD)


@dataclass(frozen=True, slots=True)
class GpuSlot:
    """One physical GPU: its node, index there, identity, and the deployment using it."""

    node: str
    index: int
    uuid: str
    pci_bus_id: str
    deployment: int  # index into `scenario.deployments`; -1 for an unallocated GPU

    @property
    def device(self) -> str:
        """Device file name as dcgm-exporter labels it."""
        return f"nvidia{self.index}"


def _uuid(seed: int, node: str, index: int) -> str:
    h = f"{stream_id(seed, 'uuid', node, index):016x}{stream_id(seed, 'uuid2', node, index):016x}"
    return f"GPU-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _pci(index: int) -> str:
    bus = _PCI_BUSES[index] if index < len(_PCI_BUSES) else 0xC0 + index
    return f"00000000:{bus:02X}:00.0"


def build_layout(scenario: Scenario) -> tuple[GpuSlot, ...]:
    """All GPUs of the fleet: per node, deployments in file order, then the spare GPUs."""
    slots: list[GpuSlot] = []
    for node in scenario.nodes:
        index = 0
        owners = [i for i, d in enumerate(scenario.deployments) if d.node == node.name]
        for di in owners:
            for _ in range(scenario.deployments[di].gpu_count):
                slots.append(
                    GpuSlot(
                        node.name, index, _uuid(scenario.seed, node.name, index), _pci(index), di
                    )
                )
                index += 1
        for _ in range(node.spare_gpus):
            slots.append(
                GpuSlot(node.name, index, _uuid(scenario.seed, node.name, index), _pci(index), -1)
            )
            index += 1
    return tuple(slots)


def pod_name(scenario: Scenario, deployment: Deployment, generation: int) -> str:
    """Pod name of a deployment after `generation` restarts."""
    rs = safe_string(scenario.seed, 10, deployment.key, "replicaset")
    suffix = safe_string(scenario.seed, 5, deployment.key, "pod", generation)
    return f"{deployment.workload}-{rs}-{suffix}"


def exporter_pod_name(scenario: Scenario, node: str) -> str:
    """Name of the dcgm-exporter DaemonSet pod on a node."""
    return f"nvidia-dcgm-exporter-{safe_string(scenario.seed, 5, node, 'dcgm-exporter')}"


def ip_address(scenario: Scenario, *parts: object) -> str:
    """A private 10.x.y.z address for a node or pod (for `instance` labels)."""
    h = stream_id(scenario.seed, "ip", *parts)
    return f"10.{(h >> 16) % 256}.{(h >> 8) % 256}.{1 + h % 254}"


__all__ = ["GpuSlot", "build_layout", "exporter_pod_name", "ip_address", "pod_name"]
