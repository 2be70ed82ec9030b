"""`plan calibrate`: fit the physics step model (`physics.stepmodel`) to a deployment's telemetry
or to bench results, and say whether the data determine the parameters.

From the store, every interval with at least `min_running` requests running and generated
tokens is one observation: batch = mean requests running, J per output token = energy /
generation tokens, per-GPU power = energy / interval / GPUs, prompt tokens per output token,
and the mean KV length of a running request = prompt per request + output per request / 2
(per-request means over the whole range). The step time is not a separate observation: at a
known batch and power it is fixed by J/token (tau = J n / (tp P)), so the mean ITL would count
twice. From `wattlens bench` results, each configuration's steady window is one observation
(its `steady_*` columns); where the engine counted the window's steps, the client's ITL is left
out for the same reason. One deployment shows one model on one GPU type under varying load,
which determines the bandwidth efficiencies and the power floor and slope (`DEFAULT_FREE`;
`eta_kv` only where the KV reads are a visible share of the step: long contexts at several
batches); the other parameters keep the shipped ML.ENERGY values. A fit whose standard errors
exceed their values, or whose batch range spans less than 4x, is marked `identifiable: false`
with the reason (`plan.stepfit`).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from wattlens.catalog import find_model, get_gpu
from wattlens.catalog.specs import GpuSpec, ModelSpec
from wattlens.core.errors import CatalogError, InputError
from wattlens.core.records import DeploymentInfo
from wattlens.physics.kv import default_kv_dtype, dtype_bytes
from wattlens.physics.stepmodel import PARAM_NAMES, Hardware, StepParams, Workload
from wattlens.physics.stepspec import hardware, workload
from wattlens.plan.stepfit import Observations, StepFit, fit
from wattlens.plan.stepprofile import StepProfile, default_profile

F64 = NDArray[np.float64]
DEFAULT_FREE: tuple[str, ...] = ("eta_weights", "eta_kv", "p_floor", "p_mem")
MIN_POINTS = 8
BENCH_COLUMNS = ("batch", "joules_per_token", "power_watts", "mean_kv_tokens")
# `wattlens bench` CSVs: its steady-window columns feed the fit (#13).
_BENCH_STEADY = {"batch": "steady_batch", "joules_per_token": "steady_joules_per_output_token",
                 "power_watts": "steady_power_watts_per_gpu"}  # fmt: skip


class IntervalSource(Protocol):
    """What calibration needs from the store (`wattlens.store.Store` satisfies it)."""

    def intervals(
        self, deployment_id: str | None, start_s: float | None = None, end_s: float | None = None
    ) -> dict[str, np.ndarray]: ...


class _Stored(Protocol):
    @property
    def info(self) -> DeploymentInfo: ...


class DeploymentSource(IntervalSource, Protocol):
    """The store with its deployments (model name, GPU type and count of each)."""

    def deployments(self) -> Sequence[_Stored]: ...


def _setup(
    model: str | ModelSpec, gpu: str | GpuSpec, tp: int, dtype: str | None
) -> tuple[ModelSpec, GpuSpec, Hardware, Workload]:
    m = model if isinstance(model, ModelSpec) else find_model(model)
    if m is None:
        raise InputError(
            f"model {model!r} is not in the catalog; pass a catalog id (e.g. llama-3.1-8b)",
            field="model",
        )
    try:
        g = gpu if isinstance(gpu, GpuSpec) else get_gpu(gpu)
    except CatalogError as e:
        raise InputError(str(e), field="gpu") from e
    d = dtype or m.default_dtype
    kvb = dtype_bytes(default_kv_dtype(d))
    return m, g, hardware(g, d), workload(m, tp, d, kvb)


def fit_observations(
    obs: Observations,
    model: str | ModelSpec,
    gpu: str | GpuSpec,
    *,
    tp: int = 1,
    dtype: str | None = None,
    free: tuple[str, ...] = DEFAULT_FREE,
    start: StepParams | None = None,
    source: str = "",
) -> StepFit:
    """Fit `free` parameters of the step model for `model` on `gpu` at TP `tp` to `obs`."""
    if obs.batch.size < MIN_POINTS:
        raise InputError(
            f"calibration: {obs.batch.size} usable points (batch >= 1 with tokens and energy); "
            f"need at least {MIN_POINTS}, so collect history under varied load",
            field="deployment_id",
        )
    _, _, hw, wl = _setup(model, gpu, tp, dtype)
    return fit(hw, wl, obs, start=start or default_profile().params, free=free, source=source)


def observations_from_store(
    store: IntervalSource,
    deployment_id: str,
    *,
    start_s: float | None = None,
    end_s: float | None = None,
    min_running: float = 1.0,
) -> Observations:
    """One observation per interval with >= `min_running` requests running and tokens."""
    cols = store.intervals(deployment_id, start_s, end_s)
    if len(cols.get("interval_s", ())) == 0:
        raise InputError(
            f"deployment_id {deployment_id!r}: no stored intervals in that range; check the "
            "name against the stored deployments and that history was collected",
            field="deployment_id",
        )

    def col(name: str) -> F64:
        return np.asarray(cols[name], dtype=np.float64)

    run, energy, dt, gpus = (
        col("requests_running"),
        col("energy_joules"),
        col("interval_s"),
        col("gpu_count"),
    )
    prompt, gen, done = col("prompt_tokens"), col("generation_tokens"), col("requests_finished")
    if not np.any(np.isfinite(run) & np.isfinite(gen)):
        raise InputError(
            f"deployment_id {deployment_id!r}: no engine metrics (requests running unknown); "
            "calibration needs vLLM metrics next to the GPU power",
            field="deployment_id",
        )
    ok = (
        np.isfinite(run) & (run >= min_running) & np.isfinite(energy) & (energy > 0)
        & np.isfinite(gen) & (gen > 0) & np.isfinite(prompt) & (dt > 0) & (gpus > 0)
    )  # fmt: skip
    fin = ok & np.isfinite(done) & (done > 0)
    requests = float(done[fin].sum())
    if requests <= 0:
        raise InputError(
            f"deployment_id {deployment_id!r}: no finished requests in the usable intervals; "
            "the mean KV length per request cannot be estimated",
            field="deployment_id",
        )
    out_per_req = float(gen[fin].sum()) / requests
    kv = float(prompt[fin].sum()) / requests + out_per_req / 2.0
    n = int(ok.sum())
    return Observations(
        batch=run[ok],
        joules_per_token=energy[ok] / gen[ok],
        power_watts=energy[ok] / dt[ok] / gpus[ok],
        step_s=np.full(n, np.nan),
        mean_kv_tokens=np.full(n, kv),
        prompt_per_output=prompt[ok] / gen[ok],
        out_tokens=np.full(n, out_per_req),
        task=np.full(n, -1, dtype=np.int64),
    )


def _finite(text: str | None) -> bool:
    try:
        return bool(text) and bool(np.isfinite(float(text or "")))
    except ValueError:
        return False


def observations_from_csv(path: str | Path) -> Observations:
    """Bench results: a CSV with batch, joules_per_token (per output token), power_watts (per
    GPU) and mean_kv_tokens per row; optional step_s and prompt_per_output."""
    src = Path(path)
    try:
        with src.open(newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise InputError(f"bench {str(src)!r}: cannot read it ({e})", field="bench") from e
    if rows and all(v in rows[0] for v in _BENCH_STEADY.values()):  # `wattlens bench` results
        rows = [{**r, **{k: r[v] for k, v in _BENCH_STEADY.items()}} for r in rows
                if r[_BENCH_STEADY["joules_per_token"]]]  # fmt: skip
        for r in rows:
            if _finite(r.get("steady_prompt_per_output")):  # the engine's, over the same window
                r["prompt_per_output"] = r["steady_prompt_per_output"]
            if r.get("steady_batch_source") == "engine_steps":
                # Batch counted by the engine: J/token, power and batch fix the step time
                # (tau = J n / (tp P)), so the client's ITL would count it twice, with the
                # client's jitter (as in `observations_from_store`).
                r["step_s"] = ""
    missing = [c for c in BENCH_COLUMNS if not rows or c not in rows[0]]
    if missing:
        raise InputError(
            f"bench {str(src)!r}: missing column(s) {', '.join(missing)}; expected "
            f"{', '.join(BENCH_COLUMNS)} (optional step_s, prompt_per_output)",
            field="bench",
        )

    def col(name: str, default: float = np.nan) -> F64:
        try:
            return np.asarray([float(r.get(name) or default) for r in rows], dtype=np.float64)
        except ValueError as e:
            raise InputError(f"bench {str(src)!r}: column {name}: {e}", field="bench") from e

    n = len(rows)
    return Observations(
        batch=col("batch"), joules_per_token=col("joules_per_token"),
        power_watts=col("power_watts"), step_s=col("step_s"),
        mean_kv_tokens=col("mean_kv_tokens"), prompt_per_output=col("prompt_per_output", 0.0),
        out_tokens=np.ones(n), task=np.full(n, -1, dtype=np.int64),
    )  # fmt: skip


def calibrate_step_model(
    obs: Observations,
    model: str | ModelSpec,
    gpu: str | GpuSpec,
    *,
    tp: int = 1,
    dtype: str | None = None,
    free: tuple[str, ...] = DEFAULT_FREE,
    source: str,
    now: float | None = None,
) -> StepProfile:
    """Fit and package as the profile `plan tokw/fleet --calibration` read."""
    m, g, _, _ = _setup(model, gpu, tp, dtype)
    f = fit_observations(obs, m, g, tp=tp, dtype=dtype, free=free, source=source)
    return profile_from_fit(f, m, g, tp, now=now)


def calibrate_from_store(
    store: DeploymentSource,
    deployment_id: str,
    *,
    model: str | None = None,
    gpu: str | None = None,
    tp: int | None = None,
    dtype: str | None = None,
    free: tuple[str, ...] = DEFAULT_FREE,
    start_s: float | None = None,
    end_s: float | None = None,
    now: float | None = None,
) -> StepProfile:
    """The step model fitted to a stored deployment; model, GPU and TP default to what the
    store recorded (served model name, catalog GPU type, GPU count as TP)."""
    info = next(
        (d.info for d in store.deployments() if d.info.deployment_id == deployment_id), None
    )
    if info is None and (model is None or gpu is None):
        raise InputError(
            f"deployment_id {deployment_id!r} is not in the store; check the name",
            field="deployment_id",
        )
    name = model or (info.model_name if info else None)
    gpu_id = gpu or (info.gpu_type if info else None)
    if not name or not gpu_id:
        missing = "model" if not name else "gpu"
        raise InputError(
            f"deployment_id {deployment_id!r}: the store does not know its {missing}; pass it",
            field=missing,
        )
    obs = observations_from_store(store, deployment_id, start_s=start_s, end_s=end_s)
    source = f"fitted to {obs.batch.size} intervals of {deployment_id} (wattlens plan calibrate)"
    return calibrate_step_model(
        obs, name, gpu_id, tp=tp or (info.gpu_count if info else 1), dtype=dtype, free=free,
        source=source, now=now,
    )  # fmt: skip


def profile_from_fit(
    f: StepFit, m: ModelSpec, g: GpuSpec, tp: int, *, now: float | None = None
) -> StepProfile:
    """A StepProfile with the fit's errors and the setting it was fitted in."""
    stamp = time.strftime("%Y-%m-%d", time.gmtime(time.time() if now is None else now))
    info: Mapping[str, object] = {
        "model": m.id,
        "gpu": g.id,
        "tp": tp,
        "points": f.points,
        "free": list(f.free),
        "held": [n for n in PARAM_NAMES if n not in f.free],
        "mape_joules_per_token_percent": f.mape_joules_per_token_percent,
        "mape_power_percent": f.mape_power_percent,
        "note": "in-sample errors; the held parameters keep the shipped ML.ENERGY values",
    }
    return StepProfile(
        params=f.params,
        covariance=f.covariance,
        source=f.source,
        date=stamp,
        identifiable=f.identifiable,
        reasons=f.reasons,
        fit=dict(info),
    )


__all__ = [
    "BENCH_COLUMNS",
    "DEFAULT_FREE",
    "MIN_POINTS",
    "DeploymentSource",
    "IntervalSource",
    "calibrate_from_store",
    "calibrate_step_model",
    "fit_observations",
    "observations_from_csv",
    "observations_from_store",
    "profile_from_fit",
]
