"""Independent reference rollup in plain Python/numpy (the definition the store must match)."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from wattlens.core.records import IntervalRecord

ADDITIVE = (
    "interval_s",
    "energy_joules",
    "prompt_tokens",
    "generation_tokens",
    "requests_finished",
    "itl_seconds_sum",
    "co2_grams",
    "sample_count",
)
WEIGHTED = (
    "requests_running",
    "requests_waiting",
    "kv_cache_usage_ratio",
    "gpu_util_percent",
    "carbon_intensity_kg_per_kwh",
    "pue",
)


def rollup(records: list[IntervalRecord], bucket_s: float) -> dict[tuple[str, float], dict]:
    """(deployment_id, bucket end) -> combined values."""
    groups: dict[tuple[str, float], list[IntervalRecord]] = defaultdict(list)
    for r in records:
        groups[(r.deployment_id, math.ceil(r.ts_end_s / bucket_s) * bucket_s)].append(r)
    out = {}
    for key, rows in groups.items():
        row: dict = {}
        for col in ADDITIVE:
            vals = [getattr(r, col) for r in rows if getattr(r, col) is not None]
            row[col] = math.fsum(vals) if vals else None
        for col in WEIGHTED:
            pairs = [(getattr(r, col), r.interval_s) for r in rows if getattr(r, col) is not None]
            if pairs:
                v, w = np.array(pairs).T
                row[col] = float(np.average(v, weights=w))
            else:
                row[col] = None
        sources = {r.energy_source for r in rows}
        row["energy_source"] = next(
            s for s in ("counter", "gauge", "none") if s in sources or s == "none"
        )
        row["gpu_count"] = max(r.gpu_count for r in rows)
        out[key] = row
    return out


def assert_matches(stored: dict[str, np.ndarray], expected: dict[tuple[str, float], dict]) -> None:
    """Stored tier columns equal the reference rollup, key by key."""
    keys = list(zip(stored["deployment_id"].tolist(), stored["ts_end_s"].tolist(), strict=True))
    assert sorted(keys) == sorted(expected), "bucket keys differ"
    for i, key in enumerate(keys):
        for col, want in expected[key].items():
            got = stored[col][i]
            if want is None:
                assert got is None or (isinstance(got, float) and math.isnan(got)), (key, col)
            elif isinstance(want, str):
                assert got == want, (key, col)
            else:
                assert float(got) == np.float64(want) or math.isclose(got, want, rel_tol=1e-12), (
                    key,
                    col,
                    got,
                    want,
                )
