"""JSON views over the store: the live snapshot per deployment and period reports.

Every rate and ratio comes from the metric vocabulary (`core.metrics.compute`) over the window's
totals, so `status`, `report`, the APIs and the exporter agree by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from wattlens.core.durations import iso
from wattlens.core.metrics import Totals, co2_kg, compute, compute_many, energy_kwh
from wattlens.core.records import DeploymentInfo, identity
from wattlens.core.units import SECONDS_PER_HOUR
from wattlens.derive.carbon import CarbonModel
from wattlens.store.aggregate import Aggregate, row_totals

MIN_IDLE_S = 60.0  # idle time needed to measure idle power (two 30 s intervals)


def snapshot_rows(
    deployments: Sequence[DeploymentInfo],
    aggregates: dict[str, Aggregate],
    *,
    min_tokens_per_s: float,
    carbon: CarbonModel | None = None,
) -> list[dict[str, Any]]:
    """One row per deployment with live rates over the aggregate window (None when no data).

    With `carbon`, each row says how its grid region was chosen (`grid_region_source`: rule,
    default or override), so a node no rule matched is shown as using the default region."""
    infos = sorted(deployments, key=lambda d: d.deployment_id)
    measured = [i.deployment_id for i in infos if i.deployment_id in aggregates]
    rates = dict(zip(measured, compute_many(
        [aggregates[d].totals() for d in measured], min_tokens_per_s=min_tokens_per_s
    ), strict=True))  # fmt: skip
    rows = []
    for info in infos:
        agg = aggregates.get(info.deployment_id)
        row = identity(info)
        if carbon is not None:
            row["grid_region_source"] = carbon.region_source(info.node, info.namespace)
        if agg is None:
            row.update({"power_watts": None, "energy_source": "none", "window_s": 0.0})
            rows.append(row)
            continue
        row.update(rates[info.deployment_id])
        row.update(
            {
                "carbon_intensity_kg_per_kwh": agg.carbon_intensity_kg_per_kwh,
                "pue": agg.pue,
                "energy_source": agg.energy_source,
                "requests_running": agg.requests_running,
                "requests_waiting": agg.requests_waiting,
                "kv_cache_usage_percent": None
                if agg.kv_cache_usage_ratio is None
                else 100.0 * agg.kv_cache_usage_ratio,
                "gpu_util_percent": agg.gpu_util_percent,
                "window_s": agg.interval_s,
                "sample_count": agg.sample_count,
                "updated_at": iso(agg.last_ts_end_s),
            }
        )
        rows.append(row)
    return rows


def _period_fields(total: Totals, active: Totals, min_tokens_per_s: float) -> dict[str, Any]:
    """Energy, CO2 and tokens over a period, with the vocabulary's rates over the same totals."""
    rates = compute(total, min_tokens_per_s=min_tokens_per_s)
    active_jpt = compute(active, min_tokens_per_s=min_tokens_per_s, names=("joules_per_token",))
    return {
        "energy_kwh": energy_kwh(total.energy_joules),
        "prompt_tokens": _count(total.prompt_tokens),
        "generation_tokens": _count(total.generation_tokens),
        "co2_kg": co2_kg(total.co2_grams),
        "power_watts": rates["power_watts"],
        "tokens_per_s": rates["tokens_per_s"],
        "joules_per_token": rates["joules_per_token"],
        "joules_per_output_token": rates["joules_per_output_token"],
        "cached_prompt_tokens": _count(total.cached_prompt_tokens),
        "joules_per_computed_token": rates["joules_per_computed_token"],
        "co2_grams_per_hour": rates["co2_grams_per_hour"],
        "co2_mg_per_token": rates["co2_mg_per_token"],
        "joules_per_token_active": active_jpt["joules_per_token"],
        "requests_finished": _count(total.requests_finished),
        "energy_wh_per_request": rates["energy_wh_per_request"],
        **per_request_split(total, active),
    }


def _count(tokens: float | None) -> int | None:
    """Token totals are counts: integers in JSON (counter increments are whole numbers)."""
    return None if tokens is None else round(tokens)


def _add(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else a + b


def _sum(totals: Sequence[Totals]) -> Totals:
    out = Totals(seconds=0.0)
    for t in totals:
        out = Totals(
            seconds=out.seconds + t.seconds,
            energy_joules=_add(out.energy_joules, t.energy_joules),
            prompt_tokens=_add(out.prompt_tokens, t.prompt_tokens),
            generation_tokens=_add(out.generation_tokens, t.generation_tokens),
            co2_grams=_add(out.co2_grams, t.co2_grams),
            token_energy_joules=_add(out.token_energy_joules, t.token_energy_joules),
            cached_prompt_tokens=_add(out.cached_prompt_tokens, t.cached_prompt_tokens),
            token_co2_grams=_add(out.token_co2_grams, t.token_co2_grams),
            requests_finished=_add(out.requests_finished, t.requests_finished),
        )
    return out


def per_request_split(total: Totals, active: Totals) -> dict[str, float | None]:
    """Wh per request split into an idle part and the marginal rest.

    Idle power is the mean power of the period's idle intervals (tokens/s at or under the
    activity threshold): what the deployment draws serving nothing. Its idle part per request is
    idle power x the whole period / finished requests; the marginal part is the rest of the
    energy per request. None without finished requests or without idle intervals to measure.
    """
    empty: dict[str, float | None] = dict.fromkeys(
        ("idle_power_watts", "idle_wh_per_request", "marginal_wh_per_request")
    )
    requests, energy = total.requests_finished, total.energy_joules
    idle_s = total.seconds - active.seconds
    if not requests or energy is None or active.energy_joules is None or idle_s < MIN_IDLE_S:
        return empty
    idle_watts = max(energy - active.energy_joules, 0.0) / idle_s
    idle_joules = min(idle_watts * total.seconds, energy)
    return {
        "idle_power_watts": idle_watts,
        "idle_wh_per_request": idle_joules / requests / SECONDS_PER_HOUR,
        "marginal_wh_per_request": (energy - idle_joules) / requests / SECONDS_PER_HOUR,
    }


def report_rows(
    deployments: Sequence[DeploymentInfo],
    totals: Sequence[dict[str, Any]],
    *,
    min_tokens_per_s: float,
) -> dict[str, Any]:
    """`{"deployments": [...], "fleet": {...}}`: totals per deployment and for the fleet.

    Fleet rates treat the deployments as running side by side: the fleet's seconds are the
    period covered (the longest deployment coverage), so fleet power is the sum of powers.
    """
    by_id = {d.deployment_id: d for d in deployments}
    rows: list[dict[str, Any]] = []
    whole: list[Totals] = []
    active: list[Totals] = []
    for t in sorted(totals, key=lambda x: x["deployment_id"]):
        info = by_id.get(t["deployment_id"])
        if info is None:
            continue
        total, act = row_totals(t), row_totals(t, active=True)
        row = identity(info)
        row.update(_period_fields(total, act, min_tokens_per_s))
        row.update(
            {
                "energy_source": t["energy_source"],
                "covered_s": t["covered_s"],
                "first_interval_end": iso(t["first_ts_end_s"]),
                "last_interval_end": iso(t["last_ts_end_s"]),
            }
        )
        rows.append(row)
        whole.append(total)
        active.append(act)
    # the fleet's seconds: the period covered (deployments run side by side, powers add up)
    span = max((t.seconds for t in whole), default=0.0)
    fleet = _period_fields(replace(_sum(whole), seconds=span), _sum(active), min_tokens_per_s)
    fleet.update(_fleet_split(rows))
    fleet["deployment_count"] = len(rows)
    fleet["gpu_count"] = sum(by_id[r["deployment"]].gpu_count for r in rows)
    return {"deployments": rows, "fleet": fleet}  # app.lengths adds "request_lengths"


def _fleet_split(rows: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """The fleet's Wh per request over the deployments that count requests (a GPU-only one adds
    energy but no requests), and its idle and marginal parts, request-weighted (None when a
    deployment with requests has no idle estimate)."""
    served = [r for r in rows if r.get("requests_finished") and r["energy_kwh"] is not None]
    out: dict[str, float | None] = dict.fromkeys(
        ("energy_wh_per_request", "idle_power_watts", "idle_wh_per_request",
         "marginal_wh_per_request")
    )  # fmt: skip
    if not served:
        return out
    wh = sum(r["energy_kwh"] for r in served) * 1000.0
    out["energy_wh_per_request"] = wh / sum(r["requests_finished"] for r in served)
    if any(r["idle_wh_per_request"] is None for r in served):
        return out
    requests = sum(r["requests_finished"] for r in served)
    out["idle_power_watts"] = sum(r["idle_power_watts"] for r in served)
    for key in ("idle_wh_per_request", "marginal_wh_per_request"):
        out[key] = sum(r[key] * r["requests_finished"] for r in served) / requests
    return out


__all__ = ["report_rows", "snapshot_rows"]
