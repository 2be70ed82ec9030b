"""A planted fleet for the analysis endpoint: H100 deployments whose idle power is known exactly.

Ground truth: every zero-traffic interval draws exactly `IDLE_W_PER_GPU` x GPUs (far from the
catalog's 225 W, so a learned value cannot be the fallback); busy intervals add a saturating
rise on top of that floor. Expected figures are plain sums over `records` in the tests.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

from wattlens.core.records import DeploymentInfo, IntervalRecord
from wattlens.store import Store

from .plant import END_S, STEP_S, write_planted

IDLE_W_PER_GPU = 90.0
CATALOG_IDLE_W = 225.0  # H100-SXM idle_watts in the catalog: the learned value must differ
DAYS = 2.0
INTENSITY = 0.2  # kg/kWh
PUE = 1.1


@dataclass(frozen=True)
class Planted:
    """One planted deployment: attributes and behaviour."""

    info: DeploymentInfo
    busy: bool  # False: never any traffic


def h100(dep_id: str, model: str | None, gpus: int) -> DeploymentInfo:
    ns, wl = dep_id.split("/", 1)
    return DeploymentInfo(dep_id, ns, wl, model, "H100-SXM", "NVIDIA H100 80GB HBM3", gpus,
                          "node-1.sdsc.edu", "vllm", "CAMX")  # fmt: skip


def default_planted(extra_models: tuple[str, ...] = ()) -> list[Planted]:
    """Busy 8B on 2 GPUs, the same on 8 (oversized), an always idle 70B on 4, and busy 1-GPU
    deployments named `extra_models`."""
    out = [
        Planted(h100("lab/llama8", "meta-llama/Llama-3.1-8B-Instruct", 2), busy=True),
        Planted(h100("lab/big8", "meta-llama/Llama-3.1-8B-Instruct", 8), busy=True),
        Planted(h100("lab/idle70", "meta-llama/Llama-3.1-70B-Instruct", 4), busy=False),
    ]
    out += [Planted(h100(f"lab/x{k}", m, 1), busy=True) for k, m in enumerate(extra_models)]
    return out


def _record(p: Planted, ts: float, i: int, rng: random.Random) -> IntervalRecord:
    n = p.info.gpu_count
    idle = not p.busy or i % 4 == 0
    if idle:
        watts, tps, running = n * IDLE_W_PER_GPU, 0.0, 0.0
    else:
        tps = rng.uniform(50.0, 3000.0)
        watts = n * IDLE_W_PER_GPU + 250.0 * n * (1.0 - math.exp(-tps / 1500.0))
        running = rng.uniform(1.0, 24.0)
    prompt = float(round(tps * 0.8 * STEP_S))
    gen = float(round(tps * STEP_S)) - prompt
    energy = watts * STEP_S
    return IntervalRecord(
        deployment_id=p.info.deployment_id,
        ts_end_s=ts,
        interval_s=STEP_S,
        energy_joules=energy,
        energy_source="counter",
        prompt_tokens=prompt,
        generation_tokens=gen,
        requests_finished=0.0 if idle else float(rng.randint(1, 20)),
        itl_seconds_sum=gen / 40.0,
        requests_running=running,
        requests_waiting=0.0,
        kv_cache_usage_ratio=0.0 if idle else rng.uniform(0.05, 0.6),
        gpu_util_percent=0.0 if idle else rng.uniform(20, 95),
        gpu_count=n,
        carbon_intensity_kg_per_kwh=INTENSITY,
        pue=PUE,
        co2_grams=energy / 3.6e6 * PUE * INTENSITY * 1000.0,  # kWh x PUE x kg/kWh x g/kg
        sample_count=2,
    )


def plant_analysis(
    path: Path, planted: list[Planted] | None = None, *, days: float = DAYS, end_s: float = END_S
) -> tuple[Store, list[IntervalRecord]]:
    """Write `days` of 30 s intervals for each planted deployment into a new store."""
    planted = default_planted() if planted is None else planted
    return write_planted(path, planted, _record, days=days, end_s=end_s, seed=1)
