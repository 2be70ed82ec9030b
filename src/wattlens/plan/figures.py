"""Writing a planning chart: one place that knows the output formats and their errors.

`.png` through matplotlib's Agg backend, `.svg` as a plain SVG file, `.html` as one page with the
chart inline (no scripts, no external URLs), so it opens offline.
"""

from __future__ import annotations

import html
import io
import re
from pathlib import Path
from typing import Any

from wattlens.core.errors import InputError

SUFFIXES = (".png", ".svg", ".html")


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend, imported on first use (it costs ~0.5 s)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def check_plot_path(out: Path | str) -> str:
    """The chart format of `out`, or an InputError naming `--plot` if it is not one we write."""
    suffix = Path(out).suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(
            f"plot {str(out)!r}: expected a file name ending in .png, .svg or .html", field="plot"
        )
    return suffix


def write_figure(fig: Any, out: Path | str, title: str, caption: str = "") -> Path:
    """Save `fig` to `out` and close it; an unwritable path is an InputError, not a traceback."""
    path = Path(out)
    suffix = check_plot_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".png":
            fig.savefig(path, dpi=120, bbox_inches="tight")
        else:
            buf = io.StringIO()
            fig.savefig(buf, format="svg", bbox_inches="tight")
            svg = _inline_svg(buf.getvalue())
            text = svg if suffix == ".svg" else _html_page(title, svg, caption)
            path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise InputError(
            f"plot {str(path)!r}: cannot write ({e.strerror or e})", field="plot"
        ) from e
    finally:
        pyplot().close(fig)
    return path


def _inline_svg(svg: str) -> str:
    """SVG to inline in HTML: no XML prolog, DOCTYPE, RDF metadata or namespace URLs."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    return re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", svg)


def _html_page(title: str, svg: str, caption: str) -> str:
    t = html.escape(title)
    cap = f"<p>{html.escape(caption)}</p>" if caption else ""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{t}</title><style>body{{font-family:sans-serif;margin:2em;max-width:60em}}"
        "svg{max-width:100%;height:auto}</style></head><body>"
        f"<h1>{t}</h1>{svg}{cap}</body></html>\n"
    )


__all__ = ["SUFFIXES", "check_plot_path", "pyplot", "write_figure"]
