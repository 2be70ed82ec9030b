"""Bench results on disk: CSV or Parquet (all columns), the sweet-spot grid CSV, the ML.ENERGY
benchmark's column layout, and the two charts of `--plot`."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wattlens.core.errors import InputError
from wattlens.plan.figures import pyplot, write_figure

GRID_COLUMNS = ("n_in", "n_out", "energy_joules", "joules_per_output_token")
# The ML.ENERGY benchmark's results layout (the rows bundled in plan/data/mlenergy).
MLENERGY_COLUMNS = (
    "model_id", "task", "architecture", "total_params_b", "active_params_b", "weight_precision",
    "gpu_model", "num_gpus", "max_num_seqs", "avg_batch_size", "avg_power_watts_total",
    "energy_per_token_joules", "median_itl_ms", "avg_output_len",
)  # fmt: skip


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    cols: list[str] = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    return cols


def _cell(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return v


def write_rows(
    rows: Sequence[dict[str, Any]], path: Path, columns: Sequence[str] | None = None
) -> None:
    """All result columns (or `columns`) to `.csv` or `.parquet` by the file's suffix."""
    cols = list(columns) if columns is not None else _columns(rows)
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({c: [r.get(c) for r in rows] for c in cols})
        pq.write_table(table, path)
        return
    if path.suffix not in (".csv", ""):
        raise InputError(f"out {str(path)!r}: expected a .csv or .parquet file", field="out")
    try:
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(cols)
            w.writerows([[_cell(r.get(c)) for c in cols] for r in rows])
    except OSError as e:
        raise InputError(f"out {str(path)!r}: cannot write it ({e})", field="out") from e


def write_grid(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """The CSV `wattlens fit sweetspot` reads: n_in, n_out, energy_joules (per request, as that
    reader defines it) and J per output token."""
    per_request = [{**r, "energy_joules": r["joules_per_response"]} for r in rows]
    write_rows(per_request, path, GRID_COLUMNS)


def mlenergy_rows(
    rows: Sequence[dict[str, Any]], *, model: str, gpu: str, task: str = "wattlens-bench"
) -> list[dict[str, Any]]:
    """Rows in the ML.ENERGY benchmark's layout (steady-state values; valid rows only)."""
    out = []
    for r in rows:
        if not r.get("valid"):
            continue
        n_req = max(1, r["requests"] - r["errors"])
        out.append({
            "model_id": model, "task": task, "architecture": "", "total_params_b": "",
            "active_params_b": "", "weight_precision": "", "gpu_model": gpu,
            "num_gpus": r["gpu_count"], "max_num_seqs": r["concurrency"],
            "avg_batch_size": r["steady_batch"], "avg_power_watts_total": r["steady_power_watts"],
            "energy_per_token_joules": r["steady_joules_per_output_token"],
            "median_itl_ms": r["itl_p50_s"] * 1000.0, "avg_output_len": r["output_tokens"] / n_req,
        })  # fmt: skip
    return out


def plot(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """J/token against concurrency per max tokens, and energy against latency per power cap."""
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for mt in sorted({r["max_tokens"] for r in rows}, key=lambda x: (x is None, x)):
        pts = sorted((r["concurrency"], r["joules_per_output_token"]) for r in rows
                     if r["max_tokens"] == mt)  # fmt: skip
        ax1.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"max_tokens {mt}")
    ax1.set(xscale="log", xlabel="concurrency", ylabel="J per output token")
    ax1.legend()
    for cap in sorted({r["power_cap_watts"] for r in rows}, key=lambda x: (x is None, x)):
        pts = [(r["e2e_p50_s"], r["energy_joules"]) for r in rows if r["power_cap_watts"] == cap]
        ax2.scatter([p[0] for p in pts], [p[1] for p in pts],
                    label="no cap" if cap is None else f"cap {cap:g} W")  # fmt: skip
    ax2.set(xlabel="median end-to-end latency (s)", ylabel="energy (J)")
    ax2.legend()
    fig.tight_layout()
    write_figure(fig, path, "Energy benchmark", "J per output token and energy against latency")


__all__ = ["GRID_COLUMNS", "MLENERGY_COLUMNS", "mlenergy_rows", "plot", "write_grid", "write_rows"]
