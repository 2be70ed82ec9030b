"""Exporter text in the shapes real clusters produce: dcgm-exporter per node, vLLM V1 per pod."""

from __future__ import annotations

from wattlens.emulator.dcgm import DCGM_FAMILIES, gpu_labels
from wattlens.emulator.families import Block, FamilySpec, Target, format_labels, render_families
from wattlens.emulator.model import FleetModel, Observation
from wattlens.emulator.vllm import ITL_BUCKETS_S, TTFT_BUCKETS_S, vllm_families, vllm_metric_names

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def dcgm_text(model: FleetModel, obs: Observation, node: str, col: int = 0) -> str:
    """dcgm-exporter `/metrics` text of one node."""
    return render_families(DCGM_FAMILIES, Target(model, obs, node=node), col)


def vllm_text(model: FleetModel, obs: Observation, deployment: int, col: int = 0) -> str:
    """vLLM `/metrics` text of a deployment's current pod."""
    d = model.scenario.deployments[deployment]
    gen = int(obs.generation[deployment, col])
    target = Target.pod(model, obs, deployment, gen)
    return render_families(vllm_families(d.vllm_version), target, col)


__all__ = [
    "CONTENT_TYPE",
    "DCGM_FAMILIES",
    "ITL_BUCKETS_S",
    "TTFT_BUCKETS_S",
    "FamilySpec",
    "Block",
    "Target",
    "dcgm_text",
    "format_labels",
    "gpu_labels",
    "render_families",
    "vllm_families",
    "vllm_metric_names",
    "vllm_text",
]
