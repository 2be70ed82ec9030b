"""Bucketed time series of derived rate metrics, computed in SQL.

Rows are grouped per deployment into buckets ending at ceil(ts_end_s / step_s) * step_s; rates
divide by the seconds the rows cover (a gap lowers coverage, not the rate). Fleet-wide series
(deployment_id None) sum per-deployment rates; ratios (J/token, mg/token) use only deployments
with token metrics and are NULL when their tokens/s is at or below the activity threshold.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np

from wattlens.errors import InputError
from wattlens.physics.units import MG_PER_GRAM, SECONDS_PER_HOUR
from wattlens.store.queries import to_numpy
from wattlens.store.tiers import order_for, source_sql

_H = repr(SECONDS_PER_HOUR)
_MG = repr(MG_PER_GRAM)

# fleet-level columns computed from per-deployment buckets `d`
_FLEET = {
    "energy_joules": "sum(e)",
    "co2_grams": "sum(co2)",
    "power_watts": "sum(e / s)",
    "power_tok_watts": "sum(e / s) FILTER (WHERE tok IS NOT NULL)",
    "co2_tok_g_per_s": "sum(co2 / s) FILTER (WHERE tok IS NOT NULL)",
    "co2_g_per_s": "sum(co2 / s)",
    "ptps": "sum(ptok / s)",
    "gtps": "sum(gtok / s)",
    "tps": "sum(tok / s)",
    "rps": "sum(fin / s)",
    "requests_running": "sum(running)",
    "requests_waiting": "sum(waiting)",
    "kv_cache_usage_ratio": "sum(kv * s) / nullif(sum(s) FILTER (WHERE kv IS NOT NULL), 0)",
    "gpu_util_percent": (
        "sum(util * gpus * s) / nullif(sum(gpus * s) FILTER (WHERE util IS NOT NULL), 0)"
    ),
    "gpu_count": "sum(gpus)",
}

METRICS: dict[str, str] = {
    "power_watts": "power_watts",
    "energy_joules": "energy_joules",
    "prompt_tokens_per_sec": "ptps",
    "generation_tokens_per_sec": "gtps",
    "tokens_per_sec": "tps",
    "requests_per_sec": "rps",
    "joules_per_token": "CASE WHEN tps > $thr THEN power_tok_watts / tps END",
    "joules_per_output_token": "CASE WHEN tps > $thr THEN power_tok_watts / nullif(gtps, 0) END",
    "co2_grams": "co2_grams",
    "co2_grams_per_hour": f"co2_g_per_s * {_H}",
    "co2_mg_per_token": f"CASE WHEN tps > $thr THEN co2_tok_g_per_s * {_MG} / tps END",
    "requests_running": "requests_running",
    "requests_waiting": "requests_waiting",
    "kv_cache_usage_ratio": "kv_cache_usage_ratio",
    "gpu_util_percent": "gpu_util_percent",
    "gpu_count": "gpu_count",
}


def _weighted(col: str) -> str:
    return f"sum({col} * interval_s) / nullif(sum(interval_s) FILTER (WHERE {col} IS NOT NULL), 0)"


def series(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    deployment_id: str | None,
    start_s: float | None,
    end_s: float | None,
    step_s: float,
    *,
    tier: str = "auto",
    active_min_tokens_per_s: float = 5.0,
) -> dict[str, np.ndarray]:
    """Buckets with data, oldest first: ts_end_s, value (NaN where undefined), covered_s.

    covered_s is the sum over deployments of seconds covered (the basis of the value);
    sample_count the raw samples behind it. tier="auto" reads the coarsest tier whose buckets
    nest in step_s, finer tiers where it is not yet rolled up and coarser ones where deleted.
    """
    if metric not in METRICS:
        raise InputError(f"series metric {metric!r} is unknown; expected one of {sorted(METRICS)}")
    if not (step_s > 0 and math.isfinite(step_s)):
        raise InputError(f"series step_s={step_s!r} must be a positive number of seconds")
    sql, params = source_sql(con, order_for(tier, float(step_s)), start_s, end_s, deployment_id)
    step = repr(float(step_s))
    per_dep = (
        f"SELECT deployment_id, ceil(ts_end_s / {step}) * {step} AS b, "
        "nullif(sum(interval_s), 0) AS s, sum(energy_joules) AS e, sum(co2_grams) AS co2, "
        "sum(prompt_tokens) AS ptok, sum(generation_tokens) AS gtok, "
        "CASE WHEN count(prompt_tokens) + count(generation_tokens) > 0 THEN "
        "coalesce(sum(prompt_tokens), 0) + coalesce(sum(generation_tokens), 0) END AS tok, "
        "sum(requests_finished) AS fin, sum(sample_count) AS n, max(gpu_count) AS gpus, "
        f"{_weighted('requests_running')} AS running, "
        f"{_weighted('requests_waiting')} AS waiting, "
        f"{_weighted('kv_cache_usage_ratio')} AS kv, "
        f"{_weighted('gpu_util_percent')} AS util "
        f"FROM ({sql}) GROUP BY ALL"
    )
    fleet = ", ".join(f"{expr} AS {name}" for name, expr in _FLEET.items())
    value = METRICS[metric].replace("$thr", repr(float(active_min_tokens_per_s)))
    query = (
        f"WITH d AS ({per_dep}), "
        f"f AS (SELECT b, {fleet}, sum(s) AS covered_s, sum(n) AS sample_count FROM d GROUP BY b) "
        f"SELECT b AS ts_end_s, CAST({value} AS DOUBLE) AS value, covered_s, sample_count "
        "FROM f ORDER BY b"
    )
    return to_numpy(con.execute(query, params))


__all__ = ["METRICS", "series"]
