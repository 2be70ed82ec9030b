"""Synthetic OpenMetrics files with planted ground truth (tests and the import benchmark)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["planted_value", "write_synthetic_openmetrics"]

_LABELS = (
    'gpu="{g}",UUID="GPU-{i:08x}-69c4-b61d-e0bc-7b2460096005",pci_bus_id="00000000:53:00.0",'
    'device="nvidia{g}",modelName="NVIDIA H100 80GB HBM3",Hostname="gpu-node-{node}",'
    'namespace="llm",pod="llama-70b-7d9c8-x2k4p"'
)


def planted_value(series: int, k: int) -> float:
    """Value of sample k of series `series`: exact in decimal and binary (multiples of 1/4)."""
    return 100.0 + ((series * 7 + k) % 1200) / 4.0


def write_synthetic_openmetrics(
    path: Path,
    n_series: int,
    n_per_series: int,
    *,
    start_s: float = 1_700_000_000.0,
    step_s: float = 15.0,
    time_major: bool = False,
    name: str = "DCGM_FI_DEV_POWER_USAGE",
) -> int:
    """Write n_series x n_per_series samples of a DCGM-like gauge; returns the sample count.

    Series-major (each series' samples together, promtool's fastest layout) or time-major
    (every series at t0, then at t1, ..., like concatenated scrapes).
    """
    heads = [name + "{" + _LABELS.format(g=i % 8, i=i, node=i // 8) + "}" for i in range(n_series)]
    with open(path, "w") as f:
        f.write(f"# HELP {name} Power draw (in W).\n# TYPE {name} gauge\n")
        if time_major:
            for k in range(n_per_series):
                t = start_s + k * step_s
                f.writelines(f"{h} {planted_value(s, k)!r} {t!r}\n" for s, h in enumerate(heads))
        else:
            for s, h in enumerate(heads):
                f.writelines(
                    f"{h} {planted_value(s, k)!r} {start_s + k * step_s!r}\n"
                    for k in range(n_per_series)
                )
        f.write("# EOF\n")
    return n_series * n_per_series
