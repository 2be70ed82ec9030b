"""`plan tokw` throughput: evaluations/s over a vectorised grid of 10^6 (model, GPU, context,
batch) points (goal >= 10^7/s), next to a plain-Python loop computing the same points."""

from __future__ import annotations

import math
import time

import numpy as np

from wattlens.catalog import all_gpus, all_models
from wattlens.core.errors import InputError
from wattlens.plan.build import computed_profile
from wattlens.plan.profiles import DecodeProfile, stack_profiles
from wattlens.plan.tokw import evaluate

GPUS = ("H100-SXM", "H200", "B200", "A100-80GB", "L40S", "RTX-A6000", "GB200", "L4")
CONTEXTS = 50
TARGET_POINTS = 1_000_000
PYTHON_POINTS = 20_000


def _profiles() -> list[DecodeProfile]:
    """Computed profiles for every catalog (model, GPU) pair that fits at TP 1/2/4/8."""
    out = []
    gpus = [g for g in all_gpus() if g.id in GPUS]
    for m in all_models():
        for g in gpus:
            for tp in (1, 2, 4, 8):
                try:
                    out.append(computed_profile(m, g, tp=tp))
                    break
                except InputError:
                    continue
    return out


def _python_point(p: DecodeProfile, ctx: float, batch: int) -> float:
    """One grid point in plain Python (the same formulas as the vectorised path)."""
    blk = p.block_tokens
    ctx_r = math.ceil(ctx / blk) * blk
    units = p.kv_units_per_token * ctx_r + p.kv_window_units_per_token * min(
        ctx_r, math.ceil(p.window_tokens / blk) * blk
    )
    n_max = math.floor(p.kv_budget / units)
    if p.max_slots > 0:
        n_max = min(n_max, p.max_slots)
    n = min(batch, n_max)
    if n <= 0:
        return 0.0
    kv = ctx / 2.0
    scan = p.scan_s_per_token * kv + p.window_scan_s_per_token * min(kv, p.window_tokens)
    w = p.weight_stream_s
    if p.expert_stream_s > 0:
        w += p.expert_stream_s * (1.0 - (1.0 - p.moe_top_k / p.moe_experts) ** n)
    memory = w + n * scan
    tau = max(memory, n * p.flops_per_token_per_gpu / p.peak_flops)
    activity = n * scan / tau + n * p.flops_per_token_per_gpu / (tau * p.peak_flops)
    power = p.power.tdp_watts * (
        p.power.floor_fraction + p.power.dynamic_fraction * min(1.0, max(0.0, activity))
    )
    return (n / tau) / (p.tp * power)


def main() -> None:
    """Print grid size, evaluations/s (vectorised and plain Python) and their ratio."""
    profiles = _profiles()
    stacked = stack_profiles(profiles)
    batches = math.ceil(TARGET_POINTS / (len(profiles) * CONTEXTS))
    ctx = np.geomspace(512, 262_144, CONTEXTS).round()[None, :, None]
    batch = np.linspace(1, 4096, batches).round().astype(np.int64)[None, None, :]
    points = len(profiles) * ctx.size * batch.size
    evaluate(stacked, ctx, batch)  # warm-up
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        out = evaluate(stacked, ctx, batch)
        runs.append(time.perf_counter() - t0)
    vec_s = min(runs)
    vec_rate = points / vec_s
    rng = np.random.default_rng(42)
    picks = [
        (int(rng.integers(len(profiles))), int(rng.integers(CONTEXTS)), int(rng.integers(batches)))
        for _ in range(PYTHON_POINTS)
    ]
    t0 = time.perf_counter()
    py = [_python_point(profiles[i], float(ctx[0, j, 0]), int(batch[0, 0, k])) for i, j, k in picks]
    py_s = time.perf_counter() - t0
    py_rate = PYTHON_POINTS / py_s
    vec = np.asarray([out["tokens_per_watt"][i, j, k] for i, j, k in picks])
    diff = float(np.max(np.abs(vec - np.asarray(py)) / np.maximum(np.abs(vec), 1e-12)))
    print(f"grid: {len(profiles)} (model, GPU) profiles x {CONTEXTS} contexts x {batches} batches")
    print(f"points: {points:,}")
    print(
        f"vectorised: {vec_s * 1e3:.1f} ms per grid = {vec_rate:,.0f} evaluations/s (goal >= 1e7)"
    )
    print(f"plain Python loop: {py_rate:,.0f} evaluations/s ({PYTHON_POINTS:,} sampled points)")
    print(f"ratio vectorised / plain Python: {vec_rate / py_rate:,.0f}x")
    print(f"max relative difference on the sampled points: {diff:.1e}")


if __name__ == "__main__":
    main()
