"""Time-series answers, all from the store's bucketed series (never from Prometheus).

- `legacy_timeseries`: the old fleet chart (`/api/v1/carbon/timeseries`).
- `legacy_key_series`: the old per-(namespace, container) series, summed over matching
  deployments.
- `deployment_series`: any derived metric for one deployment (v2).
- `cumulative_co2`: fleet CO2 summed over time, with everyday reference frames (v2).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from wattlens.catalog.constants import constant
from wattlens.config import Config
from wattlens.core.durations import iso
from wattlens.core.errors import NotFoundError
from wattlens.core.units import GRAMS_PER_KG, co2_grams_per_hour
from wattlens.store import StoreReader
from wattlens.web.params import METRIC_UNITS, TimeRange


def _num(v: float, sig: int = 7) -> float | None:
    """Finite values to `sig` significant digits (keeps JSON short), NaN -> None."""
    return None if not math.isfinite(v) else float(f"{v:.{sig}g}")


def _by_bucket(res: dict[str, np.ndarray]) -> dict[float, float]:
    return dict(zip(res["ts_end_s"].tolist(), res["value"].tolist(), strict=True))


def legacy_timeseries(
    store: StoreReader, config: Config, rng: TimeRange, now_s: float
) -> dict[str, Any]:
    """Fleet power, CO2 g/h and mg/token per step bucket (old field names, unix-second `t`)."""
    thr = config.thresholds.min_tokens_per_s_for_ratio
    metrics = ("power_watts", "co2_grams_per_hour", "co2_mg_per_token")
    res = store.series_many(  # one small query over the coarsest tier that fits the step
        metrics, None, now_s - rng.seconds, now_s, rng.step_s, min_tokens_per_s=thr
    )
    cols = [res["ts_end_s"].tolist(), *(res[m].tolist() for m in metrics)]
    points = [
        {
            "t": int(t),
            "power_watts": _num(power),
            "co2_grams_per_hour": _num(co2h),
            "co2_mg_per_token": _num(mgpt),
        }
        for t, power, co2h, mgpt in zip(*cols, strict=True)
    ]
    return {"range": rng.label, "step": rng.step_label, "points": points, "error": None}


def legacy_key_series(
    store: StoreReader,
    config: Config,
    deployments: list[Any],
    namespace: str,
    container: str,
    metric: str,
    rng: TimeRange,
    now_s: float,
) -> dict[str, Any]:
    """Series for the deployments whose container (or workload) is `container`, summed.

    Summed like the fleet series (`Store.series` over several ids): power and g/h add up;
    mg/token is the vocabulary's ratio over the deployments with token metrics, reported only
    above the cut-off.
    """
    ids = [
        d.info.deployment_id
        for d in deployments
        if d.info.namespace == namespace and container in (d.info.container, d.info.workload)
    ]
    if not ids:
        raise NotFoundError(
            f"no deployment in namespace {namespace!r} has container or workload "
            f"{container!r}; list them at /api/v2/deployments"
        )
    res = store.series(
        metric,
        ids,
        now_s - rng.seconds,
        now_s,
        rng.step_s,
        min_tokens_per_s=config.thresholds.min_tokens_per_s_for_ratio,
    )
    # no ratio at low traffic: the old ring buffer skipped those buckets too
    series = [
        [int(t), _num(v)]
        for t, v in _by_bucket(res).items()
        if math.isfinite(v) or metric != "co2_mg_per_token"
    ]
    return {
        "namespace": namespace,
        "container": container,
        "metric": metric,
        "range": rng.label,
        "series": series,
    }


def deployment_series(
    store: StoreReader,
    config: Config,
    deployment_id: str,
    metric: str,
    rng: TimeRange,
    now_s: float,
) -> dict[str, Any]:
    """One derived metric of one deployment, bucketed on the range's step."""
    res = store.series(
        metric,
        deployment_id,
        now_s - rng.seconds,
        now_s,
        rng.step_s,
        min_tokens_per_s=config.thresholds.min_tokens_per_s_for_ratio,
    )
    points = [
        {"time": iso(t), "value": _num(v)}
        for t, v in zip(res["ts_end_s"].tolist(), res["value"].tolist(), strict=True)
    ]
    return {
        "deployment": deployment_id,
        "metric": metric,
        "unit": METRIC_UNITS[metric],
        "range": rng.label,
        "step_s": rng.step_s,
        "start": iso(now_s - rng.seconds),
        "end": iso(now_s),
        "points": points,
    }


def _frame(name: str, label: str, unit: str, value: float | None) -> dict[str, Any]:
    c = constant(name)
    return {
        "id": name,
        "label": label,
        "unit": unit,
        "value": value,
        "constant": {"value": c.value, "unit": c.unit, "source": c.source, "year": c.year},
    }


def reference_frames(total_grams: float, intensity_kg_per_kwh: float | None) -> list[dict]:
    """Everyday equivalents of `total_grams` CO2 (carbon.md s6), each with its cited constant."""
    car = constant("car_co2_grams_per_mile").value
    phone = constant("phone_charge_co2_grams").value
    fridge_w = constant("fridge_power_watts").value
    tree = constant("tree_co2_kg_per_month").value * GRAMS_PER_KG
    fridge_min = None
    if intensity_kg_per_kwh:
        # a fridge on the same grid: minutes = grams / (its g/h) x 60
        fridge_min = total_grams / float(co2_grams_per_hour(fridge_w, intensity_kg_per_kwh)) * 60
    return [
        _frame(
            "car_co2_grams_per_mile", "miles driven by a gasoline car", "miles", total_grams / car
        ),
        _frame("phone_charge_co2_grams", "smartphone charges", "charges", total_grams / phone),
        _frame(
            "fridge_power_watts",
            "minutes of a household fridge on the same grid",
            "minutes",
            fridge_min,
        ),
        _frame(
            "tree_co2_kg_per_month",
            "months of one tree's CO2 uptake",
            "tree-months",
            total_grams / tree,
        ),
    ]


def cumulative_co2(store: StoreReader, rng: TimeRange, now_s: float) -> dict[str, Any]:
    """Fleet CO2 accumulated over the range (sum of stored grams per step), plus frames."""
    start = now_s - rng.seconds
    res = store.series("co2_grams", None, start, now_s, rng.step_s)
    grams = np.nan_to_num(res["value"].astype(np.float64), nan=0.0)
    cum = np.cumsum(grams)
    total = float(cum[-1]) if cum.size else 0.0
    aggs = store.latest(rng.seconds, now_s)
    energy = sum(a.energy_joules or 0.0 for a in aggs.values())
    ci = (
        sum((a.energy_joules or 0.0) * a.carbon_intensity_kg_per_kwh for a in aggs.values())
        / energy
        if energy > 0
        else None
    )
    return {
        "range": rng.label,
        "step_s": rng.step_s,
        "start": iso(start),
        "end": iso(now_s),
        "t": [int(t) for t in res["ts_end_s"].tolist()],
        "co2_grams_cumulative": [round(float(v), 3) for v in cum.tolist()],
        "total_co2_grams": total,
        "mean_grid_intensity_kg_per_kwh": ci,  # energy-weighted over the range
        "reference_frames": reference_frames(total, ci),
    }


__all__ = [
    "cumulative_co2",
    "deployment_series",
    "legacy_key_series",
    "legacy_timeseries",
    "reference_frames",
]
