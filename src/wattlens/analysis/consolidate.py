"""Consolidation plans for idle and idle-dominated deployments: scale to zero, or co-locate.

Scale to zero: every run of zero-traffic intervals longer than the scale-down delay is saved,
less one cold start (weights loaded at a stated bandwidth plus engine start-up, with the GPUs
at idle power) for each time traffic came back after such a run.

Co-location, per GPU type: first-fit decreasing over GPUs. A deployment that fits one GPU
takes the smallest MIG profile that holds it where the GPU supports MIG (bins of 7 compute and
8 memory slices; real MIG placement rules are stricter, so a plan can need a re-shuffle), or a
share of a time-sliced GPU's memory (gpu_memory_utilization x memory per GPU). Larger ones need
their TP size in distinct time-sliced GPUs. Each item's memory includes KV for its own peak
concurrency, so the co-located KV covers the combined peak; the combined peak tok/s is reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from wattlens.analysis.data import Series
from wattlens.analysis.options import AnalysisOptions
from wattlens.catalog.specs import GpuSpec
from wattlens.core.units import SECONDS_PER_DAY, kwh_from_joules

_MIG = re.compile(r"^(\d)g\.(\d+)gb$")
_MIG_COMPUTE, _MIG_MEMORY = 7, 8


@dataclass(frozen=True, slots=True)
class Candidate:
    """A deployment that could be consolidated."""

    deployment_id: str
    series: Series
    gpu: GpuSpec
    gpu_count: int
    idle_watts_per_gpu: float
    min_gpus: int | None  # TP size that holds it (None: model unknown)
    memory_per_gpu_bytes: float | None  # at min_gpus
    weights_bytes: float | None


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index ranges where mask is True."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def scale_to_zero(c: Candidate, options: AnalysisOptions) -> dict[str, Any]:
    """Energy a scale-to-zero policy would have saved over the range, net of cold starts."""
    s = c.series
    tokens = s.tokens
    zero = np.isfinite(tokens) & (tokens <= 0) & np.isfinite(s.energy_joules)
    active = np.isfinite(tokens) & (tokens > 0)
    delay = options.scale_down_delay_s
    saved, wakes, idle_s = 0.0, 0, 0.0
    for a, b in _runs(zero):
        dur = float(s.interval_s[a:b].sum())
        idle_s += dur
        if dur <= delay:
            continue
        saved += float(s.energy_joules[a:b].sum()) * (dur - delay) / dur
        wakes += int(b < len(s) and bool(active[b]))
    covered = float(s.interval_s[np.isfinite(s.energy_joules)].sum())
    cold_s = cold_j = None
    net = saved
    if c.weights_bytes is not None:
        cold_s = c.weights_bytes / options.load_bandwidth_bytes_per_s + options.startup_overhead_s
        cold_j = cold_s * c.gpu_count * c.idle_watts_per_gpu
        net = saved - wakes * cold_j
    watts = net / covered if covered > 0 else 0.0
    return {
        "action": "scale_to_zero",
        "saving_watts": watts,
        "saving_kwh_per_day": kwh_from_joules(watts * SECONDS_PER_DAY),
        "saved_energy_joules": net,
        "idle_time_fraction": idle_s / covered if covered > 0 else 0.0,
        "wake_count": wakes,
        "requests_in_range": float(np.nansum(s.requests_finished)),
        "active_intervals": int(active.sum()),
        "cold_start_s": cold_s,
        "cold_start_energy_joules": cold_j,
        "scale_down_delay_s": delay,
        "load_bandwidth_bytes_per_s": options.load_bandwidth_bytes_per_s,
        "startup_overhead_s": options.startup_overhead_s,
    }


def mig_profile(gpu: GpuSpec, need_bytes: float, mem_util: float) -> tuple[str, int, int] | None:
    """Smallest MIG profile (name, compute slices, memory eighths) with room for `need_bytes`."""
    parsed = [(p, int(m.group(1)), int(m.group(2))) for p in gpu.mig_profiles
              if (m := _MIG.match(p))]  # fmt: skip
    if not parsed:
        return None
    full_gb = max(gb for _, _, gb in parsed)
    options = []
    for name, compute, gb in parsed:
        eighths = round(_MIG_MEMORY * gb / full_gb)
        if mem_util * gpu.memory_bytes * eighths / _MIG_MEMORY >= need_bytes:
            options.append((eighths, compute, name))
    if not options:
        return None
    eighths, compute, name = min(options)
    return name, compute, eighths


def _combined_load(items: list[Candidate]) -> tuple[float, float]:
    ts = np.concatenate([c.series.ts_end_s for c in items])
    rate = np.concatenate([np.nan_to_num(c.series.tokens_per_s) for c in items])
    if ts.size == 0:
        return 0.0, 0.0
    uniq, inv = np.unique(ts, return_inverse=True)
    total = np.bincount(inv, rate, minlength=uniq.size)
    return float(total.max()), float(np.quantile(total, 0.99))


def _pack(items: list[Candidate], gpu: GpuSpec, options: AnalysisOptions) -> dict[str, Any]:
    cap = options.gpu_memory_utilization * gpu.memory_bytes
    mig_bins: list[list[int]] = []  # [compute used, eighths used]
    ts_bins: list[float] = []  # memory used
    assign: list[dict[str, Any]] = []
    mig_items: list[tuple[Candidate, tuple[str, int, int]]] = []  # (candidate, MIG profile)
    ts_items: list[Candidate] = []  # time-sliced: no MIG profile fits
    for c in items:
        prof = None
        if c.min_gpus == 1:
            prof = mig_profile(gpu, c.memory_per_gpu_bytes or 0.0, options.gpu_memory_utilization)
        if prof:
            mig_items.append((c, prof))
        else:
            ts_items.append(c)
    mig_items.sort(key=lambda cp: (-cp[1][2], -cp[1][1]))
    for c, (name, compute, eighths) in mig_items:
        fits = [i for i, b in enumerate(mig_bins)
                if b[0] + compute <= _MIG_COMPUTE and b[1] + eighths <= _MIG_MEMORY]  # fmt: skip
        if not fits:
            mig_bins.append([0, 0])
        i = fits[0] if fits else len(mig_bins) - 1
        mig_bins[i][0] += compute
        mig_bins[i][1] += eighths
        assign.append({"deployment_id": c.deployment_id, "gpus": [f"mig-{i}"], "profile": name})
    ts_items.sort(key=lambda c: -(c.min_gpus or 1) * (c.memory_per_gpu_bytes or 0.0))
    for c in ts_items:
        need, n = c.memory_per_gpu_bytes or 0.0, c.min_gpus or 1
        chosen = [i for i, used in enumerate(ts_bins) if used + need <= cap][:n]
        while len(chosen) < n:
            ts_bins.append(0.0)
            chosen.append(len(ts_bins) - 1)
        for i in chosen:
            ts_bins[i] += need
        assign.append({"deployment_id": c.deployment_id, "gpus": [f"shared-{i}" for i in chosen],
                       "profile": None, "memory_per_gpu_bytes": need})  # fmt: skip
    return {"gpus_after": len(mig_bins) + len(ts_bins), "mig_gpus": len(mig_bins),
            "time_sliced_gpus": len(ts_bins), "assignments": assign}  # fmt: skip


def co_locate(candidates: list[Candidate], options: AnalysisOptions) -> list[dict[str, Any]]:
    """One co-location plan per GPU type where packing frees GPUs (models must be known)."""
    plans: list[dict[str, Any]] = []
    by_type: dict[str, list[Candidate]] = {}
    for c in candidates:
        if c.min_gpus is not None and c.memory_per_gpu_bytes is not None:
            by_type.setdefault(c.gpu.id, []).append(c)
    for gpu_type, items in sorted(by_type.items()):
        if len(items) < 2:
            continue
        before = sum(c.gpu_count for c in items)
        right_sized = sum(c.min_gpus or 0 for c in items)
        packed = _pack(items, items[0].gpu, options)
        if packed["gpus_after"] >= min(before, right_sized):
            continue  # nothing shares a GPU: right-sizing alone says it all
        idle_w = float(np.mean([c.idle_watts_per_gpu for c in items]))
        saving = (before - packed["gpus_after"]) * idle_w
        peak, p99 = _combined_load(items)
        plans.append(
            {
                "plan_id": f"co-locate-{gpu_type}",
                "action": "co_locate",
                "gpu_type": gpu_type,
                "mode": "mig" if packed["mig_gpus"] and not packed["time_sliced_gpus"] else (
                    "time_slicing" if not packed["mig_gpus"] else "mig+time_slicing"),
                "deployments": [c.deployment_id for c in items],
                "gpus_before": before,
                "gpus_right_sized": right_sized,
                "saving_watts": saving,
                "sharing_saving_watts": (right_sized - packed["gpus_after"]) * idle_w,
                "saving_kwh_per_day": kwh_from_joules(saving * SECONDS_PER_DAY),
                "combined_peak_tokens_per_s": peak,
                "combined_p99_tokens_per_s": p99,
                "idle_watts_per_gpu": idle_w,
                **packed,
            }
        )  # fmt: skip
    return plans


def plan_for(c: Candidate, plans: list[dict[str, Any]], options: AnalysisOptions) -> dict[str, Any]:
    """A deployment's consolidation entry: both options and the recommended one."""
    stz = scale_to_zero(c, options)
    plan = next((p for p in plans if c.deployment_id in p["deployments"]), None)
    co = None
    if plan is not None:
        share = plan["saving_watts"] * c.gpu_count / plan["gpus_before"]
        mine = next(a for a in plan["assignments"] if a["deployment_id"] == c.deployment_id)
        co = {"plan_id": plan["plan_id"], "saving_watts_share": share, "profile": mine["profile"],
              "gpus": mine["gpus"], "gpus_before": plan["gpus_before"],
              "gpus_after": plan["gpus_after"],
              "shared_with": sorted({a["deployment_id"] for a in plan["assignments"]
                                     if a["deployment_id"] != c.deployment_id
                                     and set(a["gpus"]) & set(mine["gpus"])})}  # fmt: skip
    best = "scale_to_zero"
    if co is not None and (stz["wake_count"] > 0 or stz["saving_watts"] <= 0):
        best = "co_locate" if co["saving_watts_share"] > stz["saving_watts"] else best
    saving = stz["saving_watts"] if best == "scale_to_zero" else co["saving_watts_share"]  # type: ignore[index]
    return {"recommended": best, "saving_watts": saving, "scale_to_zero": stz, "co_locate": co}


__all__ = ["Candidate", "co_locate", "mig_profile", "plan_for", "scale_to_zero"]
