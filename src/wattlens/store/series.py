"""Bucketed time series of derived rate metrics: per-deployment sums in SQL, fleet sums in numpy.

Rows are grouped per deployment into buckets ending at ceil(ts_end_s / step_s) * step_s; rates
divide by the seconds the rows cover (a gap lowers coverage, not the rate). Fleet-wide series
(deployment_id None) sum per-deployment rates; the rate metrics are the vocabulary's
(`core.metrics`) over those sums, so ratios (J/token, mg/token) use only deployments with token
metrics and are NaN when their tokens/s is at or below the cut-off.

`series_many` answers several metrics over one read. The SQL is one small GROUP BY over only
the columns those metrics need; the second level (a few hundred per-deployment buckets into
fleet buckets) is a numpy bincount, because a second SQL aggregation costs more in DuckDB's
binder and optimizer than it saves (the 30-day dashboard chart: ~2x faster, issue #3).
NULL semantics follow SQL: a sum ignores NaN and is NaN only when every term is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import duckdb
import numpy as np

from wattlens.core import metrics as vocabulary
from wattlens.core.errors import InputError
from wattlens.store.queries import to_numpy
from wattlens.store.tiers import order_for, source_sql

_Arr = np.ndarray


def _weighted(col: str) -> str:
    return f"sum({col} * interval_s) / nullif(sum(interval_s) FILTER (WHERE {col} IS NOT NULL), 0)"


# per-deployment bucket columns: name -> (SQL over the tier rows, source columns read)
_PER_DEP: dict[str, tuple[str, tuple[str, ...]]] = {
    "s": ("nullif(sum(interval_s), 0)", ("interval_s",)),
    "n": ("sum(sample_count)", ("sample_count",)),
    "e": ("sum(energy_joules)", ("energy_joules",)),
    "co2": ("sum(co2_grams)", ("co2_grams",)),
    "ptok": ("sum(prompt_tokens)", ("prompt_tokens",)),
    "gtok": ("sum(generation_tokens)", ("generation_tokens",)),
    "cached": ("sum(cached_prompt_tokens)", ("cached_prompt_tokens",)),
    "tok": (
        "CASE WHEN count(prompt_tokens) + count(generation_tokens) > 0 THEN "
        "coalesce(sum(prompt_tokens), 0) + coalesce(sum(generation_tokens), 0) END",
        ("prompt_tokens", "generation_tokens"),
    ),
    "fin": ("sum(requests_finished)", ("requests_finished",)),
    "gpus": ("max(gpu_count)", ("gpu_count",)),
    "running": (_weighted("requests_running"), ("requests_running",)),
    "waiting": (_weighted("requests_waiting"), ("requests_waiting",)),
    "kv": (_weighted("kv_cache_usage_ratio"), ("kv_cache_usage_ratio",)),
    "util": (_weighted("gpu_util_percent"), ("gpu_util_percent",)),
}


class _Buckets:
    """Group sums over the fleet buckets, with SQL's NULL rules (NaN = NULL)."""

    def __init__(self, inverse: _Arr, count: int) -> None:
        self.inverse = inverse
        self.count = count

    def sum(self, x: _Arr, where: _Arr | None = None) -> _Arr:
        """sum(x) [FILTER (WHERE where)] per bucket; NaN where no term is defined."""
        ok = ~np.isnan(x) if where is None else ~np.isnan(x) & where
        total = np.bincount(self.inverse, np.where(ok, x, 0.0), self.count)
        n = np.bincount(self.inverse, ok, self.count)
        return np.where(n > 0, total, np.nan)


def _nullif0(x: _Arr) -> _Arr:
    return np.where(x == 0, np.nan, x)


def _has(x: _Arr) -> _Arr:
    return ~np.isnan(x)


_Fleet = Callable[[_Buckets, dict[str, _Arr]], _Arr]
# fleet columns from the per-deployment buckets `d`: name -> (d columns used, function).
# Additive totals become fleet rates (sums of per-deployment totals per covered second), fed to
# the metric vocabulary with seconds = 1; the `token_*` ones count deployments with tokens only.
_FLEET: dict[str, tuple[tuple[str, ...], _Fleet]] = {
    "energy_joules": (("e",), lambda g, d: g.sum(d["e"] / d["s"])),
    "token_energy_joules": (("e", "tok"), lambda g, d: g.sum(d["e"] / d["s"], _has(d["tok"]))),
    "co2_grams": (("co2",), lambda g, d: g.sum(d["co2"] / d["s"])),
    "token_co2_grams": (("co2", "tok"), lambda g, d: g.sum(d["co2"] / d["s"], _has(d["tok"]))),
    "prompt_tokens": (("ptok",), lambda g, d: g.sum(d["ptok"] / d["s"])),
    "generation_tokens": (("gtok",), lambda g, d: g.sum(d["gtok"] / d["s"])),
    "cached_prompt_tokens": (("cached",), lambda g, d: g.sum(d["cached"] / d["s"])),
    "requests_finished": (("fin",), lambda g, d: g.sum(d["fin"] / d["s"])),
    "sum_energy_joules": (("e",), lambda g, d: g.sum(d["e"])),
    "sum_co2_grams": (("co2",), lambda g, d: g.sum(d["co2"])),
    "requests_running": (("running",), lambda g, d: g.sum(d["running"])),
    "requests_waiting": (("waiting",), lambda g, d: g.sum(d["waiting"])),
    "kv_cache_usage_ratio": (
        ("kv",),
        lambda g, d: g.sum(d["kv"] * d["s"]) / _nullif0(g.sum(d["s"], _has(d["kv"]))),
    ),
    "gpu_util_percent": (
        ("util", "gpus"),
        lambda g, d: (
            g.sum(d["util"] * d["gpus"] * d["s"])
            / _nullif0(g.sum(d["gpus"] * d["s"], _has(d["util"])))
        ),
    ),
    "gpu_count": (("gpus",), lambda g, d: g.sum(d["gpus"])),
}

# Series that are not rates: metric -> (description, the fleet column it is)
_PLAIN: dict[str, tuple[str, str]] = {
    "energy_joules": ("sum of energy_joules", "sum_energy_joules"),
    "co2_grams": ("sum of co2_grams", "sum_co2_grams"),
    "requests_running": ("sum of time-weighted means", "requests_running"),
    "requests_waiting": ("sum of time-weighted means", "requests_waiting"),
    "kv_cache_usage_ratio": ("time-weighted mean", "kv_cache_usage_ratio"),
    "gpu_util_percent": ("GPU- and time-weighted mean", "gpu_util_percent"),
    "gpu_count": ("sum of GPU counts", "gpu_count"),
}
# The rate metrics come from the vocabulary (decode speed needs ITL sums: not a series here).
_RATES = tuple(m for m in vocabulary.METRICS if m.name != "decode_tokens_per_s")

# metric name -> how it is computed (documentation; keys are the API)
METRICS: dict[str, str] = {
    **{m.name: f"{m.formula}, on fleet sums of per-deployment rates" for m in _RATES},
    **{name: spec[0] for name, spec in _PLAIN.items()},
}


def _fleet_columns(metric: str) -> tuple[str, ...]:
    if metric in _PLAIN:
        return (_PLAIN[metric][1],)
    return vocabulary.BY_NAME[metric].inputs


def _plan(metrics: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """(fleet columns, per-deployment columns, source columns) the metrics need."""
    fleet = list(dict.fromkeys(f for m in metrics for f in _fleet_columns(m)))
    per_dep = list(dict.fromkeys(["s", "n", *(c for f in fleet for c in _FLEET[f][0])]))
    source = list(dict.fromkeys(["deployment_id", "ts_end_s",
                                 *(c for d in per_dep for c in _PER_DEP[d][1])]))  # fmt: skip
    return fleet, per_dep, source


def _check(metrics: Sequence[str], step_s: float) -> None:
    if not metrics:
        raise InputError(f"series: give at least one metric; expected some of {sorted(METRICS)}")
    for metric in metrics:
        if metric not in METRICS:
            raise InputError(
                f"series metric {metric!r} is unknown; expected one of {sorted(METRICS)}"
            )
    if not (step_s > 0 and math.isfinite(step_s)):
        raise InputError(f"series step_s={step_s!r} must be a positive number of seconds")


def series_many(
    con: duckdb.DuckDBPyConnection,
    metrics: Sequence[str],
    deployment_id: str | Sequence[str] | None,
    start_s: float | None,
    end_s: float | None,
    step_s: float,
    *,
    tier: str = "auto",
    min_tokens_per_s: float,
) -> dict[str, np.ndarray]:
    """Buckets with data, oldest first: ts_end_s, covered_s, sample_count, one column per metric.

    Every metric shares the buckets (NaN where a metric is undefined). See `series`.
    """
    metrics = list(dict.fromkeys(metrics))
    _check(metrics, step_s)
    fleet_cols, per_dep_cols, source = _plan(metrics)
    sql, params = source_sql(
        con, order_for(tier, float(step_s)), start_s, end_s, deployment_id, columns=source
    )
    step = repr(float(step_s))
    cols = ", ".join(f"{_PER_DEP[c][0]} AS {c}" for c in per_dep_cols)
    query = (
        f"SELECT ceil(ts_end_s / {step}) * {step} AS b, {cols} "
        f"FROM ({sql}) GROUP BY deployment_id, b"
    )
    raw = to_numpy(con.execute(query, params))
    d = {k: np.asarray(v, dtype=np.float64) for k, v in raw.items()}
    buckets, inverse = np.unique(d["b"], return_inverse=True)
    g = _Buckets(inverse.ravel(), int(buckets.size))
    with np.errstate(divide="ignore", invalid="ignore"):
        fleet = {c: _FLEET[c][1](g, d) for c in fleet_cols}
    out: dict[str, np.ndarray] = {"ts_end_s": buckets}
    rates = [m for m in metrics if m not in _PLAIN]
    if rates:
        out.update(
            vocabulary.compute_arrays(
                {**fleet, "seconds": np.ones(buckets.size)},
                min_tokens_per_s=float(min_tokens_per_s),
                names=rates,
            )
        )
    for m in metrics:
        if m in _PLAIN:
            out[m] = np.asarray(fleet[_PLAIN[m][1]], dtype=np.float64)
    out["covered_s"] = g.sum(d["s"])
    out["sample_count"] = g.sum(d["n"])
    return out


def series(
    con: duckdb.DuckDBPyConnection,
    metric: str,
    deployment_id: str | Sequence[str] | None,
    start_s: float | None,
    end_s: float | None,
    step_s: float,
    *,
    tier: str = "auto",
    min_tokens_per_s: float,
) -> dict[str, np.ndarray]:
    """Buckets with data, oldest first: ts_end_s, value (NaN where undefined), covered_s.

    covered_s is the sum over deployments of seconds covered (the basis of the value);
    sample_count the raw samples behind it. tier="auto" reads the coarsest tier whose buckets
    nest in step_s, finer tiers where it is not yet rolled up and coarser ones where deleted.
    """
    out = series_many(
        con, [metric], deployment_id, start_s, end_s, step_s, tier=tier,
        min_tokens_per_s=min_tokens_per_s,
    )  # fmt: skip
    out["value"] = out.pop(metric)
    return out


__all__ = ["METRICS", "series", "series_many"]
