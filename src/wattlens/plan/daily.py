"""`plan daily`: a fleet's energy per day at scale (Oviedo et al. 2025): traditional-only,
long-only and mixed days, with efficiency interventions, each with a bootstrap interval.

GWh/day = queries x mean(Wh per query over the blend's untrimmed samples) x overhead / 10^9;
the overhead (beta = 1.10 x 1.076 x 1.12 in the paper) multiplies the mean, not the median.
Interventions divide each sample by an independent log-normal multiplier (P5-P95 in
data/oviedo.toml). Intervals: 2.5-97.5 % of 1,000 bootstrap resamples of the mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from wattlens.core.errors import CatalogError, InputError
from wattlens.plan.montecarlo import F64, LogNormal, Samples
from wattlens.plan.query import QueryInputs, plan_query
from wattlens.plan.throughput import oviedo_params

WH_PER_GWH = 1e9
MAX_QUERIES_PER_DAY = 1e15
MAX_BOOTSTRAP_DRAWS = 1e9  # resamples x pooled samples: about 10 s at most
_BOOT_INDICES = 4_000_000  # indices drawn per vectorised pass (32 MB)


@dataclass(frozen=True)
class DailyInputs:
    """A day of queries; None fields take the paper's v1 values."""

    query: QueryInputs = QueryInputs()
    queries_per_day: float | None = None
    long_share: float | None = None
    long_output_median_tokens: float | None = None
    overhead: float | None = None
    interventions: tuple[str, ...] | None = None  # None = ("serving_v1",), the v1 paper's
    bootstrap_resamples: int | None = None


def parse_overhead(text: str) -> float:
    """`1.10*1.076*1.12` (a product of factors) or one number, checked positive and finite."""
    product = 1.0
    for part in text.replace("×", "*").split("*"):
        try:
            f = float(part)
        except ValueError as e:
            raise InputError(f"overhead {text!r}: expected a number or a product such as "
                             "1.10*1.076*1.12", field="overhead") from e  # fmt: skip
        if not (math.isfinite(f) and f > 0):
            raise InputError(f"overhead {text!r}: each factor must be a positive number",
                             field="overhead")  # fmt: skip
        product *= f
    return product


def parse_interventions(text: str) -> tuple[str, ...]:
    """`model,serving,hardware` (names in data/oviedo.toml) or `none`."""
    known = oviedo_params()["interventions"]
    names = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if names in ((), ("none",)):
        return ()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CatalogError(f"interventions {', '.join(unknown)}: unknown; expected none or a "
                           f"comma list of {', '.join(known)}", field="interventions")  # fmt: skip
    return names


def _divisor(name: str, long: bool) -> LogNormal:
    spec = oviedo_params()["interventions"][name]
    if long and "long_p5" in spec:
        return LogNormal(float(spec["long_p5"]), float(spec["long_p95"]))
    return LogNormal(float(spec["p5"]), float(spec["p95"]))


def _boot_means(rng: np.random.Generator, arrays: list[Samples], b: int) -> F64:
    """(b, len(arrays)) bootstrap means; one index draw per resample, shared by the arrays."""
    n = arrays[0].size
    out = np.empty((b, len(arrays)))
    chunk = max(1, _BOOT_INDICES // n)
    for start in range(0, b, chunk):
        k = min(b, start + chunk) - start
        idx = rng.integers(0, n, size=(k, n), dtype=np.int32)
        for j, a in enumerate(arrays):
            out[start : start + k, j] = a[idx].mean(axis=1)
    return out


def _check_bootstrap(b: int, q: QueryInputs) -> None:
    """Refuse, before sampling, a bootstrap whose index draws would take minutes."""
    n = q.samples or int(oviedo_params()["workload"]["samples_per_model"])
    spec = q.blend or "top3"
    k = int(spec[3:]) if spec.startswith("top") and spec[3:].isdigit() else spec.count(",") + 1
    pooled = 2 * n * k  # traditional and long pools
    if b * pooled > MAX_BOOTSTRAP_DRAWS:
        raise InputError(f"bootstrap {b} resamples of {pooled:,} pooled samples is over "
                         f"{MAX_BOOTSTRAP_DRAWS:.0e} draws; lower the bootstrap resamples or the "
                         "samples per model", field="bootstrap")  # fmt: skip


def _check(value: float, field: str, lo: float, hi: float, *, lo_open: bool = True) -> float:
    ok = math.isfinite(value) and (value > lo if lo_open else value >= lo) and value <= hi
    if not ok:
        raise InputError(f"{field} {value!r}: expected a number {'above' if lo_open else 'from'} "
                         f"{lo:g} up to {hi:g}", field=field)  # fmt: skip
    return float(value)


def plan_daily(inp: DailyInputs) -> dict[str, Any]:
    """GWh/day per scenario with bootstrap intervals, the interventions, and waterfall steps."""
    p = oviedo_params()
    wl, fl = p["workload"], p["fleet"]
    q_in = fl["queries_per_day"] if inp.queries_per_day is None else inp.queries_per_day
    q = _check(float(q_in), "queries", 0,
               MAX_QUERIES_PER_DAY)  # fmt: skip
    share = fl["long_query_share"] if inp.long_share is None else inp.long_share
    share = _check(float(share), "long_share", 0.0, 1.0, lo_open=False)
    long_med = inp.long_output_median_tokens
    if long_med is None:
        long_med = float(wl["output_tokens_median_long"])
    long_med = _check(float(long_med), "long_output_median", 0, 1e9)
    factors = [float(f) for f in fl["overhead_factors"]]
    beta = _check(float(math.prod(factors) if inp.overhead is None else inp.overhead),
                  "overhead", 0, 1e3)  # fmt: skip
    names = ("serving_v1",) if inp.interventions is None else inp.interventions
    b = inp.bootstrap_resamples
    b = int(fl["bootstrap_resamples"]) if b is None else b
    if not (isinstance(b, int) and 10 <= b <= 100_000):
        raise InputError(f"bootstrap {b!r}: expected 10 to 100000 resamples", field="bootstrap")
    base = inp.query if inp.query.blend else replace(inp.query, blend="top3")
    _check_bootstrap(b, base)
    trad = plan_query(base)
    long = plan_query(replace(base, output_median_tokens=long_med, output_lengths=None))
    assert trad.blend is not None and long.blend is not None
    seed = int(trad.parameters["seed"])
    rng = np.random.default_rng([seed, 2])
    t, lg = trad.blend.pooled, long.blend.pooled
    dt, dl = np.ones_like(t), np.ones_like(lg)
    scale = q * beta / WH_PER_GWH
    steps: list[dict[str, Any]] = []
    t_mean, l_mean = float(t.mean()), float(lg.mean())
    mixed = scale * ((1 - share) * t_mean + share * l_mean)
    steps.append({"step": "traditional only", "kind": "total", "gwh_per_day": scale * t_mean})
    steps.append({"step": f"+ long queries ({share:.0%})", "kind": "delta",
                  "gwh_per_day": mixed - scale * t_mean})  # fmt: skip
    ints = []
    for name in names:
        dt = dt * _divisor(name, False).sample(rng, t.size)
        dl = dl * _divisor(name, True).sample(rng, lg.size)
        now = scale * ((1 - share) * float(np.mean(t / dt)) + share * float(np.mean(lg / dl)))
        spec = p["interventions"][name]
        d = _divisor(name, False)
        steps.append({"step": f"÷ {spec['description']} (median {d.median:.2f}x)",
                      "kind": "delta", "gwh_per_day": now - mixed})  # fmt: skip
        mixed = now
        ints.append({"name": name, "description": spec["description"], "p5": d.lo, "p95": d.hi,
                     "median": d.median, "source": spec["source"]})  # fmt: skip
    steps.append({"step": "with interventions" if names else "mixed day", "kind": "total",
                  "gwh_per_day": mixed})  # fmt: skip
    bt = _boot_means(rng, [t, t / dt], b) * scale
    bl = _boot_means(rng, [lg, lg / dl], b) * scale
    rows = []
    for label, col in (("", 0), ("+interventions", 1)):
        if col and not names:
            continue
        tm = float(np.mean(t / dt)) if col else t_mean
        lm = float(np.mean(lg / dl)) if col else l_mean
        for kind, est, vals in (
            ("traditional", tm, bt[:, col]),
            ("long", lm, bl[:, col]),
            ("mixed", (1 - share) * tm + share * lm, (1 - share) * bt[:, col] + share * bl[:, col]),
        ):
            lo, hi = np.percentile(vals, [2.5, 97.5])
            rows.append(
                {"scenario": kind + label, "gwh_per_day": scale * est, "low": float(lo),
                 "high": float(hi), "mean_wh_per_query": est}
            )  # fmt: skip
    return {
        "parameters": {
            "queries_per_day": q, "long_share": share, "output_tokens_median":
            trad.parameters["output_tokens_median"], "long_output_tokens_median": long_med,
            "overhead_factor": beta, "overhead_applied_to": "mean",
            "blend": list(trad.blend.models), "bootstrap_resamples": b,
            "interval": "2.5-97.5 percent of bootstrap means",
            **{k: v for k, v in trad.parameters.items() if k != "output_tokens_median"},
        },
        "scenarios": rows,
        "interventions": ints,
        "waterfall": steps,
    }  # fmt: skip


__all__ = [
    "MAX_QUERIES_PER_DAY",
    "DailyInputs",
    "parse_interventions",
    "parse_overhead",
    "plan_daily",
]
