"""The 1/W paper's published profiles: the empirical H100 ManualProfile and the B200 profile the
paper projects from it (Chen et al. 2026, arXiv 2603.17280; fleet_sim gpu_profiles/profiles.py and
studies/.../scripts/profiles.py). Both are calibrated for Llama-3.1-70B at TP 8 in fp16.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from wattlens.catalog import get_gpu, paper_params
from wattlens.catalog.specs import GpuSpec, ModelSpec
from wattlens.core.errors import InfeasibleError
from wattlens.physics.kv import dtype_bytes, kv_bytes_per_token
from wattlens.physics.power import logistic_x0
from wattlens.plan.build import check_tp, published_computed_profile, resolve
from wattlens.plan.profiles import DecodeProfile, PowerProfile


class _Shared(TypedDict):
    """The `DecodeProfile` fields the H100 profile and the B200 projection share."""

    kind: Literal["paper"]
    tp: int
    kv_units_per_token: float
    block_tokens: int
    calib_context_tokens: int
    prefill_kind: Literal["decode_steps"]
    kv_bytes_per_token: float
    kv_bytes_per_token_per_gpu: float


def _paper() -> dict:
    return paper_params("oneoverw2026")


def _check_paper_case(m: ModelSpec, tp: int, dtype: str) -> None:
    llama70 = m.layers == 80 and m.hidden_size == 8192 and m.kv_heads == 8
    if not (llama70 and tp == 8 and dtype_bytes(dtype) == 2.0):
        raise InfeasibleError(
            f"profile 'paper': the published profiles are calibrated for Llama-3.1-70B at TP 8 in "
            f"fp16/bf16, not {m.id} at TP {tp} in {dtype}; use profile 'computed'",
            field="profile",
        )


def paper_profile(
    model: str | ModelSpec, gpu: str | GpuSpec, *, tp: int = 8, dtype: str = "fp16"
) -> DecodeProfile:
    """The 1/W paper's empirical H100 ManualProfile, or its B200 projection from it."""
    m, g = resolve(model, gpu)
    _check_paper_case(m, check_tp(tp), dtype)
    p = _paper()
    h100 = p["h100_manual_profile"]
    kappa_gpu = float(kv_bytes_per_token(m.layers, m.kv_heads, m.head_dim, 2.0, tp=8, per_gpu=True))
    shared = _Shared(
        kind="paper", tp=8, kv_units_per_token=1.0, block_tokens=int(h100["block_tokens"]),
        calib_context_tokens=int(h100["calib_context_tokens"]), prefill_kind="decode_steps",
        kv_bytes_per_token=kappa_gpu * 8, kv_bytes_per_token_per_gpu=kappa_gpu,
    )  # fmt: skip
    if g.id == "H100-SXM":
        power = PowerProfile(
            h100["p_idle_watts"], h100["p_nominal_watts"], h100["x0"], h100["k"], h100["source"]
        )
        return DecodeProfile(
            name="paper:H100_80GB (empirical ManualProfile)",
            source=h100["source"],
            quality="HIGH",
            power=power,
            weight_stream_s=h100["weight_stream_ms"] * 1e-3,
            scan_s_per_token=h100["kv_scan_ms_per_seq"] * 1e-3 / h100["calib_context_tokens"],
            kv_budget=float(h100["total_kv_blocks"] * h100["block_tokens"]),
            max_slots_at_calib=int(h100["max_slots"]),
            chunk_tokens=int(h100["chunk_tokens"]),
            **shared,
        )
    if g.id == "B200":
        return _b200_projection(m, g, h100, p["b200_projection"], shared)
    raise InfeasibleError(
        f"profile 'paper' has published profiles for H100-SXM (empirical) and B200 (projected), "
        f"not {g.id}; use profile 'computed'",
        field="profile",
    )


def _b200_projection(
    m: ModelSpec, g: GpuSpec, h100: dict, proj: dict, shared: _Shared
) -> DecodeProfile:
    ref = get_gpu("H100-SXM")
    cp_h, cp_b = (
        published_computed_profile(m, ref, tp=8, dtype="fp16"),
        published_computed_profile(m, g, tp=8, dtype="fp16"),
    )
    ratio = cp_b.kv_budget / cp_h.kv_budget  # ComputedProfile KV-block ratio (~2.62)
    w_s = cp_b.weight_stream_s
    h = (
        h100["kv_scan_ms_per_seq"]
        * 1e-3
        * ref.memory_bandwidth_bytes_per_s
        / (g.memory_bandwidth_bytes_per_s)
    )
    power = PowerProfile(
        proj["p_idle_fraction_of_tdp"] * g.tdp_watts,
        proj["p_nominal_fraction_of_tdp"] * g.tdp_watts,
        float(logistic_x0(w_s, h)),
        proj["k"],
        proj["source"],
    )
    return DecodeProfile(
        name="paper:B200 (projected from the H100 profile, +-20 %)",
        source=proj["source"],
        quality="FAIR",
        power=power,
        weight_stream_s=w_s,
        scan_s_per_token=h / h100["calib_context_tokens"],
        kv_budget=float(int(h100["total_kv_blocks"] * ratio) * h100["block_tokens"]),
        max_slots_at_calib=int(h100["max_slots"] * ratio),
        chunk_tokens=int(proj["chunk_tokens"]),
        **shared,
    )


__all__ = ["paper_profile"]
