"""Build computed `DecodeProfile`s from catalog specs (roofline step, utilisation power).

The published paper profiles (H100 ManualProfile, B200 projection) are in `plan.paper`.
Variants (papers.md 4.4): `consistent` (default) is the physically consistent model; `published`
reproduces the 1/W paper's ComputedProfile with its known inconsistencies (unsharded KV in the
budget, head_dim = hidden/heads, MoE power from a different W_s than throughput, models that do
not fit clamped to n_max = 1 instead of failing).
"""

from __future__ import annotations

import math
import tomllib
from functools import cache
from importlib import resources
from typing import Any

from wattlens.catalog import get_gpu, get_model, paper_params
from wattlens.catalog.specs import GpuSpec, ModelSpec
from wattlens.core.errors import InfeasibleError, InputError
from wattlens.physics.concurrency import kv_budget_bytes
from wattlens.physics.kv import default_kv_dtype, dtype_bytes, kv_bytes_per_token
from wattlens.physics.stepspec import kv_parts, moe_split
from wattlens.plan.options import MoeStreaming, Variant
from wattlens.plan.profiles import DecodeProfile, UtilisationPower

_GB = 1e9
_GIB = 2.0**30


@cache
def plan_constants() -> dict[str, Any]:
    """Parsed `wattlens/plan/profiles.toml` (constants not in the catalog; each with a source)."""
    raw = resources.files("wattlens.plan").joinpath("profiles.toml").read_bytes()
    return tomllib.loads(raw.decode("utf-8"))


def _paper() -> dict[str, Any]:
    return paper_params("oneoverw2026")


def resolve(model: str | ModelSpec, gpu: str | GpuSpec) -> tuple[ModelSpec, GpuSpec]:
    """Catalog specs for names (CatalogError for unknown names); specs pass through."""
    m = model if isinstance(model, ModelSpec) else get_model(model)
    g = gpu if isinstance(gpu, GpuSpec) else get_gpu(gpu)
    return m, g


def check_tp(tp: int) -> int:
    """`tp` as an int; InputError (field `tp`) unless it is a positive whole number."""
    if not isinstance(tp, int | float) or int(tp) != tp or tp < 1:
        raise InputError(f"tp {tp!r}: expected a positive integer such as 1, 2, 4 or 8", field="tp")
    return int(tp)


def runtime_overhead_bytes(tp: int) -> float:
    """Memory the runtime pins besides weights and KV (NCCL buffers; 0 at TP 1)."""
    return float(plan_constants()["nccl"]["bytes_tp_gt1"]) if tp > 1 else 0.0


def check_fits(model: ModelSpec, gpu: GpuSpec, tp: int, dtype: str, mem_util: float) -> float:
    """Per-GPU KV budget in bytes; InfeasibleError saying by how much the weights do not fit."""
    weights = model.total_params * dtype_bytes(dtype)
    overhead = runtime_overhead_bytes(tp)
    budget = float(
        kv_budget_bytes(
            gpu.memory_bytes, weights, tp, mem_util=mem_util, runtime_overhead_bytes=overhead,
            clamp=False,
        )
    )  # fmt: skip
    if budget <= 0:
        usable = mem_util * gpu.memory_bytes - overhead
        smaller = [d for d in ("fp8", "mxfp4") if dtype_bytes(d) < dtype_bytes(dtype)]
        tries = [f"dtype {smaller[0]}"] if smaller else []
        tries.append("a larger tp" if tp < 8 else "a GPU with more memory (e.g. H200, B200)")
        raise InfeasibleError(
            f"{model.id} {dtype} needs {weights / tp / _GB:.1f} GB of weights per GPU at TP {tp}; "
            f"{gpu.id} has {gpu.memory_bytes / _GB:.1f} GB ({gpu.memory_bytes / _GIB:.0f} GiB), "
            f"{usable / _GB:.1f} GB usable at memory utilisation {mem_util:.2f}: short by "
            f"{-budget / _GB:.1f} GB; try {' or '.join(tries)}"
        )
    return budget


def _peak_flops(gpu: GpuSpec, weight_bytes: float) -> float:
    if weight_bytes <= 1.0 and gpu.fp8_flops:
        return gpu.fp8_flops
    return gpu.fp16_flops


def _computed_power(gpu: GpuSpec, cp: dict[str, Any]) -> UtilisationPower:
    """The 1/W ComputedProfile's power model, TDP x (floor + dynamic x activity)."""
    return UtilisationPower(
        gpu.tdp_watts,
        cp["power_floor_fraction_of_tdp"],
        cp["power_dynamic_fraction_of_tdp"],
        source=cp["source"],
    )


def computed_profile(
    model: str | ModelSpec,
    gpu: str | GpuSpec,
    *,
    tp: int = 1,
    dtype: str | None = None,
    kv_dtype: str | None = None,
    variant: Variant = "consistent",
    moe_streaming: MoeStreaming = "touched",
    moe_dispatch_s: float = 0.0,
    mem_util: float | None = None,
    max_num_seqs: int = 0,
    chunk_tokens: int | None = None,
) -> DecodeProfile:
    """First-principles profile from catalog specs (roofline step, utilisation power)."""
    if variant == "published":
        return published_computed_profile(
            model, gpu, tp=tp, dtype=dtype, moe_dispatch_s=moe_dispatch_s
        )
    if variant != "consistent":
        raise InputError(
            f"variant {variant!r}: expected 'consistent' or 'published'", field="variant"
        )
    m, g = resolve(model, gpu)
    tp = check_tp(tp)
    dtype = dtype or m.default_dtype
    wb = dtype_bytes(dtype)
    kvb = dtype_bytes(kv_dtype or default_kv_dtype(dtype))
    cp = _paper()["computed_profile"]
    util = float(cp["memory_utilisation"] if mem_util is None else mem_util)
    budget = check_fits(m, g, tp, dtype, util)
    eff_bw = cp["bandwidth_efficiency"] * g.memory_bandwidth_bytes_per_s
    layer_s = m.layers * cp["per_layer_overhead_us"] * 1e-6
    non_expert, routed = moe_split(m)
    if m.is_moe and moe_streaming == "touched":
        fixed, experts = non_expert, routed
    else:  # dense, or MoE streaming exactly the active weights every step
        fixed, experts = (m.active_params if m.is_moe else m.total_params), 0.0
    full_gpu, full_total, window_gpu, window = kv_parts(m, kvb, tp)
    consts = plan_constants()["computed"]
    notes = []
    if m.is_moe:
        notes.append(_moe_note(moe_streaming, moe_dispatch_s))
    return DecodeProfile(
        name=f"computed:{m.id}/{g.id}/TP{tp}/{dtype}",
        kind="computed",
        source=f"roofline from catalog specs; {cp['source']}",
        quality="computed",
        tp=tp,
        power=_computed_power(g, cp),
        weight_stream_s=fixed * wb / tp / eff_bw + layer_s + moe_dispatch_s,
        scan_s_per_token=full_gpu / eff_bw,
        expert_stream_s=experts * wb / tp / eff_bw,
        moe_experts=m.moe_experts,
        moe_top_k=m.moe_top_k,
        window_scan_s_per_token=window_gpu / eff_bw,
        flops_per_token_per_gpu=2.0 * m.active_params / tp,
        peak_flops=_peak_flops(g, wb),
        kv_budget=budget,
        kv_units_per_token=full_gpu,
        kv_window_units_per_token=window_gpu,
        window_tokens=window,
        block_tokens=int(consts["block_tokens"]),
        max_slots=int(max_num_seqs),
        chunk_tokens=int(chunk_tokens or consts["chunk_tokens"]),
        prefill_kind="roofline",
        prefill_flops_per_token=2.0 * m.active_params / tp,
        prefill_attn_flops=2.0 * m.layers * m.attention_heads * m.head_dim / tp,
        kv_bytes_per_token=full_total,
        kv_bytes_per_token_per_gpu=full_gpu,
        weight_bytes_per_gpu=m.total_params * wb / tp,
        notes=tuple(notes),
    )


def _moe_note(streaming: str, dispatch_s: float) -> str:
    what = (
        "the non-expert weights plus the expected share of routed experts the batch touches "
        "(uniform routing: 1-(1-k/E)^n; exactly the active weights at batch 1)"
        if streaming == "touched"
        else "exactly the active weights every step (the paper's upper bound)"
    )
    return (
        f"MoE: each decode step streams {what}; expert dispatch/all-to-all time is assumed "
        f"{dispatch_s * 1e3:.1f} ms per step (TP only, no expert parallelism). The 1/W paper "
        "notes ~10 ms of dispatch would shrink the MoE advantage substantially."
    )


def published_params(model: ModelSpec) -> tuple[float, float]:
    """(total, active) parameters by the 1/W code's formula (embedding counted once)."""
    h, hd = model.hidden_size, model.hidden_size // model.attention_heads
    base = model.vocab_size * h + model.layers * (2 * h * h + 2 * h * model.kv_heads * hd)
    if not model.is_moe:
        dense = base + model.layers * 3 * h * model.intermediate_size
        return float(dense), float(dense)
    shared = model.moe_shared_experts * 3 * h * model.intermediate_size
    expert = 3 * h * model.moe_intermediate_size
    total = base + model.layers * (model.moe_experts * expert + shared)
    active = base + model.layers * (model.moe_top_k * expert + shared)
    return float(total), float(active)


def published_computed_profile(
    model: str | ModelSpec,
    gpu: str | GpuSpec,
    *,
    tp: int,
    dtype: str | None,
    moe_dispatch_s: float = 0.0,
) -> DecodeProfile:
    """The paper's ComputedProfile, caveats and all (papers.md 4.1 and 4.4).

    `moe_dispatch_s` adds a per-step time (the paper's "dispatch overhead shrinks the MoE
    advantage" check); the published code has none, so 0 reproduces it.
    """
    m, g = resolve(model, gpu)
    tp = check_tp(tp)
    dtype = dtype or m.default_dtype
    b = dtype_bytes(dtype)
    cp = _paper()["computed_profile"]
    bw = g.memory_bandwidth_bytes_per_s
    eff_bw = cp["bandwidth_efficiency"] * bw
    layer_s = m.layers * cp["per_layer_overhead_us"] * 1e-6
    hd = m.hidden_size // m.attention_heads  # caveat 4: Qwen3's real head_dim is 128
    kappa = float(kv_bytes_per_token(m.layers, m.kv_heads, hd, b))  # caveat 5: MLA as full heads
    total, _ = published_params(m)
    weights_gpu = total * b / tp
    w_dense = weights_gpu / eff_bw + layer_s
    power_w = None
    if m.is_moe:  # caveat 3: throughput from active bytes at peak BW, power from the kernel table
        w_s = m.active_params * b / tp / bw
        power_w = _moe_library_w(m, g, b, tp, hd, eff_bw, layer_s)
    else:
        w_s = w_dense
    w_s += moe_dispatch_s
    committed = math.floor(g.memory_bytes * cp["memory_utilisation"])
    nccl = float(cp["nccl_mem_mib_tp8"]) * 2**20
    budget = max(0.0, committed - weights_gpu - nccl)  # caveat 5: clamps instead of failing
    blocks = math.floor(budget // (kappa * 16))  # caveat 2: unsharded kappa per GPU
    return DecodeProfile(
        name=f"computed-published:{m.id}/{g.id}/TP{tp}/{dtype}",
        kind="computed",
        source=f"1/W paper ComputedProfile as published; {cp['source']}",
        quality="computed",
        tp=tp,
        power=_computed_power(g, cp),
        weight_stream_s=w_s,
        scan_s_per_token=kappa / eff_bw / tp,
        flops_per_token_per_gpu=2.0 * m.active_params / tp,
        peak_flops=g.fp16_flops,
        compute_bound=False,
        min_one=True,
        kv_budget=float(blocks * 16) * kappa,
        kv_units_per_token=kappa,
        block_tokens=16,
        calib_context_tokens=int(cp["calib_context_tokens"]),
        chunk_tokens=int(plan_constants()["computed"]["chunk_tokens"]),
        prefill_kind="roofline",
        prefill_flops_per_token=2.0 * m.active_params / tp,
        prefill_attn_flops=2.0 * m.layers * m.attention_heads * hd / tp,
        power_weight_stream_s=power_w,
        kv_bytes_per_token=kappa,
        kv_bytes_per_token_per_gpu=kappa,
        weight_bytes_per_gpu=weights_gpu,
        notes=(
            "variant 'published': unsharded KV in the budget, head_dim = hidden/heads, MoE "
            "power from the kernel-table W_s, no fit check (n_max clamped to 1); see "
            "docs/planning.md",
        ),
    )


def _moe_library_w(
    m: ModelSpec, g: GpuSpec, b: float, tp: int, hd: int, eff_bw: float, layer_s: float
) -> float:
    table = plan_constants()["moe_kernel_batch8"]
    shape = f"{m.moe_experts}x{m.moe_top_k}x{m.hidden_size}x{m.moe_intermediate_size}"
    col = {2.0: "ms_per_layer_2byte", 1.0: "ms_per_layer_1byte", 0.5: "ms_per_layer_halfbyte"}
    if shape in table["shapes"]:
        key = min(col, key=lambda d: abs(d - b))
        lat = table[col[key]][table["shapes"].index(shape)] * 1e-3
        lat *= (table["reference_bandwidth_bytes_per_s"] / g.memory_bandwidth_bytes_per_s) ** (
            table["bandwidth_exponent"]
        )
    else:  # the builder's fallback: active expert bytes at effective bandwidth
        lat = m.moe_top_k * 2 * m.moe_intermediate_size * m.hidden_size * b / eff_bw
    attn = ((m.attention_heads + 2 * m.kv_heads) * hd * m.hidden_size + m.hidden_size**2) * b
    return lat * m.layers + attn * m.layers / tp / eff_bw + layer_s


__all__ = [
    "MoeStreaming",
    "Variant",
    "check_fits",
    "check_tp",
    "computed_profile",
    "kv_parts",
    "moe_split",
    "plan_constants",
    "published_computed_profile",
    "published_params",
    "resolve",
    "runtime_overhead_bytes",
]
