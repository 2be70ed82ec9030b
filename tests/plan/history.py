"""Ground-truth generator for calibration tests: a planted logistic per-GPU power curve and a
deployment's interval history written to a real store."""

from __future__ import annotations

import random

import numpy as np

from wattlens.core.records import DeploymentInfo, IntervalRecord
from wattlens.store import Store

TRUTH = dict(p_idle=250.0, p_nom=650.0, x0=4.5, k=1.3)  # planted per-GPU curve


def truth_watts(b: np.ndarray) -> np.ndarray:
    """The planted curve, watts per GPU."""
    x = np.log2(np.maximum(b, 1.0))
    rng = TRUTH["p_nom"] - TRUTH["p_idle"]
    return TRUTH["p_idle"] + rng / (1.0 + np.exp(-TRUTH["k"] * (x - TRUTH["x0"])))


def write_history(store: Store, gpu_count: int = 4) -> None:
    """300 intervals of llm/qwen: energy = planted P(running) x GPUs x 30 s, +-1 % noise."""
    rng = random.Random(42)
    info = DeploymentInfo("llm/qwen", "llm", "qwen", "Qwen/Qwen3-32B", "H100-SXM",
                          "NVIDIA H100 80GB HBM3", gpu_count, "node-1", "vllm")  # fmt: skip
    store.upsert_deployments([info], 1_700_000_000.0)
    records = []
    for i in range(300):
        running = 2 ** rng.uniform(-1, 8.5)
        watts = float(truth_watts(np.array(running))) * rng.uniform(0.99, 1.01)
        energy = watts * gpu_count * 30.0
        records.append(
            IntervalRecord(
                deployment_id="llm/qwen",
                ts_end_s=1_700_000_000.0 + 30 * (i + 1),
                interval_s=30.0,
                energy_joules=energy,
                energy_source="counter",
                prompt_tokens=1.0,
                generation_tokens=1.0,
                requests_finished=1.0,
                itl_seconds_sum=1.0,
                requests_running=running,
                requests_waiting=0.0,
                kv_cache_usage_ratio=0.5,
                gpu_util_percent=50.0,
                gpu_count=gpu_count,
                carbon_intensity_kg_per_kwh=0.2,
                pue=1.0,
                co2_grams=0.0,
                sample_count=2,
            )  # fmt: skip
        )
    store.write_intervals(records)
