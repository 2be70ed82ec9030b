"""The old NRP dashboard's `/api/v1/carbon` body: same field names and rounding.

One entry per deployment (the old code merged deployments sharing a namespace and container;
here `container` is reported per deployment). Rounding follows the Go code: W and tokens/s to
0.1, g/h to 0.1, mg/token to 0.001, and `co2_mg_per_token*` left out when zero or unknown
(Go `omitempty`). The 24 h and 7 d figures are active-only, token-weighted averages.
"""

from __future__ import annotations

from typing import Any

from wattlens.core.durations import iso
from wattlens.core.units import MG_PER_GRAM
from wattlens.web.snapshot import Snapshot, active_co2_grams
from wattlens.web.views import intensity_of


def _r(value: float | None, digits: int) -> float:
    return 0.0 if value is None else round(float(value), digits)


def _avg_mg_per_token(t: dict[str, Any] | None) -> float | None:
    """Token-weighted mean mg/token over active rows: active CO2 / active tokens."""
    if t is None:
        return None
    tokens = (t.get("active_prompt_tokens") or 0.0) + (t.get("active_generation_tokens") or 0.0)
    co2 = active_co2_grams(t)
    if co2 is None or tokens <= 0:
        return None
    return co2 * MG_PER_GRAM / tokens


def model_metrics(dep: Any, snap: Snapshot, config: Any, updated_at: str | None) -> dict[str, Any]:
    """One ModelMetrics object as the old Go struct serialised it."""
    info = dep.info
    live = snap.live.get(info.deployment_id) or {}
    out: dict[str, Any] = {
        "model_name": info.model_name or "",
        "namespace": info.namespace,
        "container": info.container or "",
        "gpu_hardware": info.gpu_hardware or "",
        "node": info.node or "",
        "gpu_count": info.gpu_count,
        "power_watts": _r(live.get("power_watts"), 1),
        "prompt_tokens_per_sec": _r(live.get("prompt_tokens_per_sec"), 1),
        "generation_tokens_per_sec": _r(live.get("generation_tokens_per_sec"), 1),
        "tokens_per_sec": _r(live.get("tokens_per_sec"), 1),
        "carbon_intensity_kg_per_kwh": _r(intensity_of(info, snap, config), 4),
        "co2_grams_per_hour": _r(live.get("co2_grams_per_hour"), 1),
    }
    for key, value in (
        ("co2_mg_per_token", live.get("co2_mg_per_token")),
        ("co2_mg_per_token_avg_24h", _avg_mg_per_token(snap.day_totals.get(info.deployment_id))),
        ("co2_mg_per_token_avg_7d", _avg_mg_per_token(snap.week_totals.get(info.deployment_id))),
    ):
        rounded = _r(value, 3)
        if rounded != 0.0:
            out[key] = rounded
    out["updated_at"] = live.get("updated_at") or updated_at
    return out


def carbon_body(snap: Snapshot, config: Any) -> dict[str, Any]:
    """`{"models": [...], "updated_at": ...}`; updated_at is the newest stored interval's end."""
    updated_at = iso(snap.last_data_s if snap.last_data_s is not None else snap.now_s)
    return {
        "models": [model_metrics(d, snap, config, updated_at) for d in snap.deployments],
        "updated_at": updated_at,
    }


__all__ = ["carbon_body", "model_metrics"]
