"""Realistic IntervalRecords and DeploymentInfos for store tests (seeded, no store code used)."""

from __future__ import annotations

import random
from dataclasses import replace

from wattlens.core.records import DeploymentInfo, IntervalRecord
from wattlens.core.units import co2_grams

T0 = 1_700_002_800.0  # 2023-11-14T23:00:00Z, an hour boundary
STEP_S = 30.0


def deployment(
    deployment_id: str = "llm/qwen", *, gpu_count: int = 2, **kw: object
) -> DeploymentInfo:
    """A deployment with plausible attributes; override any field by keyword."""
    namespace, workload = deployment_id.split("/", 1)
    base = DeploymentInfo(
        deployment_id=deployment_id,
        namespace=namespace,
        workload=workload,
        model_name=f"org/{workload}",
        gpu_type="A6000",
        gpu_hardware="NVIDIA RTX A6000",
        gpu_count=gpu_count,
        node="node-1",
        container="vllm",
        grid_region="CAMX",
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def intervals(
    deployment_id: str = "llm/qwen",
    *,
    n: int = 240,
    start_s: float = T0,
    step_s: float = STEP_S,
    seed: int = 42,
    engine: bool = True,
    gpu_count: int = 2,
    idle_every: int = 7,
) -> list[IntervalRecord]:
    """`n` consecutive records ending at start_s + step_s, ...; some idle, some gauges unknown."""
    rng = random.Random(f"{deployment_id}/{seed}")
    out = []
    for i in range(n):
        idle = engine and i % idle_every == 0
        power_w = gpu_count * (rng.uniform(60, 90) if idle else rng.uniform(180, 290))
        energy = power_w * step_s
        intensity = 0.2 + 0.01 * (i % 5)
        pue = 1.2
        tok_rate = 0.0 if idle else rng.uniform(50, 900)
        out.append(
            IntervalRecord(
                deployment_id=deployment_id,
                ts_end_s=start_s + (i + 1) * step_s,
                interval_s=step_s,
                energy_joules=energy,
                energy_source="counter" if i % 11 else "gauge",
                prompt_tokens=round(tok_rate * 0.8 * step_s) if engine else None,
                generation_tokens=round(tok_rate * 0.2 * step_s) if engine else None,
                requests_finished=float(rng.randint(0, 9)) if engine else None,
                itl_seconds_sum=rng.uniform(0.5, 3.0) if engine else None,
                requests_running=rng.uniform(0, 12) if engine else None,
                requests_waiting=None if i % 13 == 0 or not engine else rng.uniform(0, 3),
                kv_cache_usage_ratio=rng.uniform(0, 1) if engine else None,
                gpu_util_percent=None if i % 17 == 0 else rng.uniform(0, 100),
                gpu_count=gpu_count,
                carbon_intensity_kg_per_kwh=intensity,
                pue=pue,
                co2_grams=co2_grams(energy, intensity, pue),
                sample_count=2,
            )
        )
    return out


def fleet(n: int = 240, *, start_s: float = T0) -> list[IntervalRecord]:
    """Three deployments: two with engine metrics, one GPU-only (tokens unknown)."""
    return (
        intervals("llm/qwen", n=n, start_s=start_s)
        + intervals("llm/llama", n=n, start_s=start_s, gpu_count=4)
        + intervals("batch/embed", n=n, start_s=start_s, engine=False, gpu_count=1)
    )
