"""The SweetSpot heatmap: tokens per joule over (n_in, n_out), log axes, with the n_out* ridge.

`.png` through matplotlib's Agg backend; `.svg` as a plain SVG file; `.html` as one page with the
chart inline (no scripts, no external URLs), so it opens offline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from wattlens.plan.figures import SUFFIXES, check_plot_path, pyplot, write_figure
from wattlens.plan.sweetspot import SweetSpotFit, heatmap


def plot_sweetspot(fit: SweetSpotFit, out: str | Path, cells: int = 48) -> Path:
    """Write the heatmap of a fit to `out` (.png, .svg or .html); returns the path."""
    check_plot_path(out)
    hm = heatmap(fit, cells=cells)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.0, 5.2))
    mesh = ax.pcolormesh(hm.n_out, hm.n_in, hm.tokens_per_joule, shading="nearest",
                         cmap="viridis")  # fmt: skip
    fig.colorbar(mesh, ax=ax, label="output tokens per joule")
    ridge = hm.ridge_n_out
    ok = np.isfinite(ridge) & (ridge >= hm.n_out[0]) & (ridge <= hm.n_out[-1])
    if ok.any():
        ax.plot(ridge[ok], hm.n_in[ok], color="white", lw=2.0, ls="--", label="n_out* (sweet spot)")
        ax.legend(loc="upper right")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("output tokens n_out")
    ax.set_ylabel("prompt tokens n_in")
    title = (
        f"{fit.model} ({fit.form} form): MAPE {fit.mape_percent:.2f} % (CV), "
        f"worst/best {fit.worst_best_ratio:.1f}x"
    )
    ax.set_title(title, fontsize=10)
    return write_figure(fig, out, title)


__all__ = ["SUFFIXES", "plot_sweetspot"]
