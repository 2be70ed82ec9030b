"""The waterfall of `plan daily --plot`: traditional day, the long-query share, each
intervention, and the resulting day, in GWh/day (.png, .svg or a self-contained .html)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wattlens.core.errors import InputError
from wattlens.plan.figures import check_plot_path, pyplot, write_figure


def plot_waterfall(daily: dict[str, Any], out: Path | str) -> Path:
    """Draw `plan_daily(...)["waterfall"]`: totals as full bars, deltas as floating bars."""
    steps = daily.get("waterfall") or []
    if not steps:
        raise InputError("plot: the daily result has no waterfall steps", field="plot")
    check_plot_path(out)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    level = 0.0
    for i, s in enumerate(steps):
        v = float(s["gwh_per_day"])
        if s["kind"] == "total":
            bottom, height, color, level = 0.0, v, "#4c72b0", v
        else:
            bottom, height = (level, v) if v >= 0 else (level + v, -v)
            color = "#c44e52" if v >= 0 else "#55a868"
            level += v
        ax.bar(i, height, bottom=bottom, color=color)
        label = f"{v:+.2f}" if s["kind"] == "delta" else f"{v:.2f}"
        ax.annotate(label, (i, bottom + height), ha="center", va="bottom", fontsize=8)
        if i + 1 < len(steps):
            ax.plot([i + 0.4, i + 0.6], [level, level], color="grey", linewidth=0.8)
    ax.set_xticks(range(len(steps)), [s["step"] for s in steps], fontsize=7, rotation=15)
    ax.set_ylabel("GWh per day")
    p = daily["parameters"]
    ax.set_title(f"{p['queries_per_day']:.3g} queries/day, overhead x{p['overhead_factor']:.4g} "
                 f"on the mean", fontsize=10)  # fmt: skip
    ax.grid(True, axis="y", alpha=0.3)
    caption = ("Oviedo et al. 2025 (v1) method: mean energy per query over the blend "
               f"({', '.join(p['blend'])}) x queries x overhead.")  # fmt: skip
    return write_figure(fig, out, "Fleet energy per day", caption)


__all__ = ["plot_waterfall"]
