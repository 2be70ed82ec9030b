"""Report CO2 from live hourly grid intensity (`[grid]`), with the static table as fallback.

With `grid.provider = "static"` (the default) the stored CO2 stands (energy x PUE x the table's
annual intensity, per interval) and the report only states where the intensity came from. With
a live provider each deployment's stored energy is summed per UTC hour and multiplied by that
hour's intensity (`derive.hourly_carbon`); a provider that fails or times out, a missing
credential, or a region without a configured zone falls back to the static table, and the
report says why. Credentials are read from the variables `[grid]` names and never shown.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from wattlens.config import Config
from wattlens.core.errors import ConfigError
from wattlens.core.units import SECONDS_PER_HOUR
from wattlens.derive.carbon import CarbonModel
from wattlens.derive.hourly_carbon import co2_hourly
from wattlens.store import StoreReader
from wattlens.telemetry.gridlive import (
    ElectricityMaps,
    GridProvider,
    IntensitySeries,
    LiveIntensity,
    WattTime,
    static_series,
)

log = logging.getLogger(__name__)
_PUBLIC_API = {"electricitymaps": "https://api.electricitymaps.com",
               "watttime": "https://api.watttime.org"}  # fmt: skip


@dataclass
class GridHook:
    """The configured intensity source for reports: live (cached) or the static table."""

    live: LiveIntensity
    carbon: CarbonModel
    zones: Mapping[str, str]
    unavailable: str | None = None  # why the configured provider could not be set up

    @property
    def is_live(self) -> bool:
        """A provider is configured (it may still fall back per deployment)."""
        return self.live.provider is not None or self.unavailable is not None

    def series_for(self, region: str | None, start_s: float, end_s: float) -> IntensitySeries:
        """Hourly intensity for a region over [start, end): live when a zone is mapped."""
        region = region or self.carbon.default_region
        zone = self.zones.get(region)
        if self.unavailable is not None or zone is None:
            why = self.unavailable or f"no [grid] zones entry for region {region}"
            s = static_series(region, self.live.vintage, start_s, end_s)
            return IntensitySeries(s.zone, s.points, s.source, s.kind, s.year, why)
        return self.live.series(zone, region, start_s, end_s)


def grid_hook(cfg: Config, carbon: CarbonModel, *, environ: Mapping[str, str] | None = None,
              clock: Callable[[], float] | None = None) -> GridHook:  # fmt: skip
    """The report's intensity source from `[grid]`; never raises for missing credentials (the
    report then falls back and says which variable to set)."""
    g = cfg.grid
    provider: GridProvider | None = None
    unavailable = None
    if g.provider != "static":
        try:
            creds = g.credentials(environ)
            base = g.base_url or _PUBLIC_API[g.provider]
            if g.provider == "electricitymaps":
                provider = ElectricityMaps(creds[0], base_url=base, timeout_s=g.timeout_s)
            else:
                provider = WattTime(creds[0], creds[1], base_url=base, timeout_s=g.timeout_s)
        except ConfigError as e:
            unavailable = e.message
            log.warning("grid intensity: %s; reports use the static table", e.message)
    kw = {} if clock is None else {"clock": clock}
    live = LiveIntensity(provider, vintage=carbon.vintage, ttl_s=g.cache_ttl_s, **kw)
    return GridHook(live, carbon, dict(g.zones), unavailable)


def _hourly(cols: Mapping[str, np.ndarray], mask: np.ndarray) -> dict[float, float]:
    start = cols["ts_end_s"][mask] - cols["interval_s"][mask]
    hours = np.floor(start / SECONDS_PER_HOUR) * SECONDS_PER_HOUR
    energy = np.nan_to_num(cols["energy_joules"][mask].astype(float))
    out: dict[float, float] = {}
    for h, e in zip(hours.tolist(), energy.tolist(), strict=True):
        out[h] = out.get(h, 0.0) + e
    return out


def _describe(s: IntensitySeries | None, static_source: str, year: int | None) -> dict[str, Any]:
    if s is None:
        return {"grid_intensity_source": static_source, "grid_intensity_kind": "average",
                "grid_intensity_year": year, "grid_intensity_fallback": None}  # fmt: skip
    return {"grid_intensity_source": s.source, "grid_intensity_kind": s.kind,
            "grid_intensity_year": s.year, "grid_intensity_fallback": s.fallback}  # fmt: skip


def apply_grid(store: StoreReader, body: dict[str, Any], hook: GridHook, *,
               since_s: float | None, until_s: float | None) -> dict[str, Any]:  # fmt: skip
    """`body` (a report) with per-deployment grid fields, and live hourly CO2 when configured."""
    carbon = hook.carbon
    digits = "".join(ch for ch in carbon.vintage if ch.isdigit())
    static_year = int(digits) if len(digits) == 4 else None
    static = "override" if carbon.intensity_override_kg_per_kwh is not None else None
    static = static or f"{carbon.vintage} (static)"
    infos = {d.info.deployment_id: d.info for d in store.deployments()}
    fleet_co2 = fleet_token_co2 = 0.0
    fleet_tokens = 0.0
    described: list[dict[str, Any]] = []
    for row in body["deployments"]:
        info = infos[row["deployment"]]
        region, _ = carbon.lookup(info.node, info.namespace)
        row["grid_region"] = region
        if not hook.is_live or region is None:  # static table, or a fixed override intensity
            row.update(_describe(None, static, static_year))
            described.append(row)
            continue
        cols = store.intervals(info.deployment_id, since_s, until_s)
        if len(cols["ts_end_s"]) == 0:
            row.update(_describe(None, static, static_year))
            described.append(row)
            continue
        has_tokens = ~(np.isnan(cols["prompt_tokens"].astype(float))
                       & np.isnan(cols["generation_tokens"].astype(float)))  # fmt: skip
        energy = _hourly(cols, np.ones(len(cols["ts_end_s"]), dtype=bool))
        start_s = min(energy)
        end_s = max(energy) + SECONDS_PER_HOUR
        series = hook.series_for(region, start_s, end_s)
        hourly = series.hourly()
        co2 = co2_hourly(energy, hourly, pue=carbon.pue)
        token_co2 = co2_hourly(_hourly(cols, has_tokens), hourly, pue=carbon.pue).co2_grams \
            if has_tokens.any() else None  # fmt: skip
        tokens = (row.get("prompt_tokens") or 0) + (row.get("generation_tokens") or 0)
        row["co2_kg"] = co2.co2_grams / 1000.0
        if row.get("covered_s"):
            row["co2_grams_per_hour"] = co2.co2_grams / row["covered_s"] * SECONDS_PER_HOUR
        if row.get("co2_mg_per_token") is not None and token_co2 is not None and tokens > 0:
            row["co2_mg_per_token"] = token_co2 * 1000.0 / tokens
        row["grid_zone"] = hook.zones.get(region)
        row["grid_intensity_hours"] = co2.hours
        row["grid_intensity_hours_filled"] = co2.hours_without_intensity
        row["grid_intensity_effective_g_per_kwh"] = co2.effective_grams_per_kwh
        row.update(_describe(series, static, static_year))
        if series.fallback:
            log.warning("grid intensity for %s: %s; used %s", region, series.fallback,
                        series.source)  # fmt: skip
        fleet_co2 += co2.co2_grams
        fleet_token_co2 += token_co2 or 0.0
        fleet_tokens += tokens if token_co2 is not None else 0.0
        described.append(row)
    fleet = body["fleet"]
    if hook.is_live and any("grid_zone" in r for r in described):
        untouched = sum((r["co2_kg"] or 0.0) * 1000.0 for r in described if "grid_zone" not in r)
        fleet["co2_kg"] = (fleet_co2 + untouched) / 1000.0
        span = max((r.get("covered_s") or 0.0 for r in described), default=0.0)
        if span > 0:
            fleet["co2_grams_per_hour"] = fleet["co2_kg"] * 1000.0 / span * SECONDS_PER_HOUR
        if fleet.get("co2_mg_per_token") is not None and fleet_tokens > 0 and not untouched:
            fleet["co2_mg_per_token"] = fleet_token_co2 * 1000.0 / fleet_tokens
    fleet.update(_fleet_sources(described, since_s, until_s))
    return body


def _fleet_sources(rows: list[dict[str, Any]], since_s: float | None,
                   until_s: float | None) -> dict[str, Any]:  # fmt: skip
    def joined(key: str) -> Any:
        values = sorted({str(r[key]) for r in rows if r.get(key) is not None})
        return values[0] if len(values) == 1 else (", ".join(values) or None)

    years = sorted({r["grid_intensity_year"] for r in rows if r.get("grid_intensity_year")})
    fallbacks = sorted({r["grid_intensity_fallback"] for r in rows
                        if r.get("grid_intensity_fallback")})  # fmt: skip
    return {
        "grid_intensity_source": joined("grid_intensity_source"),
        "grid_intensity_kind": joined("grid_intensity_kind"),
        "grid_intensity_year": years[-1] if len(years) == 1 else (years or None),
        "grid_intensity_fallback": "; ".join(fallbacks) or None,
        "grid_intensity_period": {
            "since": None if since_s is None or not math.isfinite(since_s) else since_s,
            "until": until_s,
        },
    }


__all__ = ["GridHook", "apply_grid", "grid_hook"]
