"""Programmatic scenarios for scale tests and benchmarks (e.g. a 1,000-GPU fleet)."""

from __future__ import annotations

from typing import Literal

from wattlens.emulator.scenario import (
    Deployment,
    Node,
    Pattern,
    PowerModel,
    Scenario,
    Traffic,
)

# Three GPU kinds cycled across deployments; idle/peak are plausible emulator values, not data.
_KINDS = (
    ("A100-80GB", "NVIDIA A100-SXM4-80GB", 80.0, 400.0, 81920.0),
    ("H100-SXM", "NVIDIA H100 80GB HBM3", 110.0, 690.0, 81559.0),
    ("A6000", "NVIDIA RTX A6000", 70.0, 300.0, 49140.0),
)


def synthetic_scenario(
    n_deployments: int,
    gpus_per_deployment: int = 8,
    *,
    seed: int = 42,
    gpus_per_node: int = 8,
    pattern: Pattern = "diurnal",
    mean_tokens_per_s: float = 1000.0,
    tick_s: float = 5.0,
    name: str | None = None,
) -> Scenario:
    """A fleet of `n_deployments` vLLM deployments with `gpus_per_deployment` GPUs each.

    Deployments are packed onto nodes of `gpus_per_node` GPUs (one kind of GPU per node);
    namespaces rotate over four teams and every fourth node uses the newer `hostname` label.
    """
    per_node = max(1, gpus_per_node // gpus_per_deployment)
    deployments: list[Deployment] = []
    nodes: list[Node] = []
    for i in range(n_deployments):
        node_i = i // per_node
        gpu, gpu_name, idle, peak, mem = _KINDS[node_i % len(_KINDS)]
        node = f"gpu-{gpu.lower()}-{node_i:04d}.example.edu"
        if i % per_node == 0:
            label: Literal["Hostname", "hostname"] = "hostname" if node_i % 4 == 3 else "Hostname"
            nodes.append(Node(name=node, hostname_label=label))
        deployments.append(
            Deployment(
                namespace=f"team-{i % 4}",
                workload=f"model-{i:04d}",
                node=node,
                gpu=gpu,
                gpu_model_name=gpu_name,
                gpu_count=gpus_per_deployment,
                power=PowerModel(idle_watts_per_gpu=idle, peak_watts_per_gpu=peak),
                traffic=Traffic(pattern=pattern, mean_tokens_per_s=mean_tokens_per_s * (1 + i % 5)),
                served_model_name=f"org/model-{i:04d}",
                gpu_memory_mib=mem,
            )
        )
    return Scenario(
        name=name or f"synthetic-{n_deployments}x{gpus_per_deployment}",
        deployments=tuple(deployments),
        nodes=tuple(nodes),
        seed=seed,
        tick_s=tick_s,
    )


__all__ = ["synthetic_scenario"]
