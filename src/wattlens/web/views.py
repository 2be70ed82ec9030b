"""The v2 JSON views: deployments (live, 24 h active-only, activity), fleet tiles, freshness.

Every number comes from a `Snapshot` (store reads) through `app.views.snapshot_rows` and the
store's totals; nothing here re-derives a rate from raw telemetry.
"""

from __future__ import annotations

import math
from typing import Any

from wattlens.catalog.constants import constant
from wattlens.catalog.frontier import default_frontier
from wattlens.catalog.grid import get_region
from wattlens.config import Config
from wattlens.core.durations import iso
from wattlens.core.errors import CatalogError, NotFoundError
from wattlens.core.metrics import WINDOW_METRICS
from wattlens.core.records import identity
from wattlens.core.units import SECONDS_PER_HOUR
from wattlens.web.snapshot import Freshness, Snapshot

HOURS_PER_DAY = 24.0

_LIVE_KEYS = (
    *WINDOW_METRICS,
    "carbon_intensity_kg_per_kwh",
    "pue",
    "energy_source",
    "window_s",
    "sample_count",
)
_ACTIVITY_KEYS = (
    "requests_running",
    "requests_waiting",
    "kv_cache_usage_percent",
    "gpu_util_percent",
    "decode_tokens_per_s",
)


def clean(value: Any) -> Any:
    """NaN and infinities -> None, so JSON stays standard."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def catalog_intensity(info: Any, config: Config) -> float | None:
    """The configured override, else the grid table's intensity for the deployment's region."""
    override = config.carbon.intensity_override_kg_per_kwh
    if override is not None:
        return float(override)
    if not info.grid_region:
        return None
    try:
        return get_region(info.grid_region, config.carbon.grid_vintage).intensity_kg_per_kwh
    except CatalogError:
        return None


def intensity_of(info: Any, snap: Snapshot, config: Config) -> float | None:
    """Grid intensity in use: live window, else the last 24 h, else the grid table."""
    live = snap.live.get(info.deployment_id) or {}
    if live.get("carbon_intensity_kg_per_kwh") is not None:
        return float(live["carbon_intensity_kg_per_kwh"])
    day = snap.day.get(info.deployment_id)
    if day is not None:
        return float(day.carbon_intensity_kg_per_kwh)
    return catalog_intensity(info, config)


def is_active(live: dict[str, Any], config: Config) -> bool:
    """Active: live total tokens/s above the activity threshold (the old dashboard's 0.1)."""
    tps = live.get("tokens_per_s")
    return tps is not None and tps > config.thresholds.active_tokens_per_s


_NO_ACTIVITY: dict[str, Any] = {**dict.fromkeys(WINDOW_METRICS), "active_s": 0.0}


def _per_hour(rate_per_s: float | None) -> float | None:
    return None if rate_per_s is None else rate_per_s * SECONDS_PER_HOUR


def frontier_ratio(avg: dict[str, Any], config: Config) -> float | None:
    """Frontier-estimate power for the same token rates / measured power (active-only means),
    under the catalog's default spec, resolved as `analyze` resolves it."""
    power = avg.get("power_watts")
    if not power or avg.get("prompt_tokens_per_s") is None:
        return None
    from wattlens.analysis.frontier import resolve_frontier  # the analysis package: on first use
    from wattlens.analysis.options import AnalysisOptions

    model = resolve_frontier(default_frontier(), AnalysisOptions.from_config(config))
    gen = avg.get("generation_tokens_per_s") or 0.0
    return model.power_watts(avg["prompt_tokens_per_s"], gen) / power


def frontier_verdict(ratio: float | None) -> str | None:
    """'less_energy' / 'more_energy' / 'about_same' for us vs the frontier (old thresholds)."""
    if ratio is None:
        return None
    if ratio >= constant("frontier_ratio_more_threshold").value:
        return "less_energy"
    if ratio <= constant("frontier_ratio_less_threshold").value:
        return "more_energy"
    return "about_same"


def deployment_view(dep: Any, snap: Snapshot, config: Config) -> dict[str, Any]:
    """One deployment: identity, live, 24 h active-only average, live activity, token share."""
    info = dep.info
    live = snap.live.get(info.deployment_id) or {}
    day_t = snap.day_totals.get(info.deployment_id)
    avg = dict(snap.day_active.get(info.deployment_id) or _NO_ACTIVITY)
    avg["decode_tokens_per_s"] = snap.day_decode_tokens_per_s.get(info.deployment_id)
    avg["frontier_power_ratio"] = frontier_ratio(avg, config)
    avg["frontier_verdict"] = frontier_verdict(avg["frontier_power_ratio"])
    avg["frontier_spec"] = default_frontier().id
    prompt = (day_t or {}).get("prompt_tokens")
    gen = (day_t or {}).get("generation_tokens")
    tokens = (prompt or 0.0) + (gen or 0.0)
    region = None
    if info.grid_region:
        try:
            region = get_region(info.grid_region, config.carbon.grid_vintage).name
        except CatalogError:
            region = None
    has_data = live.get("power_watts") is not None
    active = is_active(live, config)
    if active:
        state = "active"
    elif not has_data:
        state = "no_data"
    else:  # GPU series without engine metrics: busy or not, we cannot tell
        state = "idle" if live.get("tokens_per_s") is not None else "gpu_only"
    return {
        **identity(info, mig=True),
        "grid_region_name": region,
        "carbon_intensity_kg_per_kwh": intensity_of(info, snap, config),
        # "default": no region rule matched this node; the intensity is the default region's
        "grid_region_source": live.get("grid_region_source"),
        "first_seen": iso(dep.first_seen_s),
        "last_seen": iso(dep.last_seen_s),
        "state": state,  # active, idle, gpu_only (no engine metrics) or no_data
        "live": {
            **{k: clean(live.get(k)) for k in _LIVE_KEYS},
            "updated_at": live.get("updated_at"),
        },
        "avg_24h": {"active_only": True, **{k: clean(v) for k, v in avg.items()}},
        "activity": {
            **{k: clean(live.get(k)) for k in _ACTIVITY_KEYS},
            "requests_per_hour": _per_hour(live.get("requests_per_s")),
        },
        "tokens_24h": {
            "prompt_tokens": prompt,
            "generation_tokens": gen,
            "input_token_share_percent": 100.0 * (prompt or 0.0) / tokens if tokens else None,
        },
    }


def deployments_view(snap: Snapshot, config: Config) -> dict[str, Any]:
    """All deployments, ordered by id."""
    return {
        "generated_at": iso(snap.now_s),
        "live_window_s": config.collect.live_window_s,
        "min_tokens_per_s_for_ratio": config.thresholds.min_tokens_per_s_for_ratio,
        "active_tokens_per_s": config.thresholds.active_tokens_per_s,
        "deployments": [deployment_view(d, snap, config) for d in snap.deployments],
    }


def find_deployment(snap: Snapshot, deployment_id: str) -> Any:
    """The stored deployment with this id, else NotFoundError."""
    for d in snap.deployments:
        if d.info.deployment_id == deployment_id:
            return d
    raise NotFoundError(
        f"deployment {deployment_id!r} is unknown; list them at /api/v2/deployments"
    )


def fleet_view(
    snap: Snapshot, config: Config, freshness: Freshness | None = None
) -> dict[str, Any]:
    """The fleet tiles over the live window: power, CO2/h and /day, active GPUs and models."""
    power = co2_h = weighted_ci = 0.0
    intensities: list[float] = []
    active_gpus = 0
    active_ids: list[str] = []
    models: set[str] = set()
    gpus = 0
    for dep in snap.deployments:
        info = dep.info
        live = snap.live.get(info.deployment_id) or {}
        gpus += info.gpu_count
        w = live.get("power_watts") or 0.0
        power += w
        co2_h += live.get("co2_grams_per_hour") or 0.0
        ci = intensity_of(info, snap, config)
        if ci is not None:
            intensities.append(ci)
            weighted_ci += w * ci
        if is_active(live, config):
            active_gpus += info.gpu_count
            active_ids.append(info.deployment_id)
            models.add(info.model_name or info.deployment_id)
    if power > 0:
        mean_ci: float | None = weighted_ci / power
    else:
        mean_ci = sum(intensities) / len(intensities) if intensities else None
    has_live = any((snap.live.get(d.info.deployment_id) or {}).get("power_watts") is not None
                   for d in snap.deployments)  # fmt: skip
    if not snap.deployments:
        state = "no_deployments"
    elif freshness is not None and not freshness.live:
        state = "stored_only"  # no collector: history only, never "idle"
    elif not has_live and freshness is not None and freshness.last_success_s is None:
        state = "warming_up"  # collecting, but no live interval has landed yet
    elif not has_live:
        state = "no_live_data"
    elif not active_ids:
        state = "all_idle"
    else:
        state = "ok"
    return {
        "generated_at": iso(snap.now_s),
        "state": state,
        "deployment_count": len(snap.deployments),
        "gpu_count": gpus,
        "total_power_watts": power,
        "co2_grams_per_hour": co2_h,
        "co2_grams_per_day": co2_h * HOURS_PER_DAY,  # the live rate projected over a day
        "active_gpus": active_gpus,
        "active_models": len(models),
        "active_deployments": len(active_ids),
        "mean_grid_intensity_kg_per_kwh": mean_ci,  # power-weighted (plain mean when idle)
        "pue": config.carbon.pue,
        "live_window_s": config.collect.live_window_s,
    }


def freshness_view(f: Freshness) -> dict[str, Any]:
    """Backend state and data age, as /readyz and the dashboard's banner read them."""
    return {
        # stored-only serving has nothing to wait for: ready once it has history; a collector
        # is ready after its first good live cycle (during the start-up backfill the newest
        # row may be recent, yet the figures are minutes old)
        "ready": (f.last_success_s is not None and not f.stale)
        if f.live
        else f.last_good_s is not None,
        "collection": {
            "mode": "live" if f.live else "stored_only",
            "failures": [
                {"target": x.get("target"), "cause": x.get("cause"), "since": iso(x.get("since_s"))}
                for x in f.failures
            ],  # fmt: skip
        },
        "backend": {
            "state": f.backend_state,
            "source": f.source,
            "last_error": f.last_error,
            "last_error_at": iso(f.last_error_s),
        },
        "data": {
            "stale": f.stale,
            "last_good_sample_at": iso(f.last_good_s),
            "age_s": f.age_s,
            "stale_after_s": f.stale_after_s,
        },
        "checked_at": iso(f.now_s),
    }


__all__ = [
    "catalog_intensity",
    "clean",
    "deployment_view",
    "deployments_view",
    "find_deployment",
    "fleet_view",
    "freshness_view",
    "frontier_ratio",
    "frontier_verdict",
    "intensity_of",
    "is_active",
]
