"""`wattlens plan grid`: a synthetic (n_in, n_out, energy) grid from the physics core, so the
SweetSpot fit (`plan.sweetspot`) can be shown without a GPU.

Each point is a steady state of continuous batching: `concurrency` requests of n_in prompt and
n_out output tokens at staggered positions, so the batch's mean KV length is n_in + (n_out - 1)/2
and n_in / n_out prompt tokens are prefilled per output token in the same steps. Energy per
output token is the calibrated step model's (`physics.stepmodel.joules_per_output_token`, the
parameters shipped in the catalog). The step model prices prefill at its dense FLOPs only; the
quadratic prefill attention, 4·n_in²·a FLOPs per layer (a = heads x head_dim; SweetSpot's count),
is added to the prefill work here, so the grid shows the n_in² term the paper models. The batch
is capped where the KV cache of `concurrency` such requests does not fit (`batch` column).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from wattlens.catalog import paper_params
from wattlens.catalog.specs import GpuSpec, ModelSpec
from wattlens.core.errors import InfeasibleError, InputError
from wattlens.physics.kv import default_kv_dtype, dtype_bytes
from wattlens.physics.stepmodel import StepParams, default_params, joules_per_output_token
from wattlens.physics.stepspec import hardware, kv_parts, workload
from wattlens.plan.build import check_fits, check_tp, resolve

F64 = NDArray[np.float64]
DEFAULT_LENGTHS: tuple[int, ...] = (64, 128, 256, 512, 1024, 2048, 4096)  # SweetSpot's range
MAX_AXIS = 256
MAX_TOKENS = 1 << 20
TP_TRIES = (1, 2, 4, 8)


@dataclass(frozen=True, slots=True)
class Grid:
    """Synthetic measurements (1-D arrays of one length) and how they were made."""

    model: str
    gpu: str
    tp: int
    dtype: str
    concurrency: int
    n_in: F64
    n_out: F64
    batch: F64  # sequences in flight (concurrency, capped by the KV cache)
    energy_joules: F64  # per request
    joules_per_output_token: F64
    noise: float
    seed: int

    def to_csv(self) -> str:
        """CSV with the columns `wattlens fit sweetspot` reads."""
        buf = io.StringIO()
        buf.write(
            f"# wattlens plan grid: {self.model} on {self.gpu}, TP {self.tp}, {self.dtype}, "
            f"concurrency {self.concurrency}, noise {self.noise:g}, seed {self.seed}\n"
        )
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["n_in", "n_out", "concurrency", "batch", "energy_joules",
                    "joules_per_output_token"])  # fmt: skip
        for i, o, b, e, j in zip(self.n_in, self.n_out, self.batch, self.energy_joules,
                                 self.joules_per_output_token, strict=True):  # fmt: skip
            w.writerow([int(i), int(o), self.concurrency, int(b), f"{e:.6g}", f"{j:.6g}"])
        return buf.getvalue()


def geometric_lengths(lo: int, hi: int, count: int) -> list[int]:
    """`count` distinct whole token lengths spaced geometrically from lo to hi."""
    if not (1 <= lo < hi <= MAX_TOKENS) or not 2 <= count <= MAX_AXIS:
        raise InputError(
            f"size {count}: expected 2..{MAX_AXIS} lengths between 1 and {MAX_TOKENS} tokens",
            field="size",
        )
    return sorted({int(round(v)) for v in np.geomspace(lo, hi, count)})


def _check_axis(values: Sequence[int], field: str) -> F64:
    arr = np.asarray(list(values), dtype=np.float64)
    if arr.size < 2 or arr.size > MAX_AXIS:
        raise InputError(f"{field}: expected 2..{MAX_AXIS} lengths, got {arr.size}", field=field)
    if not np.all(np.isfinite(arr)) or np.any(arr < 1) or np.any(arr > MAX_TOKENS):
        raise InputError(f"{field}: lengths must be whole tokens in 1..{MAX_TOKENS}", field=field)
    return np.unique(np.round(arr))


def _pick_tp(m: ModelSpec, g: GpuSpec, tp: int | None, dtype: str, util: float) -> int:
    if tp is not None:
        check_fits(m, g, check_tp(tp), dtype, util)
        return check_tp(tp)
    for t in TP_TRIES:
        try:
            check_fits(m, g, t, dtype, util)
            return t
        except InfeasibleError:
            continue
    check_fits(m, g, TP_TRIES[-1], dtype, util)  # raises, saying by how much it does not fit
    return TP_TRIES[-1]


def synthetic_grid(
    model: str | ModelSpec,
    gpu: str | GpuSpec,
    *,
    n_in: Sequence[int] = DEFAULT_LENGTHS,
    n_out: Sequence[int] = DEFAULT_LENGTHS,
    concurrency: int = 16,
    tp: int | None = None,
    dtype: str | None = None,
    noise: float = 0.0,
    seed: int = 0,
    params: StepParams | None = None,
) -> Grid:
    """Energy per request over the (n_in x n_out) grid from the calibrated step model.

    `noise` is a relative standard deviation of multiplicative Gaussian noise (seeded), to show
    the fit on imperfect data.
    """
    m, g = resolve(model, gpu)
    if not 1 <= concurrency <= 4096:
        raise InputError(f"concurrency {concurrency}: expected 1..4096", field="concurrency")
    if not (0.0 <= noise <= 0.5) or not np.isfinite(noise):
        raise InputError(f"noise {noise}: expected a fraction in 0..0.5", field="noise")
    dtype = dtype or m.default_dtype
    util = float(paper_params("oneoverw2026")["computed_profile"]["memory_utilisation"])
    tp_used = _pick_tp(m, g, tp, dtype, util)
    budget = check_fits(m, g, tp_used, dtype, util)
    i_axis, o_axis = _check_axis(n_in, "n_in"), _check_axis(n_out, "n_out")
    i, o = (a.ravel() for a in np.meshgrid(i_axis, o_axis, indexing="ij"))
    kv_gpu, _, _, _ = kv_parts(m, dtype_bytes(default_kv_dtype(dtype)), tp_used)
    fit_seqs = np.floor(budget / (kv_gpu * (i + o)))
    if np.any(fit_seqs < 1):
        worst = int(np.max(i + o))
        raise InfeasibleError(
            f"n_in: one request of {worst} tokens does not fit the KV cache of {m.id} on "
            f"{tp_used} x {g.id}; use shorter lengths or a larger tp",
            field="n_in",
        )
    batch = np.minimum(float(concurrency), fit_seqs)
    attn_width = float(m.layers * m.attention_heads * m.head_dim)
    prefill_factor = 1.0 + 2.0 * attn_width * i / float(m.active_params)  # + 4·n²·a per layer
    p = params if params is not None else default_params()[0]
    jpt, _ = joules_per_output_token(
        p, hardware(g, dtype), workload(m, tp_used, dtype), batch, i + (o - 1.0) / 2.0,
        prompt_per_output=i / o * prefill_factor,
    )  # fmt: skip
    if noise > 0:
        jpt = jpt * (1.0 + noise * np.random.default_rng(seed).standard_normal(jpt.size))
        jpt = np.maximum(jpt, 1e-12)
    return Grid(m.id, g.id, tp_used, dtype, int(concurrency), i, o, batch, jpt * o, jpt,
                float(noise), int(seed))  # fmt: skip


__all__ = ["DEFAULT_LENGTHS", "Grid", "geometric_lengths", "synthetic_grid"]
