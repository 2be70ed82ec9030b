"""JSON views over the store: the live snapshot per deployment and period reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wattlens.core.durations import iso
from wattlens.core.metrics import co2_kg, derive_rates, energy_kwh
from wattlens.core.records import identity


def snapshot_rows(
    deployments: Sequence[Any], aggregates: dict[str, Any], *, min_tokens_per_sec: float
) -> list[dict[str, Any]]:
    """One row per deployment with live rates over the aggregate window (None when no data)."""
    rows = []
    for info in sorted(deployments, key=lambda d: d.deployment_id):
        agg = aggregates.get(info.deployment_id)
        row = identity(info)
        if agg is None:
            row.update({"power_watts": None, "energy_source": "none", "window_s": 0.0})
            rows.append(row)
            continue
        row.update(
            derive_rates(
                seconds=agg.interval_s,
                energy_joules=agg.energy_joules,
                prompt_tokens=agg.prompt_tokens,
                generation_tokens=agg.generation_tokens,
                itl_seconds_sum=agg.itl_seconds_sum,
                requests_finished=agg.requests_finished,
                carbon_intensity_kg_per_kwh=agg.carbon_intensity_kg_per_kwh,
                pue=agg.pue,
                min_tokens_per_sec_for_ratio=min_tokens_per_sec,
            )
        )
        row.update(
            {
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


def report_rows(
    deployments: Sequence[Any], totals: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Totals per deployment over a period, plus a fleet row (`deployment` = "fleet")."""
    by_id = {d.deployment_id: d for d in deployments}
    rows = []
    fleet = {"energy_joules": 0.0, "prompt": 0.0, "gen": 0.0, "co2": 0.0, "ae": 0.0, "at": 0.0}
    for t in sorted(totals, key=lambda x: x["deployment_id"]):
        info = by_id.get(t["deployment_id"])
        if info is None:
            continue
        a_tok = (t.get("active_prompt_tokens") or 0.0) + (t.get("active_generation_tokens") or 0.0)
        a_e = t.get("active_energy_joules")
        row = identity(info)
        row.update(
            {
                "energy_kwh": energy_kwh(t["energy_joules"]),
                "prompt_tokens": t["prompt_tokens"],
                "generation_tokens": t["generation_tokens"],
                "co2_kg": co2_kg(t["co2_grams"]),
                "joules_per_token_active": (a_e / a_tok) if (a_e and a_tok > 0) else None,
                "energy_source": t["energy_source"],
                "covered_s": t["covered_s"],
                "first_interval_end": iso(t["first_ts_end_s"]),
                "last_interval_end": iso(t["last_ts_end_s"]),
            }
        )
        rows.append(row)
        fleet["energy_joules"] += t["energy_joules"] or 0.0
        fleet["prompt"] += t["prompt_tokens"] or 0.0
        fleet["gen"] += t["generation_tokens"] or 0.0
        fleet["co2"] += t["co2_grams"] or 0.0
        fleet["ae"] += a_e or 0.0
        fleet["at"] += a_tok
    rows.append(
        {
            "deployment": "fleet",
            "energy_kwh": energy_kwh(fleet["energy_joules"]),
            "prompt_tokens": fleet["prompt"],
            "generation_tokens": fleet["gen"],
            "co2_kg": co2_kg(fleet["co2"]),
            "joules_per_token_active": fleet["ae"] / fleet["at"] if fleet["at"] > 0 else None,
            "gpu_count": sum(
                by_id[t["deployment_id"]].gpu_count for t in totals if t["deployment_id"] in by_id
            ),
        }
    )
    return rows


__all__ = ["report_rows", "snapshot_rows"]
