"""`plan query` Monte Carlo: samples/s of the per-query energy kernel (goal >= 2x10^7/s), next
to a plain-Python loop and a straightforward numpy version of the same equation (the paper's
code style: PU and PUE drawn apart, TPS evaluated then capped), measured in the same run. The
distributions are compared by their quartiles (they use different random streams)."""

from __future__ import annotations

import math
import random
import time

import numpy as np

from wattlens.plan.montecarlo import LogNormal, energy_wh, output_lengths
from wattlens.plan.query import QueryInputs, plan_query
from wattlens.plan.throughput import fit_all

SAMPLES = 4_000_000
PYTHON_SAMPLES = 200_000
Z = 1.6448536269514722
PU, PUE = LogNormal(0.4, 0.9), LogNormal(1.05, 1.6)
MODEL = "llama-3.1-405b"


def _kernel(n: int, seed: int) -> np.ndarray:
    fit = fit_all()[MODEL]
    rng = np.random.default_rng(seed)
    lengths = output_lengths(rng, n, 300.0)
    return energy_wh(rng, n, fit=fit, input_tokens=500.0, lengths=lengths, node_kw=11.3,
                     power_use=PU, pue=PUE)  # fmt: skip


def _plain_numpy(n: int, seed: int) -> np.ndarray:
    b0, b1, b2 = fit_all()[MODEL].beta or (0.0, 0.0, 0.0)
    cap = fit_all()[MODEL].tps_max
    rng = np.random.default_rng(seed)
    lout = np.rint(rng.exponential(300 / math.log(2), n))
    pu = rng.lognormal(PU.mu, PU.sigma, n)
    pue = rng.lognormal(PUE.mu, PUE.sigma, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        tps = np.minimum(np.exp(b0 + b1 * np.log(500.0) + b2 * np.log(lout)), cap)
        e_kj = pue * 11.3 * pu * lout / tps
    return np.where(lout > 0, e_kj / 3600 * 1000, 0.0)


def _python(n: int, seed: int) -> list[float]:
    b0, b1, b2 = fit_all()[MODEL].beta or (0.0, 0.0, 0.0)
    cap = fit_all()[MODEL].tps_max
    r = random.Random(seed)
    scale = 300 / math.log(2)
    out = []
    for _ in range(n):
        lout = round(r.expovariate(1 / scale))
        pu = r.lognormvariate(PU.mu, PU.sigma)
        pue = r.lognormvariate(PUE.mu, PUE.sigma)
        if lout == 0:
            out.append(0.0)
            continue
        tps = min(math.exp(b0 + b1 * math.log(500) + b2 * math.log(lout)), cap)
        out.append(pue * 11.3 * pu * lout / tps / 3.6)
    return out


def _best(fn, *args: int) -> tuple[float, object]:  # noqa: ANN001
    best, result = math.inf, None
    for i in range(3):
        t0 = time.perf_counter()
        result = fn(*args, i)
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    """Print samples/s of the kernel, the plain numpy and Python versions, and their ratios."""
    _kernel(1000, 0)  # warm-up
    k_s, k = _best(_kernel, SAMPLES)
    n_s, npv = _best(_plain_numpy, SAMPLES)
    p_s, py = _best(_python, PYTHON_SAMPLES)
    k_rate, n_rate, p_rate = SAMPLES / k_s, SAMPLES / n_s, PYTHON_SAMPLES / p_s
    t0 = time.perf_counter()
    plan_query(QueryInputs(samples=1_000_000))
    full_s = time.perf_counter() - t0
    q = [np.percentile(np.asarray(a), [25, 50, 75]) for a in (k, npv, py)]
    print(f"model {MODEL}, L_in 500, L_out exponential median 300, PU 0.4-0.9, PUE 1.05-1.6")
    print(f"fused kernel:       {k_s * 1e3:7.1f} ms per {SAMPLES:,} = {k_rate:14,.0f} samples/s "
          f"(goal >= 2e7)")  # fmt: skip
    print(f"plain numpy:        {n_s * 1e3:7.1f} ms per {SAMPLES:,} = {n_rate:14,.0f} samples/s")
    print(f"plain Python loop:  {p_s * 1e3:7.1f} ms per {PYTHON_SAMPLES:,} = {p_rate:14,.0f} "
          "samples/s")  # fmt: skip
    print(f"ratio kernel / plain Python: {k_rate / p_rate:,.0f}x; kernel / plain numpy: "
          f"{k_rate / n_rate:.2f}x")  # fmt: skip
    print(f"plan_query end to end, 5 models x 1,000,000 samples with summaries and blend: "
          f"{full_s:.2f} s ({5e6 / full_s:,.0f} samples/s)")  # fmt: skip
    names = ("kernel", "plain numpy", "plain Python")
    for name, (p25, med, p75) in zip(names, q, strict=True):
        print(f"  quartiles {name:12}: {p25:.4f} {med:.4f} {p75:.4f} Wh")


if __name__ == "__main__":
    main()
