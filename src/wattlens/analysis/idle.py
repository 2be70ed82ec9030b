"""Idle power: learned per GPU type from the fleet, and each deployment's idle overhead.

Learning, per GPU type, in order:
1. `zero_traffic`: intervals of engine-reporting deployments with zero prompt and generation
   tokens and no request running; per-GPU power = energy / interval_s / gpu_count; the median
   (robust to restarts and warm-up) once there are enough samples.
2. `curve_intercept`: the efficiency curves' fitted idle floor P_idle / gpu_count, pooled by
   inverse variance, from deployments observed near their floor (lowest load within 25 % of
   P_idle) and with a precise intercept (relative standard error under 5 %).
3. the catalog's `idle_watts` (source "catalog").
Deployments without engine metrics (tokens unknown) never count as zero traffic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from wattlens.analysis.curves import EfficiencyCurve
from wattlens.analysis.data import Series
from wattlens.analysis.options import AnalysisOptions
from wattlens.catalog import get_gpu
from wattlens.core.errors import CatalogError

IdleSource = Literal["learned", "catalog"]
IdleMethod = Literal["zero_traffic", "curve_intercept", "catalog"]


@dataclass(frozen=True, slots=True)
class IdlePower:
    """Idle watts per GPU for one GPU type and what they rest on."""

    gpu_type: str
    value_watts: float
    source: IdleSource
    method: IdleMethod
    sample_count: int  # intervals behind the value (0 for the catalog)
    deployments: tuple[str, ...]  # deployments the samples came from
    uncertainty_watts: float | None  # half the IQR (zero traffic) or the pooled standard error
    catalog_watts: float | None

    def as_dict(self) -> dict[str, Any]:
        """JSON form: value, source, sample_count, plus method and provenance."""
        d = asdict(self)
        d["value"] = d.pop("value_watts")
        d["deployments"] = list(self.deployments)
        return d


def zero_traffic_mask(s: Series, options: AnalysisOptions) -> np.ndarray:
    """Intervals with known zero tokens, nothing running and a measured energy."""
    tokens = s.tokens
    running_ok = ~np.isfinite(s.requests_running) | (s.requests_running <= options.zero_running_max)
    return (
        np.isfinite(tokens)
        & (tokens <= 0)
        & running_ok
        & np.isfinite(s.energy_joules)
        & (s.interval_s > 0)
        & (s.gpu_count > 0)
    )


def _catalog_idle(gpu_type: str) -> float | None:
    try:
        return float(get_gpu(gpu_type).idle_watts)
    except CatalogError:
        return None


def _near_floor(curve: EfficiencyCurve, options: AnalysisOptions) -> bool:
    a, se = curve.p_idle_watts, curve.p_idle_se_watts
    if curve.model == "none" or a is None or se is None or a <= 0:
        return False
    if se / a > options.intercept_max_rel_se:
        return False
    p_lo = float(curve.predict(curve.observed_min_tokens_per_s or 0.0)[0])
    return (p_lo - a) / a <= options.intercept_max_rise_fraction


def learn_idle_power(
    series: Mapping[str, Series],
    gpu_types: Mapping[str, str | None],
    curves: Mapping[str, EfficiencyCurve],
    options: AnalysisOptions,
) -> dict[str, IdlePower]:
    """Idle W per GPU for every GPU type in `gpu_types` (deployment id -> catalog GPU id)."""
    samples: dict[str, list[np.ndarray]] = {}
    sources: dict[str, list[str]] = {}
    for dep, s in series.items():
        gt = gpu_types.get(dep)
        if gt is None:
            continue
        m = zero_traffic_mask(s, options)
        if m.any():
            per_gpu = s.energy_joules[m] / s.interval_s[m] / s.gpu_count[m]
            samples.setdefault(gt, []).append(per_gpu)
            sources.setdefault(gt, []).append(dep)
    out: dict[str, IdlePower] = {}
    for gt in sorted({g for g in gpu_types.values() if g is not None}):
        cat = _catalog_idle(gt)
        pooled = np.concatenate(samples.get(gt, [np.zeros(0)]))
        if pooled.size >= options.min_zero_traffic_samples:
            q1, med, q3 = np.percentile(pooled, [25, 50, 75])
            out[gt] = IdlePower(gt, float(med), "learned", "zero_traffic", int(pooled.size),
                                tuple(sources[gt]), float((q3 - q1) / 2), cat)  # fmt: skip
            continue
        values, weights, deps, count = [], [], [], 0
        for dep, curve in curves.items():
            dep_series = series.get(dep)
            if gpu_types.get(dep) != gt or dep_series is None or not _near_floor(curve, options):
                continue
            n_gpu = float(np.nanmean(dep_series.gpu_count))
            se = max(float(curve.p_idle_se_watts or 0.0), 1e-6) / n_gpu
            values.append(float(curve.p_idle_watts or 0.0) / n_gpu)
            weights.append(1.0 / se**2)
            deps.append(dep)
            count += curve.sample_count
        if values:
            w = np.asarray(weights)
            value = float(np.sum(w * np.asarray(values)) / w.sum())
            out[gt] = IdlePower(gt, value, "learned", "curve_intercept", count, tuple(deps),
                                float(1.0 / math.sqrt(w.sum())), cat)  # fmt: skip
        elif cat is not None:
            out[gt] = IdlePower(gt, cat, "catalog", "catalog", 0, (), None, cat)
    return out


@dataclass(frozen=True, slots=True)
class IdleAttribution:
    """One deployment's energy and CO2 over the range, split into idle overhead and work."""

    energy_joules: float
    covered_s: float
    mean_power_watts: float | None
    idle_watts: float | None  # gpu_count x idle W per GPU
    idle_fraction: float | None  # idle energy / energy (zero-token intervals are all idle)
    idle_energy_joules: float | None
    productive_energy_joules: float | None
    co2_grams: float
    idle_co2_grams: float | None
    productive_co2_grams: float | None
    zero_token_energy_joules: float  # energy in intervals that produced no tokens
    unknown_token_energy_joules: float  # energy in intervals without engine metrics

    def as_dict(self) -> dict[str, Any]:
        """Plain dict."""
        return asdict(self)


def attribute_idle(s: Series, idle_watts_per_gpu: float | None) -> IdleAttribution:
    """Split a deployment's energy and CO2 per interval: idle = min(energy, idle W x dt), and
    all of the energy of an interval that served no tokens."""
    e_ok = np.isfinite(s.energy_joules)
    energy = s.energy_joules[e_ok]
    dt = s.interval_s[e_ok]
    total = float(energy.sum())
    covered = float(dt.sum())
    co2 = np.where(np.isfinite(s.co2_grams[e_ok]), s.co2_grams[e_ok], 0.0)
    tokens = s.tokens[e_ok]
    zero_tok = float(energy[np.isfinite(tokens) & (tokens <= 0)].sum())
    unknown_tok = float(energy[~np.isfinite(tokens)].sum())
    mean_power = total / covered if covered > 0 else None
    if idle_watts_per_gpu is None or covered <= 0:
        return IdleAttribution(total, covered, mean_power, None, None, None, None,
                               float(co2.sum()), None, None, zero_tok, unknown_tok)  # fmt: skip
    idle_w_i = idle_watts_per_gpu * s.gpu_count[e_ok]
    # An interval that served no tokens did no work: all of its energy is idle overhead, even
    # above the learned idle floor (#9: an idle deployment drawing more than its GPU type's
    # median idle was counted partly "productive").
    no_tokens = np.isfinite(tokens) & (tokens <= 0)
    idle_e = np.where(no_tokens, energy, np.minimum(energy, idle_w_i * dt))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(energy > 0, idle_e / energy, 1.0)
    idle_co2 = float(np.sum(co2 * share))
    idle_w = float(np.sum(idle_w_i * dt) / covered)
    frac = min(1.0, max(0.0, float(idle_e.sum()) / total)) if total > 0 else 1.0
    return IdleAttribution(
        energy_joules=total,
        covered_s=covered,
        mean_power_watts=mean_power,
        idle_watts=idle_w,
        idle_fraction=frac,
        idle_energy_joules=float(idle_e.sum()),
        productive_energy_joules=total - float(idle_e.sum()),
        co2_grams=float(co2.sum()),
        idle_co2_grams=idle_co2,
        productive_co2_grams=float(co2.sum()) - idle_co2,
        zero_token_energy_joules=zero_tok,
        unknown_token_energy_joules=unknown_tok,
    )


def fleet_idle_totals(rows: list[IdleAttribution]) -> dict[str, float]:
    """Fleet sums of the attribution (deployments without an idle value count as unknown)."""

    def total(name: str) -> float:
        return float(sum(getattr(r, name) or 0.0 for r in rows))

    energy = total("energy_joules")
    idle = total("idle_energy_joules")
    return {
        "energy_joules": energy,
        "idle_energy_joules": idle,
        "productive_energy_joules": total("productive_energy_joules"),
        "idle_fraction": idle / energy if energy > 0 else 0.0,
        "co2_grams": total("co2_grams"),
        "idle_co2_grams": total("idle_co2_grams"),
        "productive_co2_grams": total("productive_co2_grams"),
        "zero_token_energy_joules": total("zero_token_energy_joules"),
        "unknown_token_energy_joules": total("unknown_token_energy_joules"),
    }


__all__ = [
    "IdleAttribution",
    "IdleMethod",
    "IdlePower",
    "IdleSource",
    "attribute_idle",
    "fleet_idle_totals",
    "learn_idle_power",
    "zero_traffic_mask",
]
