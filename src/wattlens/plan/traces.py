"""Request-length CDFs: loading, splitting at a routing threshold, and sampling requests.

A CDF is knots of total tokens (input + output) with cumulative fractions, as in the
inference-fleet-sim workloads (data/traces/README.md). Between knots lengths are uniform.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from wattlens.core.errors import InputError

TRACES = {
    "azure": "azure_cdf.json",
    "lmsys": "lmsys_cdf.json",
    "lmsys-multiturn": "lmsys_multiturn_cdf.json",
    "agent": "agent_heavy_cdf.json",
}
INPUT_FRACTION = 0.8  # l_in = int(0.8 len), l_out = len - l_in (1/W paper fleet model)


@dataclass(frozen=True, slots=True)
class Cdf:
    """Knots (tokens, ascending) and cumulative fractions (last = 1) above a lower bound `lo`."""

    name: str
    knots: NDArray[np.float64]
    fractions: NDArray[np.float64]
    lo: float = 0.0

    def at(self, tokens: float) -> float:
        """Cumulative fraction at `tokens`, linear between knots from (lo, 0)."""
        xs = np.concatenate([[self.lo], self.knots])
        ys = np.concatenate([[0.0], self.fractions])
        return float(np.interp(tokens, xs, ys, left=0.0, right=1.0))


def load_trace(trace: str | Path) -> Cdf:
    """A bundled trace by name (azure, lmsys, lmsys-multiturn, agent) or a JSON CDF file."""
    key = str(trace).strip().lower()
    if key in TRACES:
        raw = resources.files("wattlens.plan").joinpath(f"data/traces/{TRACES[key]}").read_text()
        name = key
    else:
        path = Path(trace)
        if not path.is_file():
            raise InputError(
                f"trace {trace!r}: expected one of {', '.join(TRACES)} or a JSON file of "
                "[tokens, cumulative_fraction] pairs",
                field="trace",
            )
        raw, name = path.read_text(), path.stem
    try:
        data = json.loads(raw)
        pairs = data["cdf"] if isinstance(data, dict) else data
        arr = np.asarray(pairs, dtype=np.float64)
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(
            f"trace {trace!r}: not a JSON list of [tokens, fraction] pairs", field="trace"
        ) from e
    return _checked(name, arr, str(trace))


def _checked(name: str, arr: NDArray[np.float64], where: str) -> Cdf:
    if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) == 0:
        raise InputError(
            f"trace {where!r}: expected [tokens, cumulative_fraction] pairs", field="trace"
        )
    if not np.all(np.isfinite(arr)):  # JSON's 1e999 parses as inf
        raise InputError(
            f"trace {where!r}: tokens and fractions must be finite numbers", field="trace"
        )
    knots, fr = arr[:, 0], arr[:, 1]
    if np.any(np.diff(knots) <= 0) or np.any(np.diff(fr) < 0) or knots[0] < 1:
        raise InputError(
            f"trace {where!r}: tokens must rise and fractions must not fall", field="trace"
        )
    if not (fr[0] >= 0 and abs(fr[-1] - 1.0) < 1e-9):
        raise InputError(
            f"trace {where!r}: fractions must lie in [0, 1] and end at 1.0", field="trace"
        )
    return Cdf(name, knots, fr)


def split(cdf: Cdf, b_tokens: float, *, published: bool = False) -> tuple[Cdf, Cdf, float]:
    """(short sub-CDF <= b, long sub-CDF > b, alpha = share <= b), each renormalised to 1.

    The long sub-CDF starts at b; published=True reproduces fleet_sim's `_split_cdf`, whose long
    pool starts from 0 (so its first bin also samples short lengths).
    """
    alpha = min(max(cdf.at(b_tokens), 1e-6), 1.0 - 1e-6)
    short = cdf.knots <= b_tokens
    sk, sf = list(cdf.knots[short]), list(cdf.fractions[short] / alpha)
    if not sk or sk[-1] < b_tokens:
        sk.append(float(b_tokens))
        sf.append(1.0)
    sf[-1] = 1.0
    lk = list(cdf.knots[~short])
    lf = list(np.maximum(0.0, (cdf.fractions[~short] - alpha) / (1.0 - alpha)))
    if lk:
        lf[-1] = 1.0
    else:
        lk, lf = [float(b_tokens) + 1.0], [1.0]
    lo = 0.0 if published else float(b_tokens)
    return (
        Cdf(f"{cdf.name}<={int(b_tokens)}", np.asarray(sk), np.asarray(sf), cdf.lo),
        Cdf(f"{cdf.name}>{int(b_tokens)}", np.asarray(lk), np.asarray(lf), lo),
        cdf.at(b_tokens),
    )


def sample_lengths(
    cdf: Cdf, window_tokens: int, u_bin: NDArray[np.float64], u_len: NDArray[np.float64]
) -> NDArray[np.int64]:
    """Lengths for uniforms (u_bin picks the bin, u_len the integer in it), capped at the window.

    A bin entirely above the window yields the window itself (requests clamped to the pool).
    """
    idx = np.minimum(np.searchsorted(cdf.fractions, u_bin, side="left"), len(cdf.knots) - 1)
    prev = np.where(idx > 0, cdf.knots[np.maximum(idx - 1, 0)], cdf.lo)
    lo = np.maximum(prev + 1.0, 1.0)
    hi = np.minimum(float(window_tokens), cdf.knots[idx])
    length = lo + np.floor(u_len * (hi - lo + 1.0))
    return np.where(lo <= hi, np.minimum(length, hi), float(window_tokens)).astype(np.int64)


def sample_lengths_published(cdf: Cdf, window_tokens: int, n: int = 3000) -> NDArray[np.int64]:
    """fleet_sim's `calibrate` sampler, draw for draw: Python `random.Random(42)`."""
    rng = random.Random(42)
    out = []
    knots, fr = cdf.knots.tolist(), cdf.fractions.tolist()
    for _ in range(n):
        u = rng.random()
        prev = 0
        for thresh, frac in zip(knots, fr, strict=True):
            if u <= frac:
                lo, hi = max(1, prev + 1), min(window_tokens, int(thresh))
                out.append(rng.randint(lo, hi) if lo <= hi else window_tokens)
                break
            prev = int(thresh)
    return np.asarray(out, dtype=np.int64)


def split_lengths(lengths: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(l_in, l_out) = (max(1, int(0.8 len)), max(1, len - l_in))."""
    l_in = np.maximum(1, (lengths * INPUT_FRACTION).astype(np.int64))
    return l_in, np.maximum(1, lengths - l_in)


def mean_output_published(cdf: Cdf) -> int:
    """fleet_sim's `_cdf_mean_l_out`: int(0.2 x bin-midpoint mean), bins starting at 0."""
    prev_t, prev_f, mean, total = 0.0, 0.0, 0.0, 0.0
    for t, f in zip(cdf.knots, cdf.fractions, strict=True):
        mean += (prev_t + (t - prev_t) / 2.0) * (f - prev_f)
        total += f - prev_f
        prev_t, prev_f = t, f
    return max(1, int((1.0 - INPUT_FRACTION) * (mean / total if total > 0 else 0.0)))


def knots_between(cdf: Cdf, lo: float, hi: float) -> list[int]:
    """The CDF's knots in [lo, hi] (candidate routing thresholds)."""
    return [int(k) for k in cdf.knots if lo <= k <= hi and math.isfinite(k)]


__all__ = [
    "INPUT_FRACTION",
    "TRACES",
    "Cdf",
    "knots_between",
    "load_trace",
    "mean_output_published",
    "sample_lengths",
    "sample_lengths_published",
    "split",
    "split_lengths",
]
