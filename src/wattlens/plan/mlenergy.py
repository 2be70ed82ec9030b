"""The physics step model (`wattlens.physics.stepmodel`) against ML.ENERGY H100 measurements:
the fit that ships as the default, its leave-one-model-out cross-validated error, and the
projection to another GPU generation from its specs alone.

Data: ML.ENERGY Benchmark runs on H100 with vLLM and NVML energy (Chung et al., "The ML.ENERGY
Benchmark", NeurIPS Datasets and Benchmarks 2025), bundled in data/mlenergy. Each row gives the
mean batch, per-GPU power, median inter-token latency and J per output token. The mean prompt of
each task is not in the data and is fitted (a nuisance parameter, not shipped).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
from numpy.typing import NDArray

from wattlens.catalog import find_model, get_gpu, get_model, paper_params
from wattlens.catalog.specs import ModelSpec
from wattlens.physics.stepmodel import PARAM_NAMES, Hardware, StepParams, Workload, decode_step
from wattlens.physics.stepspec import hardware, workload
from wattlens.plan.profiles import PowerProfile
from wattlens.plan.stepfit import Observations, StepFit, band, fit, predict

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
PARAMS = PARAM_NAMES
# Starting point of the fit (the previous in-sample fit, docs/planning.md before #9).
START = StepParams(0.9, 0.75, 0.9, 0.2, 40.0, 25.0, 50.0, 0.2, 0.4, 0.6, 0.7, 0.5)


def _stack(items: list[Any], cls: Any) -> Any:
    names = cls.__dataclass_fields__
    return cls(**{k: np.asarray([getattr(i, k) for i in items], dtype=np.float64) for k in names})


@dataclass(frozen=True, slots=True)
class Dataset:
    """Resolved ML.ENERGY rows: hardware, workloads and observations, one element per row."""

    rows: list[dict[str, str]]
    hw: Hardware
    wl: Workload
    obs: Observations
    group: NDArray[np.str_]  # architecture (held out together in cross-validation)
    moe: NDArray[np.bool_]

    def take(self, index: Any) -> Dataset:
        """Rows `index` (a boolean mask or indices)."""
        idx = np.arange(len(self.rows))[index]
        return Dataset(
            rows=[self.rows[i] for i in idx],
            hw=_take(self.hw, idx),
            wl=self.wl.take(idx),
            obs=self.obs.take(idx),
            group=self.group[idx],
            moe=self.moe[idx],
        )


def _take(hw: Hardware, idx: Any) -> Hardware:
    return Hardware(*(np.asarray(getattr(hw, k))[idx] for k in Hardware.__dataclass_fields__))


def _arch_key(m: ModelSpec) -> str:
    # Llama-3.1-70B and Llama-3.3-70B share one architecture: hold them out together.
    return f"{m.layers}x{m.hidden_size}x{m.kv_heads}x{m.moe_experts}x{round(m.total_params / 1e9)}"


def load_dataset() -> Dataset:
    """The H100 rows whose model the catalog resolves, as a Dataset."""
    text = resources.files("wattlens.plan").joinpath("data/mlenergy/h100_llm_configs.csv")
    h100 = get_gpu("H100-SXM")
    rows, hws, wls, obs, group = [], [], [], [], []
    for r in csv.DictReader(text.read_text().splitlines()):
        m = find_model(_SAME_ARCH.get(r["model_id"].lower(), r["model_id"]))
        if m is None or r["task"] not in TASKS or r["weight_precision"] not in _PRECISION:
            continue
        tp, dtype = int(r["num_gpus"]), _PRECISION[r["weight_precision"]]
        rows.append(r)
        hws.append(hardware(h100, dtype))
        wls.append(workload(m, tp, dtype))
        group.append(_arch_key(m))
        obs.append(
            (float(r["avg_batch_size"]), float(r["energy_per_token_joules"]),
             float(r["avg_power_watts_total"]) / tp, float(r["median_itl_ms"]) / 1e3,
             float(r["avg_output_len"]), TASKS.index(r["task"]))
        )  # fmt: skip
    o = np.asarray(obs, dtype=np.float64)
    nan = np.full(len(rows), np.nan)
    observations = Observations(
        batch=o[:, 0], joules_per_token=o[:, 1], power_watts=o[:, 2], step_s=o[:, 3],
        mean_kv_tokens=nan, prompt_per_output=nan, out_tokens=o[:, 4],
        task=o[:, 5].astype(np.int64),
    )  # fmt: skip
    wl = _stack(wls, Workload)
    return Dataset(rows, _stack(hws, Hardware), wl, observations, np.asarray(group), wl.experts > 0)


def fit_dataset(data: Dataset) -> StepFit:
    """Fit all ten parameters and the per-task prompt lengths to `data`."""
    return fit(data.hw, data.wl, data.obs, start=START, n_tasks=len(TASKS), source=CITATION)


@dataclass(frozen=True, slots=True)
class Calibration:
    """The fit on every row, its in-sample errors, and (when computed) cross-validated errors."""

    fit: StepFit
    by_architecture: dict[str, float]
    by_config: list[dict[str, Any]] = field(default_factory=list)
    citation: str = CITATION

    @property
    def params(self) -> dict[str, float]:
        """Name -> fitted value."""
        return self.fit.params.as_dict()

    @property
    def points(self) -> int:
        """Rows fitted."""
        return self.fit.points

    @property
    def mape_joules_per_token_percent(self) -> float:
        """In-sample J/token MAPE."""
        return self.fit.mape_joules_per_token_percent


def _ape(data: Dataset, f: StepFit) -> F64:
    j, _, _ = predict(f.params, data.hw, data.wl, data.obs, np.asarray(f.prompt_tokens))
    return np.asarray(np.abs(j - data.obs.joules_per_token) / data.obs.joules_per_token)


def calibrate_mlenergy(data: Dataset | None = None) -> Calibration:
    """Fit every resolvable H100 row; in-sample J/token MAPE overall, by architecture and config."""
    data = data or load_dataset()
    f = fit_dataset(data)
    ape = _ape(data, f)
    groups: dict[tuple[str, str, int, str], list[float]] = {}
    for r, e in zip(data.rows, ape, strict=True):
        key = (r["model_id"], r["task"], int(r["num_gpus"]), r["weight_precision"])
        groups.setdefault(key, []).append(float(e))
    by_config = [
        {"model_id": k[0], "task": k[1], "tp": k[2], "precision": k[3], "points": len(v),
         "mape_percent": 100.0 * float(np.mean(v))}
        for k, v in groups.items()
    ]  # fmt: skip
    return Calibration(
        fit=f,
        by_architecture={
            "dense": 100.0 * float(ape[~data.moe].mean()),
            "moe": 100.0 * float(ape[data.moe].mean()),
        },
        by_config=by_config,
    )


def cross_validate(data: Dataset | None = None) -> dict[str, Any]:
    """Leave-one-model-out: fit without an architecture, predict its rows; pooled MAPE.

    A task whose only rows belong to the held-out model (sourcegraph-fim: Qwen3-Coder) gets the
    median of the other tasks' fitted prompt lengths.
    """
    data = data or load_dataset()
    pred = np.zeros(len(data.rows))
    per_model: dict[str, float] = {}
    for g in sorted(set(data.group.tolist())):
        train, test = data.take(data.group != g), data.take(data.group == g)
        f = fit_dataset(train)
        prompts = np.asarray(f.prompt_tokens)
        seen = set(train.obs.task.tolist())
        fallback = float(np.median([prompts[t] for t in seen]))
        prompts = np.asarray([prompts[t] if t in seen else fallback for t in range(len(TASKS))])
        j, _, _ = predict(f.params, test.hw, test.wl, test.obs, prompts)
        pred[data.group == g] = j
        name = test.rows[0]["model_id"].split("/")[-1]
        per_model[name] = 100.0 * float(
            np.mean(np.abs(j - test.obs.joules_per_token) / test.obs.joules_per_token)
        )
    ape = np.abs(pred - data.obs.joules_per_token) / data.obs.joules_per_token
    return {
        "dense_mape_percent": 100.0 * float(ape[~data.moe].mean()),
        "moe_mape_percent": 100.0 * float(ape[data.moe].mean()),
        "all_mape_percent": 100.0 * float(ape.mean()),
        "dense_points": int((~data.moe).sum()),
        "moe_points": int(data.moe.sum()),
        "per_model_mape_percent": per_model,
        "predicted_joules_per_token": pred,
    }


def paper_power_baseline(data: Dataset | None = None) -> dict[str, float]:
    """The 1/W paper's models on the same rows, for comparison (nothing fitted to them).

    - `logistic`: J/token = tp x P(n) x ITL / n with the paper's H100 logistic P(b) (P_idle
      300 W, P_nom 600 W, k 1, x0 4.2; Chen et al. 2026, App. A) and the *measured* inter-token
      latency, which isolates the power model;
    - `computed`: the paper's ComputedProfile (roofline step, power TDP (0.43 + 0.43 a)), the
      planner's default before #9, at the measured batch, KV = fitted prompt + output / 2.
    """
    from wattlens.plan.build import computed_profile

    data = data or load_dataset()
    h100 = paper_params("oneoverw2026")["h100_manual_profile"]
    logistic = PowerProfile(h100["p_idle_watts"], h100["p_nominal_watts"], h100["x0"], h100["k"])
    tp = np.asarray(data.wl.tp, dtype=np.float64)
    n = data.obs.batch
    w = logistic.watts(n)
    j_log = tp * w * data.obs.step_s / n
    prompts = np.asarray(fit_dataset(data).prompt_tokens)
    kv = prompts[data.obs.task] + data.obs.out_tokens / 2.0
    j_comp = np.empty_like(n)
    for i, r in enumerate(data.rows):
        m = find_model(_SAME_ARCH.get(r["model_id"].lower(), r["model_id"]))
        assert m is not None
        prof = computed_profile(
            m, "H100-SXM", tp=int(tp[i]), dtype=_PRECISION[r["weight_precision"]]
        )
        tau = float(prof.step_time_s(n[i], kv[i]))
        j_comp[i] = tp[i] * float(prof.power_watts(n[i], kv[i])) * tau / n[i]
    meas = data.obs.joules_per_token
    out = {}
    for name, j in (("logistic", j_log), ("computed", j_comp)):
        ape = np.abs(j - meas) / meas
        out[f"{name}_dense_mape_percent"] = 100.0 * float(ape[~data.moe].mean())
        out[f"{name}_moe_mape_percent"] = 100.0 * float(ape[data.moe].mean())
    out["logistic_power_mape_percent"] = 100.0 * float(
        np.mean(np.abs(w - data.obs.power_watts) / data.obs.power_watts)
    )
    return out


def _scalar(x: Any) -> float:
    return float(np.asarray(x, dtype=np.float64))


def b200_check(
    params: StepParams | Calibration, covariance: F64 | None = None, draws: int = 300
) -> list[dict[str, Any]]:
    """Predict the 1/W authors' B200 decode measurements from B200 specs and H100 parameters.

    Each row: measured and predicted decode tok/s, W per GPU and physical tok/W, a 5-95 % band
    from the parameter covariance, and the paper's own projection of the same point. Each
    stream is assumed to fill its window (prompt = context - output, half the output decoded);
    two checks of that operating point: the share of the HBM peak the measured step needs to
    read the weights and that KV (above 1 is not physical), and the KV occupancy, as a share of
    the window, at which `params` give the measured step.
    """
    if isinstance(params, Calibration):
        covariance = params.fit.covariance if covariance is None else covariance
        params = params.fit.params
    cov = np.zeros((len(PARAMS), len(PARAMS))) if covariance is None else covariance
    text = resources.files("wattlens.plan").joinpath("data/b200/llama70b_tp8_b200_decode.csv")
    rows = list(csv.DictReader(text.read_text().splitlines()))
    m, g = get_model("llama-3.1-70b"), get_gpu("B200")
    hw, wl = hardware(g, "bf16"), workload(m, 8, "bf16")
    n = np.asarray([float(r["measured_b200_nmax"]) for r in rows])
    out = np.asarray([2048.0 if "output_len=2048" in r["notes"] else 512.0 for r in rows])
    ctx = np.asarray([float(r["context_tokens"]) for r in rows])
    kv = ctx - out + out / 2.0  # prompt = context - output, then half the output on average

    def tpw(p: StepParams) -> F64:
        s = decode_step(p, hw, wl, n, kv)
        return np.asarray(n / s.step_s / (8.0 * s.power_watts))

    step = decode_step(params, hw, wl, n, kv)
    lo, hi = band(params, cov, tpw, draws=draws)
    measured_step_s = n / np.asarray([float(r["decode_tok_s"]) for r in rows])
    # Bytes one GPU must read per step at the assumed occupancy: the weight stream plus every
    # stream's KV. Over the measured step this is a bandwidth the HBM peak bounds.
    read_bytes = _scalar(wl.weight_fixed_bytes) + n * kv * _scalar(wl.kv_full_bytes_per_token)
    read_share = read_bytes / (measured_step_s * _scalar(hw.bandwidth_bytes_per_s))
    # The step is linear in the KV length: the occupancy at which these parameters give the
    # measured step, as a share of the window.
    empty = decode_step(params, hw, wl, n, np.zeros_like(kv)).step_s
    needed = (measured_step_s - empty) / (step.step_s - empty) * kv / ctx
    result = []
    for i, r in enumerate(rows):
        tps, w = float(n[i] / step.step_s[i]), float(step.power_watts[i])
        meas = float(r["decode_tok_s"]) / (8.0 * float(r["per_gpu_decode_power_w"]))
        result.append(
            {
                "context_tokens": int(r["context_tokens"]),
                "streams": int(n[i]),
                "measured_tokens_per_sec": float(r["decode_tok_s"]),
                "predicted_tokens_per_sec": tps,
                "measured_power_watts_per_gpu": float(r["per_gpu_decode_power_w"]),
                "predicted_power_watts_per_gpu": w,
                "measured_tokens_per_watt": meas,
                "predicted_tokens_per_watt": tps / (8.0 * w),
                "predicted_tokens_per_watt_p5": float(lo[i]),
                "predicted_tokens_per_watt_p95": float(hi[i]),
                "error_percent": 100.0 * (tps / (8.0 * w) - meas) / meas,
                "paper_projected_tokens_per_watt": float(r["paper_projected_b200_tok_per_w"]) / 8,
                "measured_step_s": float(measured_step_s[i]),
                "predicted_step_s": float(step.step_s[i]),
                "assumed_kv_tokens": float(kv[i]),
                "kv_bytes_per_token_per_gpu": _scalar(wl.kv_full_bytes_per_token),
                "peak_bandwidth_bytes_per_s": _scalar(hw.bandwidth_bytes_per_s),
                "read_bytes_per_gpu": float(read_bytes[i]),
                "read_share_of_peak_bandwidth": float(read_share[i]),
                "kv_share_of_window_for_measured_step": float(needed[i]),
            }
        )
    return result


__all__ = [
    "CITATION",
    "PARAMS",
    "START",
    "TASKS",
    "Calibration",
    "Dataset",
    "b200_check",
    "calibrate_mlenergy",
    "cross_validate",
    "fit_dataset",
    "hardware",
    "load_dataset",
    "paper_power_baseline",
    "workload",
]
