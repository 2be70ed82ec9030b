"""The SweetSpot heatmap: tokens per joule over (n_in, n_out), log axes, with the n_out* ridge.

`.png` through matplotlib's Agg backend; `.svg` as a plain SVG file; `.html` as one page with the
chart inline (no scripts, no external URLs), so it opens offline.
"""

from __future__ import annotations

import html
import io
import re
from pathlib import Path
from typing import Any

import numpy as np

from wattlens.core.errors import InputError
from wattlens.plan.sweetspot import SweetSpotFit, heatmap

SUFFIXES = (".png", ".svg", ".html")


def _pyplot() -> Any:
    # matplotlib is heavy and only charts need it: import it on first use.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_sweetspot(fit: SweetSpotFit, out: str | Path, cells: int = 48) -> Path:
    """Write the heatmap of a fit to `out` (.png, .svg or .html); returns the path."""
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(
            f"plot {str(path)!r}: expected a file name ending in .png, .svg or .html", field="plot"
        )
    hm = heatmap(fit, cells=cells)
    plt = _pyplot()
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
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if suffix == ".png":
            fig.savefig(path, dpi=120, bbox_inches="tight")
        else:
            buf = io.StringIO()
            fig.savefig(buf, format="svg", bbox_inches="tight")
            svg = buf.getvalue()
            path.write_text(svg if suffix == ".svg" else _page(title, svg), encoding="utf-8")
    except OSError as e:
        raise InputError(f"plot {str(path)!r}: cannot write ({e})", field="plot") from e
    finally:
        plt.close(fig)
    return path


def _page(title: str, svg: str) -> str:
    """A self-contained HTML page with the SVG inline (no prolog, metadata or namespace URLs)."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    svg = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)
    t = html.escape(title)
    head = f'<!doctype html>\n<html lang="en"><meta charset="utf-8"><title>{t}</title>\n'
    return f"{head}{svg}\n</html>\n"


__all__ = ["SUFFIXES", "plot_sweetspot"]
