"""A Grafana dashboard over the recorded series of `integrations.rules`.

Panels: fleet power and CO2, power, tokens/s, J/token and mg CO2/token per deployment, idle
share, grid intensity per region, and the nodes no grid rule matched (shown, not hidden).
Follows Grafana's dashboard JSON model (schemaVersion 39); the data source is a variable so the
same file works over Prometheus, Thanos, Mimir or VictoriaMetrics.
"""

from __future__ import annotations

from typing import Any

from wattlens.core.metrics import BY_NAME
from wattlens.integrations.rules import IDLE_POWER, INTENSITY, NODE_REGION, PREFIX

SCHEMA_VERSION = 39
UID = "wattlens-fleet"
_DS = {"type": "prometheus", "uid": "${datasource}"}
_SEL = '{deployment=~"$deployment"}'
# Grafana units (grafana/packages/grafana-data valueFormats): watt, percentunit; else a suffix.
_UNITS = {"W": "watt", "tokens/s": "suffix: tok/s", "J/token": "suffix: J/tok",
          "g/h": "suffix: g/h", "mg/token": "suffix: mg/tok"}  # fmt: skip


def _panel(
    pid: int,
    title: str,
    targets: list[tuple[str, str]],
    *,
    unit: str,
    kind: str,
    x: int,
    y: int,
    w: int = 12,
    h: int = 8,
    description: str = "",
) -> dict[str, Any]:
    return {
        "id": pid,
        "type": kind,
        "title": title,
        "description": description,
        "datasource": _DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": _DS, "expr": expr, "legendFormat": legend}
            for i, (expr, legend) in enumerate(targets)
        ],
    }


def _per_deployment(pid: int, metric: str, x: int, y: int) -> dict[str, Any]:
    m = BY_NAME[metric]
    note = " Shown only above the ratio cut-off tokens/s." if m.per_token else ""
    return _panel(pid, f"{metric} per deployment", [(f"{PREFIX}{metric}{_SEL}", "{{deployment}}")],
                  unit=_UNITS.get(m.unit, m.unit), kind="timeseries", x=x, y=y,
                  description=f"{m.formula} ({m.unit}).{note}")  # fmt: skip


def panels() -> list[dict[str, Any]]:
    """The dashboard's panels, laid out on Grafana's 24-column grid."""
    fleet_power = f"sum({PREFIX}power_watts)"
    idle_share = f"sum({IDLE_POWER}) / sum({PREFIX}power_watts)"
    return [
        _panel(1, "Fleet power", [(fleet_power, "power")], unit="watt", kind="stat", x=0, y=0,
               w=6, h=4),
        _panel(2, "Fleet CO2", [(f"sum({PREFIX}co2_grams_per_hour)", "CO2")], unit="suffix: g/h",
               kind="stat", x=6, y=0, w=6, h=4, description="PUE and grid intensity included."),
        _panel(3, "Fleet energy over the range",
               [(f"sum(avg_over_time({PREFIX}power_watts[$__range])) * $__range_s / 3600000",
                 "energy")], unit="suffix: kWh", kind="stat", x=12, y=0, w=6, h=4),
        _panel(4, "Idle share of fleet power", [(idle_share, "idle")], unit="percentunit",
               kind="stat", x=18, y=0, w=6, h=4,
               description="Power of deployments serving no tokens over all power."),
        _panel(5, "Fleet power and CO2", [(fleet_power, "W"),
               (f"sum({PREFIX}co2_grams_per_hour)", "g CO2/h")], unit="short",
               kind="timeseries", x=0, y=4, w=24),
        _per_deployment(6, "power_watts", 0, 12),
        _per_deployment(7, "tokens_per_s", 12, 12),
        _per_deployment(8, "joules_per_token", 0, 20),
        _per_deployment(9, "co2_mg_per_token", 12, 20),
        _panel(10, "Idle share per deployment",
               [(f"sum by (deployment) ({IDLE_POWER}{_SEL}) / sum by (deployment) "
                 f"({PREFIX}power_watts{_SEL})", "{{deployment}}")],
               unit="percentunit", kind="timeseries", x=0, y=28),
        _panel(11, "Grid intensity by region", [(INTENSITY, "{{region}} ({{vintage}})")],
               unit="suffix: g/kWh", kind="bargauge", x=12, y=28),
        _panel(12, "Nodes no grid rule matched (default region)",
               [(f'{NODE_REGION}{{region_source="default"}}', "{{node}} -> {{region}}")],
               unit="none", kind="table", x=0, y=36, w=24, h=6,
               description="These nodes get the default region: add a [carbon] rule for them."),
    ]  # fmt: skip


def dashboard() -> dict[str, Any]:
    """The dashboard JSON model (import it in Grafana, or provision it from a file)."""
    return {
        "uid": UID,
        "title": "wattlens: energy and CO2 per token",
        "tags": ["wattlens", "gpu", "energy", "carbon"],
        "timezone": "utc",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "editable": True,
        "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Data source",
                },
                {
                    "name": "deployment",
                    "type": "query",
                    "datasource": _DS,
                    "query": f"label_values({PREFIX}power_watts, deployment)",
                    "includeAll": True,
                    "multi": True,
                    "refresh": 2,
                    "current": {"text": "All", "value": "$__all"},
                },
            ]
        },  # fmt: skip
        "annotations": {"list": []},
        "panels": panels(),
    }


__all__ = ["SCHEMA_VERSION", "UID", "dashboard", "panels"]
