"""Rich terminal rendering of an `analyze` result, so `wattlens analyze` stays a thin command."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from wattlens.analysis.curves import format_joules_per_token


def _num(v: float | None, fmt: str = "{:,.0f}") -> str:
    return "-" if v is None else fmt.format(v)


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.0f}%"


def idle_table(result: Mapping[str, Any]) -> Table:
    """Idle W per GPU type and what each value rests on."""
    t = Table(title="Idle power per GPU type")
    for col in ("GPU type", "W/GPU", "source", "method", "samples", "catalog W"):
        t.add_column(col, justify="right" if col in ("W/GPU", "samples", "catalog W") else "left")
    for gt, v in result["idle_power_per_gpu_watts"].items():
        t.add_row(gt, _num(v["value"], "{:.1f}"), v["source"], v["method"],
                  str(v["sample_count"]), _num(v["catalog_watts"], "{:.0f}"))  # fmt: skip
    return t


def deployments_table(result: Mapping[str, Any]) -> Table:
    """One line per deployment: power, throughput, J/token, idle share, verdicts."""
    t = Table(title="Deployments", caption=frontier_caption(result))
    cols = ("deployment", "model", "GPUs", "W", "tok/s", "J/token", "idle", "kWh", "idle kWh",
            "right-size", "frontier x")  # fmt: skip
    for c in cols:
        t.add_column(c, justify="left" if c in ("deployment", "model", "right-size") else "right")
    for d in result["deployments"]:
        rs = d["right_sizing"]
        verdict = "-" if rs is None else rs["status"].replace("_", " ")
        if rs and rs["flagged"]:
            verdict = f"[red]{rs['current_gpu_count']}->{rs['recommended_gpu_count']}[/red]"
        t.add_row(
            d["deployment_id"],
            _model_cell(d),
            f"{d['gpu_count']}x {d['gpu_type'] or '?'}",
            _num(d["mean_power_watts"]),
            _num(d["tokens_per_s"], "{:,.1f}"),
            format_joules_per_token(d.get("joules_per_token")),
            _pct(d["idle_fraction"]),
            _num(d["energy_kwh"], "{:,.2f}"),
            _num(d["idle_energy_kwh"], "{:,.2f}"),
            verdict,
            _num(d["frontier_ratio"], "{:.1f}x"),
        )
    return t


def frontier_caption(result: Mapping[str, Any]) -> str:
    """Which frontier spec the `frontier x` column compares against (one default everywhere)."""
    spec = (result.get("assumptions") or {}).get("frontier_spec") or "?"
    return (
        f"frontier x: power the frontier spec {spec} would draw for the same tokens, "
        "over the measured power (--frontier picks another spec)"
    )


def _model_cell(d: Mapping[str, Any]) -> str:
    """The model entry used and, unless it is the shipped catalog, where it came from (#10)."""
    m = d.get("model") or {}
    if not m.get("id"):
        return f"[yellow]unknown[/yellow] ({d['model_name'] or 'no name'})"
    source = m.get("source") or ""
    if source == "estimated_from_name":
        return f"{m['id']} [yellow](estimated from name)[/yellow]"
    if source in ("catalog", "catalog_hf_config"):
        return str(m["id"])
    return f"{m['id']} ({source})"


def unknown_models_lines(result: Mapping[str, Any]) -> list[str]:
    """One line per deployment whose model could not be resolved, with the reason."""
    return [
        f"{d['deployment_id']}: {d['right_sizing']['reason']}"
        for d in result["deployments"]
        if (d.get("right_sizing") or {}).get("status") == "unknown_model"
    ]


def curves_table(result: Mapping[str, Any]) -> Table:
    """Efficiency curves: fitted floor and ceiling, knee, best and current J/token."""
    t = Table(title="Efficiency curves (total tokens)")
    cols = ("deployment", "model", "P_idle W", "P_sat W", "knee tok/s", "best J/tok",
            "now tok/s", "now J/tok", "vs curve")  # fmt: skip
    for c in cols:
        t.add_column(c, justify="left" if c in ("deployment", "model") else "right")
    extrapolated: list[str] = []
    for d in result["deployments"]:
        c = d["efficiency_curve"]
        knee = _num(c["knee_tokens_per_s"], "{:,.0f}")
        if c["knee_extrapolated"]:
            knee += "*"
        idle = _num(c["p_idle_watts"])
        if c.get("idle_extrapolated"):
            idle += "†"
            extrapolated.append(f"† {d['deployment_id']}: {c['idle_extrapolation_reason']}")
        t.add_row(d["deployment_id"], c["model"], idle, _num(c["p_sat_watts"]),
                  knee, format_joules_per_token(c["best_joules_per_token"]),
                  _num(c["current_tokens_per_s"], "{:,.1f}"),
                  format_joules_per_token(c["current_joules_per_token"]),
                  _num(c["current_vs_curve"], "{:+.0%}"))  # fmt: skip
    t.caption = "\n".join(["* knee beyond the observed throughput (extrapolated)", *extrapolated])
    return t


def right_sizing_table(result: Mapping[str, Any]) -> Table:
    """Flagged deployments, largest saving first."""
    t = Table(title="Right-sizing (flagged, largest saving first)")
    for c in ("deployment", "GPUs", "saving W", "kWh/day", "kg CO2/yr", "reason"):
        t.add_column(c, justify="right" if c in ("saving W", "kWh/day", "kg CO2/yr") else "left")
    for r in result["right_sizing_ranked"]:
        t.add_row(r["deployment_id"], f"{r['current_gpu_count']} -> {r['recommended_gpu_count']}",
                  _num(r["saving_watts"]), _num(r["saving_kwh_per_day"], "{:.1f}"),
                  _num(r["saving_kg_co2_per_year"]), r["reason"])  # fmt: skip
    return t


def consolidation_table(result: Mapping[str, Any]) -> Table:
    """Idle and idle-dominated deployments: the recommended plan and its saving."""
    t = Table(title="Consolidation")
    for c in (
        "deployment",
        "plan",
        "saving W",
        "idle time",
        "wakes",
        "cold start s",
        "shared with",
    ):
        t.add_column(c, justify="left" if c in ("deployment", "plan", "shared with") else "right")
    for d in result["deployments"]:
        c = d["consolidation"]
        if c is None:
            continue
        stz, co = c["scale_to_zero"], c["co_locate"]
        shared = ", ".join(co["shared_with"]) if co else "-"
        t.add_row(d["deployment_id"], c["recommended"].replace("_", " "), _num(c["saving_watts"]),
                  _pct(stz["idle_time_fraction"]), str(stz["wake_count"]),
                  _num(stz["cold_start_s"]), shared)  # fmt: skip
    return t


def fleet_line(result: Mapping[str, Any]) -> str:
    """One-line fleet summary."""
    f = result["fleet"]
    r = result["range"]
    return (
        f"{r['start']} .. {r['end']} ({r['tier']} tier): {f['deployment_count']} deployments, "
        f"{f['energy_kwh']:,.1f} kWh, {f['idle_fraction']:.0%} idle overhead "
        f"({f['idle_energy_kwh']:,.1f} kWh), {f['zero_token_energy_kwh']:,.1f} kWh with no tokens, "
        f"{f['co2_kg']:,.1f} kg CO2; right-sizing saves {f['right_sizing_saving_watts']:,.0f} W, "
        f"consolidation {f['consolidation_saving_watts']:,.0f} W"
    )


def render_analysis(result: Mapping[str, Any], console: Console | None = None) -> None:
    """Print the analysis as rich tables (what `wattlens analyze` shows without --json)."""
    out = console or Console()
    if not result.get("deployments"):
        out.print("No intervals in the store for this range; run `wattlens collect` or import.")
        return
    out.print(fleet_line(result))
    out.print(idle_table(result))
    out.print(deployments_table(result))
    for line in unknown_models_lines(result):
        out.print(f"[yellow]unknown model[/yellow] {line}")
    out.print(curves_table(result))
    if result["right_sizing_ranked"]:
        out.print(right_sizing_table(result))
    if any(d["consolidation"] for d in result["deployments"]):
        out.print(consolidation_table(result))


__all__ = [
    "consolidation_table",
    "curves_table",
    "deployments_table",
    "fleet_line",
    "frontier_caption",
    "idle_table",
    "render_analysis",
    "right_sizing_table",
    "unknown_models_lines",
]
