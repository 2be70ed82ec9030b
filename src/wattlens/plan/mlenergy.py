"""Calibrate the computed profile's step-time and power model on ML.ENERGY H100 measurements,
report the J/token error, and predict another GPU generation from its specs alone.

Data: ML.ENERGY Benchmark runs on H100 with vLLM and NVML energy (Chung et al., "The ML.ENERGY
Benchmark", NeurIPS Datasets and Benchmarks 2025), bundled in data/mlenergy. Model, per decode
step of n sequences with mean KV length L on one TP shard:
    tau = W/(eta_w BW) + n kappa(L)/(eta_kv BW) + layers (c_layer + c_allreduce [tp>1])
          + moe_layers c_moe + n (2 active/tp)(1 + prompt/out)/(eta_c FLOPS)
    P_gpu = TDP (p0 + p_mem u_mem + p_comp u_comp),  u = time at peak / tau (each <= 1)
    J/token = tp P_gpu tau / n
W streams non-expert weights plus the share of routed experts the batch touches; the compute
term includes the prefill of the prompts the batch admits per output token. The mean prompt
length of each task is not in the data and is fitted.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares

from wattlens.catalog import find_model, get_gpu, get_model
from wattlens.catalog.specs import GpuSpec, ModelSpec
from wattlens.physics.kv import dtype_bytes
from wattlens.physics.roofline import moe_expert_fraction
from wattlens.plan.build import kv_parts, moe_split

F64 = NDArray[np.float64]
CITATION = (
    "Chung et al., The ML.ENERGY Benchmark: Toward Automated Inference Energy Measurement and "
    "Optimization, NeurIPS Datasets and Benchmarks 2025"
)
# Checkpoints the catalog does not name, with the catalog architecture they share:
# Qwen3-Coder-30B-A3B-Instruct has Qwen3-30B-A3B's config (48 layers, 128 experts top-8,
# moe_intermediate 768; huggingface.co/Qwen/Qwen3-Coder-30B-A3B-Instruct config.json, 2025).
_SAME_ARCH = {"qwen/qwen3-coder-30b-a3b-instruct": "qwen3-30b-a3b"}
_PRECISION = {"bfloat16": "bf16", "float16": "fp16", "fp8": "fp8", "mxfp4": "mxfp4"}
TASKS = ("gpqa", "lm-arena-chat", "sourcegraph-fim")
PARAMS = (
    "eta_weights", "eta_kv", "c_layer_us", "c_allreduce_us", "c_moe_us", "eta_compute_dense",
    "eta_compute_moe", "p0", "p_mem", "p_comp",
    *(f"prompt_ktokens_{t}" for t in TASKS),
)  # fmt: skip
_X0 = [0.8, 0.8, 20, 20, 50, 0.5, 0.3, 0.4, 0.3, 0.3, 0.5, 0.5, 0.5]
_LB = [0.2, 0.2, 0, 0, 0, 0.05, 0.02, 0.1, 0, 0, 0, 0, 0]
_UB = [1.0, 1.0, 500, 500, 2000, 1.0, 1.0, 1.0, 1.0, 1.0, 16, 16, 16]


@dataclass(frozen=True, slots=True)
class Points:
    """Column arrays of configurations (one element per measured or predicted point)."""

    n: F64
    tp: F64
    w_fixed_bytes: F64  # per GPU, streamed every step
    w_expert_bytes: F64  # per GPU, all routed experts
    experts: F64
    top_k: F64
    kv_full: F64  # KV bytes per token per GPU, full-attention layers
    kv_window: F64
    window: F64
    layers: F64
    moe_layers: F64  # layers if MoE else 0
    moe: NDArray[np.bool_]
    flops_per_token: F64  # 2 active / tp
    out_tokens: F64
    task: NDArray[np.int64]  # index into TASKS; -1 = prompt given in `prompt_tokens`
    prompt_tokens: F64
    prefill: F64  # 1: the batch also prefills its prompts, 0: decode only
    bw: F64
    peak: F64
    tdp: F64


def _point(m: ModelSpec, g: GpuSpec, tp: int, dtype: str, **kw: float) -> dict[str, float]:
    wb = dtype_bytes(dtype)
    full, _, win, w = kv_parts(m, 2.0, tp)  # vLLM keeps the KV cache in bf16 by default
    non_expert, routed = moe_split(m)
    return {
        "tp": tp, "w_fixed_bytes": non_expert * wb / tp, "w_expert_bytes": routed * wb / tp,
        "experts": m.moe_experts, "top_k": m.moe_top_k, "kv_full": full, "kv_window": win,
        "window": w, "layers": m.layers, "moe_layers": m.layers if m.is_moe else 0,
        "moe": m.is_moe, "flops_per_token": 2.0 * m.active_params / tp,
        "bw": g.memory_bandwidth_bytes_per_s,
        "peak": g.fp8_flops if wb <= 1.0 and g.fp8_flops else g.fp16_flops,
        "tdp": g.tdp_watts, **kw,
    }  # fmt: skip


def _stack(rows: list[dict[str, float]]) -> Points:
    def col(k: str) -> F64:
        return np.asarray([r[k] for r in rows], dtype=np.float64)

    floats = {k: col(k) for k in Points.__dataclass_fields__ if k not in ("task", "moe")}
    return Points(task=col("task").astype(np.int64), moe=col("moe").astype(bool), **floats)


def predict(x: Any, p: Points) -> tuple[F64, F64]:
    """(step time s, power per GPU W) for parameters `x` (order of PARAMS) at points `p`."""
    (ew, ekv, cl, car, cmoe, ecd, ecm, p0, pm, pc, *prompts_k) = x
    prompt = np.where(p.task >= 0, np.asarray(prompts_k)[np.maximum(p.task, 0)] * 1e3, 0.0)
    prompt = prompt + p.prompt_tokens
    kv_len = prompt + p.out_tokens / 2.0
    frac = np.where(p.moe, moe_expert_fraction(p.n, p.experts, p.top_k), 0.0)
    t_w = (p.w_fixed_bytes + p.w_expert_bytes * frac) / p.bw
    kv_bytes = p.n * (p.kv_full * kv_len + p.kv_window * np.minimum(kv_len, p.window))
    t_kv = kv_bytes / p.bw
    t_c = p.n * p.flops_per_token * (1.0 + p.prefill * prompt / p.out_tokens) / p.peak
    eta_c = np.where(p.moe, ecm, ecd)
    overhead = (p.layers * (cl + car * (p.tp > 1)) + p.moe_layers * cmoe) * 1e-6
    tau = t_w / ew + t_kv / ekv + t_c / eta_c + overhead
    u_mem = np.minimum(1.0, (t_w + t_kv) / tau)
    u_comp = np.minimum(1.0, t_c / tau)
    return tau, p.tdp * (p0 + pm * u_mem + pc * u_comp)


def load_measurements() -> tuple[list[dict[str, str]], Points, F64, F64]:
    """(raw rows, points, measured J/token, measured per-GPU W) for rows the catalog resolves."""
    text = resources.files("wattlens.plan").joinpath("data/mlenergy/h100_llm_configs.csv")
    h100 = get_gpu("H100-SXM")
    kept, pts, joules, watts = [], [], [], []
    for r in csv.DictReader(text.read_text().splitlines()):
        m = find_model(_SAME_ARCH.get(r["model_id"].lower(), r["model_id"]))
        if m is None or r["task"] not in TASKS or r["weight_precision"] not in _PRECISION:
            continue
        tp = int(r["num_gpus"])
        pts.append(
            _point(
                m,
                h100,
                tp,
                _PRECISION[r["weight_precision"]],
                n=float(r["avg_batch_size"]),
                out_tokens=float(r["avg_output_len"]),
                task=TASKS.index(r["task"]),
                prompt_tokens=0.0,
                prefill=1.0,
            )  # fmt: skip
        )
        kept.append(r)
        joules.append(float(r["energy_per_token_joules"]))
        watts.append(float(r["avg_power_watts_total"]) / tp)
    return kept, _stack(pts), np.asarray(joules), np.asarray(watts)


@dataclass(frozen=True, slots=True)
class Calibration:
    """Fitted parameters, their one-sigma errors, and the J/token error on the data."""

    params: dict[str, float]
    stderr: dict[str, float]
    mape_joules_per_token_percent: float
    median_ape_percent: float
    mape_power_percent: float
    by_architecture: dict[str, float]
    by_config: list[dict[str, Any]] = field(default_factory=list)
    points: int = 0
    citation: str = CITATION
    covariance: F64 | None = None


def _residuals(x: F64, p: Points, joules: F64, watts: F64) -> F64:
    tau, pw = predict(x, p)
    j = p.tp * pw * tau / p.n
    # Energy per token is the target; power is kept physical with a half-weight term.
    return np.concatenate([np.log(j / joules), 0.5 * np.log(pw / watts)])


def calibrate_mlenergy() -> Calibration:
    """Fit the model to every resolvable H100 row; report J/token MAPE overall and by group."""
    rows, p, joules, watts = load_measurements()
    sol = least_squares(_residuals, _X0, bounds=(_LB, _UB), args=(p, joules, watts))
    tau, pw = predict(sol.x, p)
    ape = np.abs(p.tp * pw * tau / p.n - joules) / joules
    dof = max(1, sol.fun.size - sol.x.size)
    cov = np.linalg.pinv(sol.jac.T @ sol.jac) * float(sol.fun @ sol.fun) / dof
    groups: dict[tuple, list[float]] = {}
    for r, e in zip(rows, ape, strict=True):
        key = (r["model_id"], r["task"], int(r["num_gpus"]), r["weight_precision"])
        groups.setdefault(key, []).append(float(e))
    by_config = [
        {"model_id": k[0], "task": k[1], "tp": k[2], "precision": k[3], "points": len(v),
         "mape_percent": 100.0 * float(np.mean(v))}
        for k, v in groups.items()
    ]  # fmt: skip
    return Calibration(
        params=dict(zip(PARAMS, map(float, sol.x), strict=True)),
        stderr=dict(zip(PARAMS, map(float, np.sqrt(np.clip(np.diag(cov), 0, None))), strict=True)),
        mape_joules_per_token_percent=100.0 * float(ape.mean()),
        median_ape_percent=100.0 * float(np.median(ape)),
        mape_power_percent=100.0 * float(np.mean(np.abs(pw - watts) / watts)),
        by_architecture={
            "dense": 100.0 * float(ape[~p.moe].mean()),
            "moe": 100.0 * float(ape[p.moe].mean()),
        },
        by_config=by_config,
        points=int(ape.size),
        covariance=cov,
    )


def b200_check(cal: Calibration, draws: int = 400, seed: int = 42) -> list[dict[str, Any]]:
    """Predict the 1/W authors' B200 decode measurements from B200 specs and the H100 fit.

    Each row: measured and predicted decode tok/s, W per GPU and physical tok/W, a 5-95 % band
    from the fit's parameter covariance (it does not cover structural error: software version,
    KV contents), and the paper's own B200 projection of the same point for comparison.
    """
    text = resources.files("wattlens.plan").joinpath("data/b200/llama70b_tp8_b200_decode.csv")
    rows = list(csv.DictReader(text.read_text().splitlines()))
    m, g = get_model("llama-3.1-70b"), get_gpu("B200")
    pts = []
    for r in rows:
        out = 2048.0 if "output_len=2048" in r["notes"] else 512.0
        ctx = float(r["context_tokens"])
        pts.append(
            _point(
                m,
                g,
                8,
                "bf16",
                n=float(r["measured_b200_nmax"]),
                out_tokens=out,
                task=-1,
                prompt_tokens=ctx - out,
                prefill=0.0,
            )  # fmt: skip
        )
    p = _stack(pts)
    x = np.asarray([cal.params[k] for k in PARAMS])
    tau, pw = predict(x, p)
    rng = np.random.default_rng(seed)
    cov = cal.covariance if cal.covariance is not None else np.zeros((x.size, x.size))
    samples = rng.multivariate_normal(x, cov, size=draws, method="svd")
    samples = np.clip(samples, _LB, _UB)
    tpw_draws = np.array([(p.n / t) / (8.0 * w) for t, w in (predict(s, p) for s in samples)])
    lo, hi = np.percentile(tpw_draws, [5, 95], axis=0)
    out_rows = []
    for i, r in enumerate(rows):
        tps, w = float(p.n[i] / tau[i]), float(pw[i])
        meas_tpw = float(r["decode_tok_s"]) / (8.0 * float(r["per_gpu_decode_power_w"]))
        out_rows.append(
            {
                "context_tokens": int(r["context_tokens"]),
                "streams": int(p.n[i]),
                "measured_tokens_per_sec": float(r["decode_tok_s"]),
                "predicted_tokens_per_sec": tps,
                "measured_power_watts_per_gpu": float(r["per_gpu_decode_power_w"]),
                "predicted_power_watts_per_gpu": w,
                "measured_tokens_per_watt": meas_tpw,
                "predicted_tokens_per_watt": tps / (8.0 * w),
                "predicted_tokens_per_watt_p5": float(lo[i]),
                "predicted_tokens_per_watt_p95": float(hi[i]),
                "error_percent": 100.0 * (tps / (8.0 * w) - meas_tpw) / meas_tpw,
                "paper_projected_tokens_per_watt": float(r["paper_projected_b200_tok_per_w"]) / 8,
            }
        )
    return out_rows


__all__ = ["CITATION", "PARAMS", "Calibration", "b200_check", "calibrate_mlenergy", "predict"]
