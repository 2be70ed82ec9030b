"""`analyze`: the whole fleet-efficiency analysis over a time range, as one JSON-ready dict.

One store read; per deployment an efficiency curve, idle attribution, right-sizing verdict,
consolidation plan (idle and idle-dominated deployments) and frontier comparison; fleet totals,
a ranked right-sizing list and co-location plans. Energies in the output are kWh, powers W.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from wattlens.analysis import consolidate as cons
from wattlens.analysis.curves import EfficiencyCurve, fit_efficiency_curve
from wattlens.analysis.data import F64, Series, load_series
from wattlens.analysis.frontier import compare_to_frontier
from wattlens.analysis.idle import IdlePower, attribute_idle, fleet_idle_totals, learn_idle_power
from wattlens.analysis.options import AnalysisOptions
from wattlens.analysis.rightsize import (
    RightSizing,
    memory_per_gpu_bytes,
    min_gpus,
    right_size,
    unknown_model,
)
from wattlens.catalog import ModelMatch, ModelResolver, get_gpu
from wattlens.core.durations import iso
from wattlens.core.errors import CatalogError, InputError
from wattlens.core.metrics import WINDOW_METRICS, Totals, compute
from wattlens.core.records import DeploymentInfo
from wattlens.core.units import kwh_from_joules
from wattlens.physics.kv import dtype_bytes
from wattlens.store import StoreReader

DEFAULT_RANGE_S = 7 * 86400.0


def clean(obj: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, NaN and inf to None, tuples to lists."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [clean(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _sum(x: F64, mask: NDArray[np.bool_]) -> float | None:
    """Sum of the known values under `mask`; None when none is known."""
    ok = mask & np.isfinite(x)
    return float(x[ok].sum()) if ok.any() else None


def _rates(s: Series, options: AnalysisOptions) -> dict[str, Any]:
    """The vocabulary's rates over the range's totals, and active-only means for the frontier."""
    every = np.ones(len(s), dtype=bool)
    with_tokens = np.isfinite(s.prompt_tokens) | np.isfinite(s.generation_tokens)
    totals = Totals(
        seconds=float(s.interval_s.sum()),
        energy_joules=_sum(s.energy_joules, every),
        prompt_tokens=_sum(s.prompt_tokens, every),
        generation_tokens=_sum(s.generation_tokens, every),
        co2_grams=_sum(s.co2_grams, every),
        token_energy_joules=_sum(s.energy_joules, with_tokens),
        token_co2_grams=_sum(s.co2_grams, with_tokens),
    )
    out: dict[str, Any] = dict.fromkeys(_RATE_KEYS)
    out["active"] = None
    if totals.seconds <= 0 or not with_tokens.any():
        return out
    out.update(compute(totals, min_tokens_per_s=options.min_tokens_per_s_for_ratio,
                       names=_RATE_KEYS))  # fmt: skip
    tps = out["tokens_per_s"] or 0.0
    t_ok = with_tokens & np.isfinite(s.energy_joules)
    act = t_ok & (np.nan_to_num(s.tokens) / s.interval_s > options.min_tokens_per_s_for_ratio)
    adt = float(s.interval_s[act].sum())
    out.update(active=tps > options.active_tokens_per_s, active_time_fraction=adt / totals.seconds)
    if adt > 0:
        out["active_prompt_tokens_per_s"] = float(np.nansum(s.prompt_tokens[act])) / adt
        out["active_generation_tokens_per_s"] = float(np.nansum(s.generation_tokens[act])) / adt
        out["active_power_watts"] = float(s.energy_joules[act].sum()) / adt
    return out


_RATE_KEYS = tuple(m for m in WINDOW_METRICS if m != "power_watts")  # mean_power_watts: idle


def _unknown_deployment(deployment_id: str) -> DeploymentInfo:
    """Stored intervals without a stored deployment row: identity only, from the id."""
    namespace, _, workload = deployment_id.partition("/")
    return DeploymentInfo(
        deployment_id=deployment_id, namespace=namespace, workload=workload, model_name=None,
        gpu_type=None, gpu_hardware=None, gpu_count=0, node=None, container=None,
    )  # fmt: skip


@lru_cache(maxsize=8)
def _resolver(directory: str, custom: str, hub: bool) -> ModelResolver:
    """One resolver per model setup, kept across calls so hub answers are asked once."""
    return ModelResolver(
        directory=directory or None, custom=dict(json.loads(custom)), hub_enabled=hub
    )


def resolver_for(options: AnalysisOptions) -> ModelResolver:
    """The model resolver for the options' [models] settings (user models, hub)."""
    custom = json.dumps(options.custom_models, sort_keys=True, default=str)
    return _resolver(options.model_directory, custom, options.model_hub)


def _model_for(info: DeploymentInfo, options: AnalysisOptions) -> ModelMatch | None:
    """How the deployment's served model name resolves (user models, catalog, hub, estimate)."""
    return resolver_for(options).resolve(info.model_name)


def _model_info(
    info: DeploymentInfo, match: ModelMatch | None, opts: AnalysisOptions
) -> dict[str, Any]:
    """The row's `model` block: which entry was used and its source, or why there is none."""
    if match is not None:
        return match.as_dict()
    reason = resolver_for(opts).explain(info.model_name)
    return {"id": None, "source": None, "matched_by": None, "query": info.model_name,
            "reason": reason}  # fmt: skip


def _candidate(
    info: DeploymentInfo,
    s: Series,
    match: ModelMatch | None,
    idle_w: float,
    options: AnalysisOptions,
) -> cons.Candidate | None:
    try:
        gpu = get_gpu(info.gpu_type or "")
    except CatalogError:
        return None
    n_min = mem = weights = None
    if match is not None:
        model, dtype = match.spec, match.dtype
        weights = model.total_params * dtype_bytes(dtype)
        n_min = min_gpus(model, gpu, dtype, 1, options)
        if n_min is not None:
            mem = memory_per_gpu_bytes(model, n_min, dtype, 1, options)["total"]
    n_now = int(round(float(np.nanmedian(s.gpu_count)))) if len(s) else info.gpu_count
    return cons.Candidate(info.deployment_id, s, gpu, n_now, idle_w, n_min, mem, weights)


def analyze(
    store: StoreReader,
    *,
    range_s: float = DEFAULT_RANGE_S,
    end_s: float | None = None,
    options: AnalysisOptions | None = None,
    tier: str | None = None,
    include_charts: bool = False,
) -> dict[str, Any]:
    """Run every analysis over (end_s - range_s, end_s] (end: the newest stored interval).

    Args:
        store: a `wattlens.store.Store` (read-only is fine).
        range_s: length of the range in seconds (CLI `--range 7d`).
        end_s: end of the range, UTC epoch seconds; default the newest interval in the store.
        options: thresholds and assumptions; default `AnalysisOptions.default()`.
        tier: store tier to read; default by range length (raw up to 3 days, then 5m, 1h).
        include_charts: add chart series (`charts`) for the web Efficiency view.

    Returns:
        A JSON-ready dict (see docs/analysis.md for the keys).
    """
    if not (range_s > 0 and math.isfinite(range_s)):
        raise InputError(f"analysis range {range_s!r} s must be a positive duration like 7d")
    opts = options or AnalysisOptions.default()
    end = store.last_ts() if end_s is None else float(end_s)
    infos = {d.info.deployment_id: d.info for d in store.deployments()}
    if end is None:
        return clean(_empty(opts))
    start = end - range_s
    series, tier_read = load_series(store, start, end, tier)
    curves: dict[str, EfficiencyCurve] = {
        dep: fit_efficiency_curve(s.tokens_per_s, s.power_watts, s.ts_end_s, s.interval_s, opts)
        for dep, s in series.items()
    }
    gpu_types = {dep: infos[dep].gpu_type if dep in infos else None for dep in series}
    idle = learn_idle_power(series, gpu_types, curves, opts)
    rows, attributions, ranked, candidates = [], [], [], []
    for dep, s in series.items():
        info = infos.get(dep) or _unknown_deployment(dep)
        ip: IdlePower | None = idle.get(info.gpu_type or "")
        att = attribute_idle(s, ip.value_watts if ip else None)
        attributions.append(att)
        rates = _rates(s, opts)
        match = _model_for(info, opts)
        rs: RightSizing | None = None
        serves = bool(info.model_name) or rates["tokens_per_s"] is not None
        if match is None and serves:  # a GPU-only job (no engine, no name) is not sized
            n_now = int(round(float(np.nanmedian(s.gpu_count)))) if len(s) else info.gpu_count
            rs = unknown_model(info.gpu_type, n_now, resolver_for(opts).explain(info.model_name))
        elif match is not None and ip is not None and info.gpu_type:
            rs = right_size(s, match.spec, info.gpu_type, info.model_name, ip.value_watts, opts,
                            match=match)  # fmt: skip
            if rs.flagged:
                ranked.append(rs)
        row = _row(info, s, match, att, rates, curves[dep], rs, opts)
        is_candidate = rates["active"] is False or (
            att.idle_fraction is not None and att.idle_fraction >= opts.idle_fraction_candidate
        )
        if is_candidate and ip is not None:
            c = _candidate(info, s, match, ip.value_watts, opts)
            if c is not None:
                candidates.append((row, c))
        rows.append(row)
    plans = cons.co_locate([c for _, c in candidates], opts)
    for row, c in candidates:
        plan = cons.plan_for(c, plans, opts)
        row["consolidation"] = plan if plan["saving_watts"] > 0 else None
    ranked.sort(key=lambda r: -(r.saving_watts or 0.0))
    dep_of = {id(rs): row["deployment_id"] for row in rows if (rs := row.pop("_rs", None))}
    out = {
        "range": {
            "start_s": start,
            "end_s": end,
            "start": iso(start),
            "end": iso(end),
            "range_s": range_s,
            "tier": tier_read,
        },  # fmt: skip
        "idle_power_per_gpu_watts": {k: v.as_dict() for k, v in idle.items()},
        "deployments": rows,
        "fleet": _fleet(fleet_idle_totals(attributions), rows, ranked, plans),
        "right_sizing_ranked": [
            {"deployment_id": dep_of.get(id(r)), **_rs_summary(r)} for r in ranked
        ],
        "consolidation_plans": plans,
        "assumptions": opts.as_dict(),
    }
    if include_charts:
        from wattlens.analysis.plots import charts

        out["charts"] = charts(series, curves, out, opts)
    return clean(out)


def _rs_summary(r: RightSizing) -> dict[str, Any]:
    return {
        "gpu_type": r.gpu_type,
        "current_gpu_count": r.current_gpu_count,
        "recommended_gpu_count": r.recommended_gpu_count,
        "saving_watts": r.saving_watts,
        "saving_kwh_per_day": r.saving_kwh_per_day,
        "saving_kg_co2_per_year": r.saving_kg_co2_per_year,
        "reason": r.reason,
    }


def _row(
    info: DeploymentInfo,
    s: Series,
    match: ModelMatch | None,
    att: Any,
    rates: dict[str, Any],
    curve: EfficiencyCurve,
    rs: RightSizing | None,
    opts: AnalysisOptions,
) -> dict[str, Any]:
    kwh = kwh_from_joules
    frontier = None
    if rates.get("active_power_watts"):
        frontier = compare_to_frontier(
            rates["active_prompt_tokens_per_s"],
            rates["active_generation_tokens_per_s"],
            rates["active_power_watts"],
            opts.frontier_spec,
            opts,
        )
    return {
        "deployment_id": info.deployment_id,
        "namespace": info.namespace,
        "model_name": info.model_name,
        "catalog_model": match.spec.id if match else None,
        "model": _model_info(info, match, opts),
        "gpu_type": info.gpu_type,
        "gpu_count": info.gpu_count,
        "node": info.node,
        "interval_count": len(s),
        "covered_s": att.covered_s,
        "energy_kwh": kwh(att.energy_joules),
        "idle_energy_kwh": None if att.idle_energy_joules is None else kwh(att.idle_energy_joules),
        "productive_energy_kwh": (
            None if att.productive_energy_joules is None else kwh(att.productive_energy_joules)
        ),
        "zero_token_energy_kwh": kwh(att.zero_token_energy_joules),
        "unknown_token_energy_kwh": kwh(att.unknown_token_energy_joules),
        "co2_kg": att.co2_grams / 1000.0,
        "idle_co2_kg": None if att.idle_co2_grams is None else att.idle_co2_grams / 1000.0,
        "productive_co2_kg": (
            None if att.productive_co2_grams is None else att.productive_co2_grams / 1000.0
        ),
        "mean_power_watts": att.mean_power_watts,
        "idle_watts": att.idle_watts,
        "idle_fraction": att.idle_fraction,
        **{k: v for k, v in rates.items() if not k.startswith("active_") or k in (
            "active_time_fraction",)},
        "efficiency_curve": curve.as_dict(),
        "right_sizing": None if rs is None else rs.as_dict(),
        "consolidation": None,
        "frontier_ratio": None if frontier is None else frontier["ratio"],
        "frontier": frontier,
        "_rs": rs,
    }  # fmt: skip


def _fleet(
    totals: dict[str, float],
    rows: list[dict[str, Any]],
    ranked: list[RightSizing],
    plans: list[dict[str, Any]],
) -> dict[str, Any]:
    kwh = kwh_from_joules
    power = sum(r["mean_power_watts"] or 0.0 for r in rows)
    stz = sum((r["consolidation"] or {}).get("saving_watts") or 0.0 for r in rows)
    return {
        "deployment_count": len(rows),
        "energy_kwh": kwh(totals["energy_joules"]),
        "idle_energy_kwh": kwh(totals["idle_energy_joules"]),
        "productive_energy_kwh": kwh(totals["productive_energy_joules"]),
        "zero_token_energy_kwh": kwh(totals["zero_token_energy_joules"]),
        "unknown_token_energy_kwh": kwh(totals["unknown_token_energy_joules"]),
        "idle_fraction": totals["idle_fraction"],
        "co2_kg": totals["co2_grams"] / 1000.0,
        "idle_co2_kg": totals["idle_co2_grams"] / 1000.0,
        "productive_co2_kg": totals["productive_co2_grams"] / 1000.0,
        "mean_power_watts": power,
        "right_sizing_saving_watts": sum(r.saving_watts or 0.0 for r in ranked),
        "consolidation_saving_watts": stz,
        "co_location_saving_watts": sum(p["saving_watts"] for p in plans),
    }


def _empty(opts: AnalysisOptions) -> dict[str, Any]:
    return {"range": None, "idle_power_per_gpu_watts": {}, "deployments": [], "fleet": None,
            "right_sizing_ranked": [], "consolidation_plans": [],
            "assumptions": opts.as_dict()}  # fmt: skip


__all__ = ["DEFAULT_RANGE_S", "analyze", "clean"]
