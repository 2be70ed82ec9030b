"""`plan tokw`: tokens per watt against the context window for one model on one GPU type.

For each context W (Chen et al. 2026, arXiv 2603.17280, Eq. 2-3): n = n_max(W) (or a given
batch), mean KV per sequence = W/2, step time tau(n, W/2), tok/s = n / tau (output tokens of the
whole TP instance), P(n) per GPU, and tok/W in the chosen convention:
- `physical`: instance tok/s / (TP x P_gpu), the energy the instance really uses;
- `paper`: instance tok/s / P_gpu, the published convention (TP times higher at TP > 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from wattlens.catalog import paper_params
from wattlens.catalog.specs import GpuSpec, ModelSpec
from wattlens.core.errors import InfeasibleError, InputError
from wattlens.physics.kv import dtype_bytes
from wattlens.plan.build import check_fits, computed_profile, resolve
from wattlens.plan.calibrated import calibrated_profile, uncertainty_band
from wattlens.plan.options import Convention, MoeStreaming, ProfileName, Variant
from wattlens.plan.paper import paper_profile
from wattlens.plan.profiles import DecodeProfile, PowerProfile
from wattlens.plan.stepprofile import StepProfile

DEFAULT_CONTEXTS = (2048, 4096, 8192, 16384, 32768, 65536, 131072)
_TP_CHOICES = (1, 2, 4, 8)

CONVENTION_NOTES = {
    "physical": "convention 'physical': tok/W = instance tok/s / (TP x one GPU's power), the "
    "energy the whole instance draws; J/token is its inverse.",
    "paper": "convention 'paper': tok/W = instance tok/s / ONE GPU's power, as the 1/W paper "
    "reports it (Chen et al. 2026); at TP > 1 this is TP times the physical value.",
}


@dataclass(frozen=True, slots=True)
class TokwResult:
    """Rows (one per context) and notes of a `plan_tokw` evaluation."""

    model: str
    gpu: str
    tp: int
    dtype: str
    profile: str  # profile name, e.g. "paper:H100_80GB (empirical ManualProfile)"
    profile_kind: str  # "calibrated", "computed" or "paper"
    convention: str
    variant: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def tokens_per_watt(
    tokens_per_sec: ArrayLike, power_watts_per_gpu: ArrayLike, tp: ArrayLike, convention: str
) -> NDArray[np.float64]:
    """tok/W in a convention: divide by TP x P_gpu (physical) or by P_gpu (paper)."""
    tps = np.asarray(tokens_per_sec, dtype=np.float64)
    p = np.asarray(power_watts_per_gpu, dtype=np.float64)
    if convention == "paper":
        return tps / p
    if convention == "physical":
        return tps / (p * np.asarray(tp, dtype=np.float64))
    raise _bad_convention(convention)


def _bad_convention(convention: str) -> InputError:
    return InputError(
        f"convention {convention!r}: expected 'physical' or 'paper'", field="convention"
    )


def evaluate(
    prof: DecodeProfile,
    context_tokens: ArrayLike,
    batch: ArrayLike | None = None,
    convention: str = "physical",
) -> dict[str, NDArray[Any]]:
    """Vectorised core: arrays of n, step time, tok/s, power and tok/W (broadcasting inputs).

    `batch` None means at the concurrency limit; otherwise min(batch, limit). Points where not
    one sequence fits get n = 0 and tok/W = 0.
    """
    ctx = np.asarray(context_tokens, dtype=np.float64)
    n_max = prof.max_concurrency(ctx)
    n = n_max if batch is None else np.minimum(np.asarray(batch, dtype=np.int64), n_max)
    mean_kv = ctx / 2.0
    nf = n.astype(np.float64)
    tau = prof.step_time_s(nf, mean_kv)
    tps = np.where(n > 0, nf / tau, 0.0)
    p_gpu = prof.power_watts(nf, mean_kv)
    tpw = tokens_per_watt(tps, p_gpu, prof.tp, convention)
    return {
        "max_concurrency": n_max,
        "batch": n,
        "step_time_s": tau,
        "tokens_per_sec": tps,
        "power_watts_per_gpu": p_gpu,
        "tokens_per_watt": tpw,
    }


def _pick_tp(build: Callable[[int], DecodeProfile]) -> tuple[int, str]:
    """(the smallest TP of 1, 2, 4, 8 at which `build` succeeds, a note saying so)."""
    last: InfeasibleError | None = None
    for tp in _TP_CHOICES:
        try:
            build(tp)
        except InfeasibleError as e:
            last = e
            continue
        return tp, f"tp not given: TP {tp} is the smallest of 1, 2, 4, 8 at which the weights fit"
    assert last is not None
    raise last


def build_profile(
    model: str | ModelSpec,
    gpu: str | GpuSpec,
    *,
    tp: int | None = None,
    dtype: str | None = None,
    profile: ProfileName = "calibrated",
    variant: Variant = "consistent",
    power_profile: PowerProfile | None = None,
    kv_dtype: str | None = None,
    moe_streaming: MoeStreaming = "touched",
    moe_dispatch_s: float = 0.0,
    mem_util: float | None = None,
    max_num_seqs: int = 0,
    calibration: StepProfile | None = None,
) -> tuple[DecodeProfile, str, list[str]]:
    """(profile, dtype, notes) for the options `plan tokw` and `plan fleet` share."""
    m, g = resolve(model, gpu)
    dtype = (dtype or ("fp16" if profile == "paper" else m.default_dtype)).lower()
    dtype_bytes(dtype)
    notes: list[str] = []
    if variant == "published" and profile == "calibrated":
        # The published variant is the paper's ComputedProfile as released.
        profile = "computed"
        notes.append("variant 'published': the 1/W paper's ComputedProfile (profile 'computed')")
    if profile == "paper":

        def build(t: int) -> DecodeProfile:
            return paper_profile(m, g, tp=t, dtype=dtype)

        tp = 8 if tp is None else tp
    elif profile == "computed":

        def build(t: int) -> DecodeProfile:
            return computed_profile(
                m, g, tp=t, dtype=dtype, kv_dtype=kv_dtype, variant=variant,
                moe_streaming=moe_streaming, moe_dispatch_s=moe_dispatch_s, mem_util=mem_util,
                max_num_seqs=max_num_seqs,
            )  # fmt: skip

    elif profile == "calibrated":

        def build(t: int) -> DecodeProfile:
            return calibrated_profile(
                m, g, tp=t, dtype=dtype, kv_dtype=kv_dtype, calibration=calibration,
                moe_streaming=moe_streaming, moe_dispatch_s=moe_dispatch_s, mem_util=mem_util,
                max_num_seqs=max_num_seqs,
            )  # fmt: skip

    else:
        raise InputError(
            f"profile {profile!r}: expected 'calibrated', 'computed' or 'paper'", field="profile"
        )
    if profile != "paper" and tp is None:
        cp = paper_params("oneoverw2026")["computed_profile"]
        util = float(cp["memory_utilisation"] if mem_util is None else mem_util)

        def fits(t: int) -> DecodeProfile:
            # Weights must fit whatever the variant (the published one clamps instead).
            check_fits(m, g, t, dtype, util)
            return build(t)

        tp, why = _pick_tp(fits)
        notes.append(why)
    assert tp is not None
    prof = build(tp)
    if power_profile is not None:
        check_power_profile(power_profile, g)
        prof = replace(prof.with_power(power_profile), name=f"{prof.name} + fitted power")
        notes.append(f"power: fitted logistic profile ({power_profile.source or 'calibrated'})")
    notes.extend(prof.notes)
    return prof, dtype, notes


def check_power_profile(power: PowerProfile, gpu: GpuSpec) -> PowerProfile:
    """`power`, or InputError unless 0 <= idle < nominal <= the GPU's TDP."""
    idle, nominal, tdp = power.p_idle_watts, power.p_nominal_watts, gpu.tdp_watts
    if not (0.0 <= idle < nominal):
        raise InputError(
            f"power_profile: idle {idle:g} W must be >= 0 and below nominal {nominal:g} W",
            field="power_profile",
        )
    if nominal > tdp:
        raise InputError(
            f"power_profile: nominal {nominal:g} W exceeds {gpu.id}'s TDP {tdp:g} W; a GPU "
            "cannot draw more than its power limit",
            field="power_profile",
        )
    return power


def plan_tokw(
    model: str | ModelSpec,
    gpu: str | GpuSpec,
    *,
    tp: int | None = None,
    dtype: str | None = None,
    contexts: Sequence[int] = DEFAULT_CONTEXTS,
    batch: int | None = None,
    at_limit: bool = True,
    profile: ProfileName = "calibrated",
    convention: Convention = "physical",
    variant: Variant = "consistent",
    power_profile: PowerProfile | None = None,
    kv_dtype: str | None = None,
    moe_streaming: MoeStreaming = "touched",
    moe_dispatch_s: float = 0.0,
    mem_util: float | None = None,
    max_num_seqs: int = 0,
    calibration: StepProfile | None = None,
) -> TokwResult:
    """Tokens per watt for each context window; see the module docstring for the model."""
    ctx = _check_contexts(contexts)
    if convention not in CONVENTION_NOTES:
        raise _bad_convention(convention)
    if not at_limit and (batch is None or batch < 1):
        raise InputError(
            f"batch {batch!r}: expected a positive batch size when not at the KV limit (at_limit)",
            field="batch",
        )
    m, g = resolve(model, gpu)
    prof, dtype, notes = build_profile(
        m, g, tp=tp, dtype=dtype, profile=profile, variant=variant, power_profile=power_profile,
        kv_dtype=kv_dtype, moe_streaming=moe_streaming, moe_dispatch_s=moe_dispatch_s,
        mem_util=mem_util, max_num_seqs=max_num_seqs, calibration=calibration,
    )  # fmt: skip
    use_batch = None if at_limit else batch
    out = evaluate(prof, ctx, use_batch, convention)
    rows = _rows(prof, ctx, out, convention, profile)
    _add_band(prof, ctx, use_batch, rows)
    notes = [n for n in notes if n]
    notes.insert(0, CONVENTION_NOTES[convention])
    notes.append(
        f"profile '{prof.name}' ({prof.quality}); mean KV per sequence = context/2; only output "
        "tokens count and prefill energy is excluded, as in the 1/W paper."
    )
    notes.extend(_fit_notes(prof, ctx, out, batch, at_limit))
    return TokwResult(
        model=m.id, gpu=g.id, tp=prof.tp, dtype=dtype, profile=prof.name, profile_kind=profile,
        convention=convention, variant=variant, rows=rows, notes=notes,
    )  # fmt: skip


def _check_contexts(contexts: Sequence[int]) -> NDArray[np.float64]:
    try:
        ctx = np.asarray([int(c) for c in contexts], dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InputError(
            f"contexts {contexts!r}: expected integers such as 2048, 4096", field="contexts"
        ) from e
    if ctx.size == 0 or np.any(ctx < 1):
        raise InputError(
            f"contexts {list(contexts)!r}: expected positive token counts", field="contexts"
        )
    return ctx


def _rows(
    prof: DecodeProfile, ctx: NDArray[np.float64], out: dict, convention: str, profile: str
) -> list[dict[str, Any]]:
    rows = []
    for i, c in enumerate(ctx):
        fits = bool(out["batch"][i] > 0)
        p_gpu = float(out["power_watts_per_gpu"][i])
        tpw = float(out["tokens_per_watt"][i])
        rows.append(
            {
                "context_tokens": int(c),
                "kv_bytes_per_token": prof.kv_bytes_per_token,
                "kv_bytes_per_token_per_gpu": prof.kv_bytes_per_token_per_gpu,
                "max_concurrency": int(out["max_concurrency"][i]),
                "batch": int(out["batch"][i]),
                "step_time_ms": float(out["step_time_s"][i]) * 1e3 if fits else None,
                "tokens_per_sec": float(out["tokens_per_sec"][i]),
                "power_watts_per_gpu": p_gpu if fits else None,
                "power_watts_instance": p_gpu * prof.tp if fits else None,
                "tokens_per_watt": tpw if fits else 0.0,
                # Energy per token is always physical: the whole instance's power (TP GPUs).
                "joules_per_token": p_gpu * prof.tp / float(out["tokens_per_sec"][i])
                if fits and out["tokens_per_sec"][i] > 0
                else None,
                "fits": fits,
                "convention": convention,
                "profile": profile,
            }
        )
    return rows


def _add_band(
    prof: DecodeProfile, ctx: NDArray[np.float64], batch: int | None, rows: list[dict[str, Any]]
) -> None:
    """5-95 % J/token band from the calibration's covariance (calibrated profiles only)."""

    def joules(p: DecodeProfile) -> NDArray[np.float64]:
        o = evaluate(p, ctx, batch, "physical")
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(o["tokens_per_sec"] > 0, 1.0 / o["tokens_per_watt"], np.nan)

    b = uncertainty_band(prof, joules)
    for i, r in enumerate(rows):
        lo = float(b[0][i]) if b is not None and r["fits"] else None
        hi = float(b[1][i]) if b is not None and r["fits"] else None
        r["joules_per_token_p5"], r["joules_per_token_p95"] = lo, hi


def _fit_notes(
    prof: DecodeProfile, ctx: NDArray[np.float64], out: dict, batch: int | None, at_limit: bool
) -> list[str]:
    notes = []
    for i, c in enumerate(ctx):
        if out["max_concurrency"][i] == 0:
            notes.append(
                f"does not fit at context {int(c)}: one sequence needs more KV than the "
                f"{prof.kv_budget / 1e9:.2f} GB per GPU left after weights; use a shorter "
                "context, fp8, or a larger tp"
                if prof.kind == "computed"
                else f"does not fit at context {int(c)}: the profile has no free KV slot"
            )
        elif not at_limit and batch is not None and batch > out["max_concurrency"][i]:
            notes.append(
                f"batch {batch} exceeds the concurrency limit {int(out['max_concurrency'][i])} "
                f"at context {int(c)}: evaluated at the limit"
            )
    return notes


__all__ = [
    "CONVENTION_NOTES",
    "DEFAULT_CONTEXTS",
    "Convention",
    "ProfileName",
    "TokwResult",
    "build_profile",
    "check_power_profile",
    "evaluate",
    "plan_tokw",
    "tokens_per_watt",
]
