"""The old NRP dashboard's `/api/v1/carbon` body: same field names and rounding.

One entry per deployment (the old code merged deployments sharing a namespace and container;
here `container` is reported per deployment). Rounding follows the Go code: W and tokens/s to
0.1, g/h to 0.1, mg/token to 0.001, and `co2_mg_per_token*` left out when zero or unknown
(Go `omitempty`). The 24 h and 7 d figures are active-only, token-weighted averages.
"""

from __future__ import annotations

from typing import Any

from wattlens.config import Config
from wattlens.core.durations import iso
from wattlens.core.metrics import LEGACY_NAMES
from wattlens.web.snapshot import Snapshot
from wattlens.web.views import intensity_of


def _r(value: float | None, digits: int) -> float:
    return 0.0 if value is None else round(float(value), digits)


_LEGACY_RATES = ("prompt_tokens_per_s", "generation_tokens_per_s", "tokens_per_s")


def _active_mg_per_token(active: dict[str, dict[str, Any]], info: Any) -> float | None:
    """Token-weighted mean mg/token over active rows: active CO2 / active tokens."""
    return (active.get(info.deployment_id) or {}).get("co2_mg_per_token")


def model_metrics(
    dep: Any, snap: Snapshot, config: Config, updated_at: str | None
) -> dict[str, Any]:
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
        **{LEGACY_NAMES[k]: _r(live.get(k), 1) for k in _LEGACY_RATES},
        "carbon_intensity_kg_per_kwh": _r(intensity_of(info, snap, config), 4),
        "co2_grams_per_hour": _r(live.get("co2_grams_per_hour"), 1),
    }
    for key, value in (
        ("co2_mg_per_token", live.get("co2_mg_per_token")),
        ("co2_mg_per_token_avg_24h", _active_mg_per_token(snap.day_active, info)),
        ("co2_mg_per_token_avg_7d", _active_mg_per_token(snap.week_active, info)),
    ):
        rounded = _r(value, 3)
        if rounded != 0.0:
            out[key] = rounded
    out["updated_at"] = live.get("updated_at") or updated_at
    return out


def carbon_body(snap: Snapshot, config: Config) -> dict[str, Any]:
    """`{"models": [...], "updated_at": ...}`; updated_at is the newest stored interval's end."""
    updated_at = iso(snap.last_data_s if snap.last_data_s is not None else snap.now_s)
    return {
        "models": [model_metrics(d, snap, config, updated_at) for d in snap.deployments],
        "updated_at": updated_at,
    }


__all__ = ["carbon_body", "model_metrics"]
