"""Helpers for the reliability tests: wattlens subprocesses, store snapshots, fuzz budgets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from wattlens.store import Store

# `make reliability` raises this (hypothesis examples per property); `make test` keeps it small.
FUZZ_EXAMPLES = int(os.environ.get("WATTLENS_FUZZ_EXAMPLES", "400"))
KILLS = int(os.environ.get("WATTLENS_RELIABILITY_KILLS", "20"))

ROW_COLUMNS = (
    "energy_joules",
    "interval_s",
    "sample_count",
    "prompt_tokens",
    "generation_tokens",
    "requests_finished",
)


def wattlens(*args: str, stdout: int | None = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """`python -m wattlens ARGS` as a child process (stderr kept for failure messages)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATTLENS_")}
    return subprocess.Popen(
        [sys.executable, "-m", "wattlens", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=env,
    )


def snapshot(db: Path) -> dict[tuple[str, float], tuple[float, ...]]:
    """Every raw interval row: (deployment, ts_end_s) -> the values that must never change."""
    with Store.open(db, read_only=True) as store:
        cols = store.intervals(None, tier="raw")
    rows: dict[tuple[str, float], tuple[float, ...]] = {}
    values = [np.asarray(cols[c], dtype=np.float64) for c in ROW_COLUMNS]
    for i, (dep, ts) in enumerate(zip(cols["deployment_id"], cols["ts_end_s"], strict=True)):
        key = (str(dep), float(ts))
        assert key not in rows, f"duplicate interval {key}"
        rows[key] = tuple(float(v[i]) for v in values)
    return rows


def energy_total(rows: dict[tuple[str, float], tuple[float, ...]]) -> float:
    """Sum of stored energy (unknown counted as 0)."""
    return float(sum(v[0] for v in rows.values() if v[0] == v[0]))


def same_row(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Bit-equal values, NaN (unknown) equal to NaN."""
    return all((x == y) or (x != x and y != y) for x, y in zip(a, b, strict=True))
