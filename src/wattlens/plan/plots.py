"""Charts: tok/W against context (log2 axis, with the 1/W reference line) and fleet bars.

`.png` is rendered with matplotlib's Agg backend; `.html` is one self-contained file with the
chart as inline SVG (no scripts, no external URLs), so it opens offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from wattlens.core.errors import InputError
from wattlens.plan.figures import pyplot, write_figure
from wattlens.plan.fleet import Comparison
from wattlens.plan.tokw import TokwResult


def plot_tokw(results: TokwResult | Sequence[TokwResult], out: Path | str) -> Path:
    """tok/W against context window (log2 x axis), one line per result, plus a 1/W line."""
    items = [results] if isinstance(results, TokwResult) else list(results)
    if not items:
        raise InputError("plot: no results to draw")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    anchor = None
    for r in items:
        pts = [(row["context_tokens"], row["tokens_per_watt"]) for row in r.rows if row["fits"]]
        if not pts:
            continue
        xs, ys = zip(*pts, strict=True)
        label = f"{r.model} on {r.gpu} (TP {r.tp}, {r.dtype}, {r.profile_kind})"
        ax.plot(xs, ys, marker="o", label=label)
        anchor = anchor or (xs[0], ys[0], [row["context_tokens"] for row in r.rows])
    if anchor is not None:
        x0, y0, xs_all = anchor
        ax.plot(
            xs_all, [y0 * x0 / x for x in xs_all], linestyle="--", color="grey",
            label="1/W reference (halves per doubling)",
        )  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("context window W (tokens, log2)")
    conv = items[0].convention
    ax.set_ylabel(f"tokens per watt (tok/J, {conv} convention)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    caption = " ".join(items[0].notes[:1])
    return write_figure(fig, Path(out), "Tokens per watt against context window", caption)


def plot_fleet(comparison: Comparison, out: Path | str) -> Path:
    """Bar chart of fleet tok/W per (GPU, topology), annotated with the gain ratio."""
    if not comparison.rows:
        raise InputError("plot: the comparison has no rows")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    labels = [f"{r['gpu']}\n{r['topology']}" for r in comparison.rows]
    values = [r["tokens_per_watt"] for r in comparison.rows]
    bars = ax.bar(range(len(values)), values, color="#4c72b0")
    for bar, r in zip(bars, comparison.rows, strict=True):
        gain = r["gain_vs_baseline"]
        ax.annotate(
            f"{gain:.2f}x" if gain else "", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center", va="bottom", fontsize=8,
        )  # fmt: skip
    ax.set_xticks(range(len(values)), labels, fontsize=8)
    ax.set_ylabel("fleet tokens per watt (tok/J)")
    ax.set_title(f"Fleet tok/W; gains vs {comparison.baseline}", fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    caption = " ".join(comparison.notes[:1])
    return write_figure(fig, Path(out), "Fleet comparison", caption)


__all__ = ["plot_fleet", "plot_tokw"]
