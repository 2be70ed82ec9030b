"""Chart data for the web "Efficiency" view: plain JSON series, drawn by the dashboard (uPlot).

- `efficiency_chart`: J/token against tok/s, the interval points (with their time, for
  colouring by time so drift shows) and the fitted curve with a 95 % band.
- `idle_bars`: productive against idle energy per deployment (a stacked bar).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from wattlens.analysis.curves import EfficiencyCurve
from wattlens.analysis.data import Series
from wattlens.analysis.options import AnalysisOptions

_Z95 = 1.959964


def efficiency_chart(
    s: Series, curve: EfficiencyCurve, options: AnalysisOptions, grid_points: int = 80
) -> dict[str, Any]:
    """Points (tok/s, W, J/token, time) above the ratio threshold and the fitted J/token curve."""
    x, p = s.tokens_per_s, s.power_watts
    ok = np.isfinite(x) & np.isfinite(p) & (x > options.min_tokens_per_s_for_ratio)
    idx = np.flatnonzero(ok)
    if idx.size > options.chart_points:  # evenly spaced in time keeps the drift visible
        idx = idx[np.linspace(0, idx.size - 1, options.chart_points).astype(np.int64)]
    points = {
        "tokens_per_s": x[idx],
        "power_watts": p[idx],
        "joules_per_token": p[idx] / x[idx],
        "ts_end_s": s.ts_end_s[idx],
    }
    fitted: dict[str, Any] | None = None
    if curve.model != "none" and idx.size:
        lo = max(float(x[idx].min()), options.min_tokens_per_s_for_ratio)
        hi = float(x[idx].max())
        if curve.knee_tokens_per_s:
            hi = max(hi, min(curve.knee_tokens_per_s, 4 * hi))
        grid = np.geomspace(lo, max(hi, lo * 1.01), grid_points)
        pw, pse = curve.predict(grid)
        fitted = {
            "tokens_per_s": grid,
            "power_watts": pw,
            "joules_per_token": pw / grid,
            "joules_per_token_low": (pw - _Z95 * pse) / grid,
            "joules_per_token_high": (pw + _Z95 * pse) / grid,
        }
    return {
        "points": points,
        "curve": fitted,
        "knee_tokens_per_s": curve.knee_tokens_per_s,
        "best_joules_per_token": curve.best_joules_per_token,
        "current_tokens_per_s": curve.current_tokens_per_s,
        "current_joules_per_token": curve.current_joules_per_token,
        "x_label": "tokens/s (prompt + generation)",
        "y_label": "J/token",
        "colour_by": "ts_end_s",
    }


def idle_bars(rows: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Stacked-bar series: per deployment, productive and idle kWh (biggest first)."""
    order = sorted(rows, key=lambda r: -(r.get("energy_kwh") or 0.0))
    return {
        "deployments": [r["deployment_id"] for r in order],
        "productive_kwh": [r.get("productive_energy_kwh") for r in order],
        "idle_kwh": [r.get("idle_energy_kwh") for r in order],
        "zero_token_kwh": [r.get("zero_token_energy_kwh") for r in order],
        "unit": "kWh",
    }


def charts(
    series: Mapping[str, Series],
    curves: Mapping[str, EfficiencyCurve],
    result: Mapping[str, Any],
    options: AnalysisOptions,
) -> dict[str, Any]:
    """All chart data for one analysis result."""
    return {
        "efficiency": {dep: efficiency_chart(s, curves[dep], options) for dep, s in series.items()},
        "idle_bars": idle_bars(result["deployments"]),
    }


__all__ = ["charts", "efficiency_chart", "idle_bars"]
