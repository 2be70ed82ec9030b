"""Vectorised Monte Carlo of energy per query (Oviedo et al. 2025): log-normal ranges given by
their 5th-95th percentiles, exponential output lengths, energy samples, summaries and the
trimmed "frontier" blend.

Per sample: E_Wh = PUE x P_max_kW x PU x L_out / (3.6 x TPS(L_in, L_out)). PU and PUE are
independent log-normals, so their product is one log-normal (mu and sigma^2 add): the kernel
draws it once, and folds TPS = min(C L_out^b2, TPS_max) into one log and one exp per sample.
Samples are float32 (7 significant digits, far below the model's uncertainty): numpy's float32
log, exp and random draws run faster than float64 (bench/plan_query.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from wattlens.core.errors import InputError
from wattlens.plan.throughput import ThroughputFit

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
Samples = NDArray[np.floating[Any]]  # energy samples (float32 from the kernel)
Z_P95 = 1.6448536269514722  # standard normal 95th percentile (also in data/oviedo.toml)
SECONDS_PER_HOUR_KW_TO_WH = 3.6  # kW x s / 3.6 = Wh
_CHUNK = 1 << 18  # samples per vectorised pass (fits in cache-friendly temporaries)


@dataclass(frozen=True, slots=True)
class LogNormal:
    """A log-normal given by its 5th and 95th percentiles (lo == hi: a constant)."""

    lo: float
    hi: float

    @property
    def sigma(self) -> float:
        """Standard deviation of ln X."""
        return (math.log(self.hi) - math.log(self.lo)) / (2.0 * Z_P95)

    @property
    def mu(self) -> float:
        """Mean of ln X (ln of the median)."""
        return math.log(self.lo) + Z_P95 * self.sigma

    @property
    def median(self) -> float:
        """Median, sqrt(lo x hi)."""
        return math.sqrt(self.lo * self.hi)

    def sample(self, rng: np.random.Generator, n: int) -> F64:
        """`n` draws."""
        return np.exp(self.mu + self.sigma * rng.standard_normal(n))


def lognormal(lo: float, hi: float, field: str) -> LogNormal:
    """A checked `LogNormal`: finite, positive, lo <= hi; InputError naming `field` otherwise."""
    for name, v in (("low", lo), ("high", hi)):
        if not (isinstance(v, int | float) and math.isfinite(v)):
            raise InputError(f"{field} {name} {v!r}: expected a finite number", field=field)
        if v <= 0:
            raise InputError(f"{field} {name} {v:g}: must be greater than 0 (a log-normal "
                             "range of a positive quantity)", field=field)  # fmt: skip
    if lo > hi:
        raise InputError(f"{field} {lo:g}-{hi:g}: low is greater than high; give LO-HI with "
                         "LO <= HI (5th and 95th percentiles)", field=field)  # fmt: skip
    return LogNormal(float(lo), float(hi))


@dataclass(frozen=True, slots=True)
class Summary:
    """Median, quartiles and mean of energy per query, Wh."""

    median_wh: float
    p25_wh: float
    p75_wh: float
    mean_wh: float

    def as_dict(self) -> dict[str, float]:
        """`median_wh`, `p25_wh`, `p75_wh`, `mean_wh`."""
        return {"median_wh": self.median_wh, "p25_wh": self.p25_wh,
                "p75_wh": self.p75_wh, "mean_wh": self.mean_wh}  # fmt: skip


def summarise(samples: Samples, mean_of: Samples | None = None) -> Summary:
    """Quartiles of `samples`; the mean of `mean_of` (default the same samples)."""
    p25, med, p75 = np.percentile(samples, [25.0, 50.0, 75.0])
    mean = float(np.mean(samples if mean_of is None else mean_of, dtype=np.float64))
    return Summary(float(med), float(p25), float(p75), mean)


def output_lengths(rng: np.random.Generator, n: int, median_tokens: float) -> F32:
    """Exponential output lengths with this median, rounded to whole tokens (as the paper)."""
    out = rng.standard_exponential(n, dtype=np.float32)
    out *= np.float32(median_tokens / math.log(2.0))
    return np.rint(out, out=out)


def energy_wh(
    rng: np.random.Generator,
    n: int,
    *,
    fit: ThroughputFit | None,
    tokens_per_s: float | None = None,
    input_tokens: float,
    lengths: F32 | F64,
    node_kw: float,
    power_use: LogNormal,
    pue: LogNormal,
) -> F32:
    """`n` samples of Wh per query (float32).

    Args:
        rng: the generator (the stream is part of the result: same seed, same samples).
        n: samples.
        fit: the model's throughput law; None with `tokens_per_s` for a measured throughput.
        tokens_per_s: a fixed node output throughput (used when `fit` is None).
        input_tokens: L_in.
        lengths: L_out per sample (length n).
        node_kw: the node's maximum power (multiplied by the power-use fraction), kW.
        power_use: PU = P_node / P_max.
        pue: facility PUE.
    """
    mu = power_use.mu + pue.mu + math.log(node_kw / SECONDS_PER_HOUR_KW_TO_WH)
    sigma = math.hypot(power_use.sigma, pue.sigma)
    if fit is not None and fit.beta is not None:
        b0, b1, b2 = fit.beta
        ln_c = b0 + b1 * math.log(input_tokens)  # ln TPS = ln C + b2 ln L_out
        ln_cap = math.log(fit.tps_max)
    else:
        tps = fit.tps_max if fit is not None else tokens_per_s
        if tps is None or not tps > 0:
            raise InputError("tokens_per_s must be a positive throughput", field="tokens_per_s")
        ln_c, b2, ln_cap = math.log(tps), 0.0, math.log(tps)
    out = np.empty(n, dtype=np.float32)
    lengths = np.asarray(lengths, dtype=np.float32)
    f32 = np.float32
    a, c0, c1, s, m = f32(1.0 - b2), f32(ln_c), f32(ln_cap), f32(sigma), f32(mu)
    x, t, z = (np.empty(min(n, _CHUNK), dtype=np.float32) for _ in range(3))
    for start in range(0, n, _CHUNK):
        k = min(n, start + _CHUNK) - start
        xk, tk, zk = x[:k], t[:k], z[:k]
        with np.errstate(divide="ignore", invalid="ignore"):
            np.log(lengths[start : start + k], out=xk)  # L_out = 0 gives -inf, hence 0 Wh
            # ln(L_out / TPS) = max((1 - b2) ln L_out - ln C, ln L_out - ln TPS_max)
            np.multiply(xk, a, out=tk)
            tk -= c0
            xk -= c1
            np.maximum(tk, xk, out=tk)
        rng.standard_normal(dtype=np.float32, out=zk)
        zk *= s
        zk += m
        zk += tk
        np.exp(zk, out=out[start : start + k])
    return out


def trim(samples: Samples, outer: tuple[float, float], inner: tuple[float, float]) -> Samples:
    """Samples within the `outer` percentiles, then within `inner` percentiles of those."""
    lo, hi = np.percentile(samples, outer)
    kept = samples[(samples >= lo) & (samples <= hi)]
    lo, hi = np.percentile(kept, inner)
    return kept[(kept >= lo) & (kept <= hi)]


__all__ = [
    "F32",
    "F64",
    "SECONDS_PER_HOUR_KW_TO_WH",
    "Samples",
    "Z_P95",
    "LogNormal",
    "Summary",
    "energy_wh",
    "lognormal",
    "output_lengths",
    "summarise",
    "trim",
]
