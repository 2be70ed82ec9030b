"""Write OpenMetrics files with per-sample timestamps in seconds (promtool's backfill input)."""

from __future__ import annotations

import math
from pathlib import Path

from wattlens.telemetry.records import SeriesSet


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return repr(float(x))


def format_openmetrics(series: SeriesSet) -> str:
    """OpenMetrics text (seconds timestamps, `# EOF`) for a `SeriesSet`, series by series."""
    out: list[str] = []
    for key in sorted(series.series):
        t, v = series.series[key]
        labels = ",".join(f'{k}="{_escape(val)}"' for k, val in key.labels)
        head = f"{key.name}{{{labels}}}" if labels else key.name
        out.extend(
            f"{head} {_number(x)} {_number(s)}" for s, x in zip(t.tolist(), v.tolist(), strict=True)
        )
    out.append("# EOF\n")
    return "\n".join(out)


def write_openmetrics(series: SeriesSet, dest: Path) -> None:
    """Write `series` as an OpenMetrics file atomically (temp file, then rename)."""
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.write_text(format_openmetrics(series))
    tmp.replace(dest)


__all__ = ["format_openmetrics", "write_openmetrics"]
