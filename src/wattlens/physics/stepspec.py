"""What the step model (`physics.stepmodel`) needs of a catalog GPU and model: `Hardware` and
`Workload` from the specs, with the KV bytes per token and the expert/non-expert split of the
weights. Shared by the planner (`plan`), the ML.ENERGY fit and the emulator, so they all see a
model on a GPU the same way.
"""

from __future__ import annotations

from wattlens.catalog import get_model, model_arch
from wattlens.catalog.specs import GpuSpec, ModelSpec
from wattlens.physics.kv import dtype_bytes, kv_bytes_per_token
from wattlens.physics.stepmodel import Hardware, Workload


def kv_parts(model: ModelSpec, kv_bytes: float, tp: int) -> tuple[float, float, float, int]:
    """(full KV bytes/token per GPU, instance total, sliding-window bytes/token per GPU, window)."""
    if model.attention_type == "MLA":
        per_gpu = float(
            kv_bytes_per_token(
                model.layers, 0, 0, kv_bytes, attention="MLA", kv_lora_rank=model.kv_lora_rank,
                qk_rope_head_dim=model.qk_rope_head_dim,
            )
        )  # fmt: skip
        return per_gpu, per_gpu, 0.0, 0
    arch = model_arch(model.id) if _in_catalog(model) else {}
    full_layers = int(arch.get("full_attention_layers", model.layers))
    heads, hd, kv_factor = model.kv_heads, model.head_dim, 1.0
    if "global_kv_heads" in arch:  # Gemma 4: global layers use other heads; K = V halves them
        heads, hd = arch["global_kv_heads"], arch["global_head_dim"]
        kv_factor = 0.5 if arch.get("global_k_eq_v") else 1.0

    def kv(layers: int, h: int, d: int, per_gpu: bool) -> float:
        return float(kv_bytes_per_token(layers, h, d, kv_bytes, tp=tp, per_gpu=per_gpu))

    full_gpu = kv(full_layers, heads, hd, True) * kv_factor
    full_total = kv(full_layers, heads, hd, False) * kv_factor
    window_layers = model.layers - full_layers if model.sliding_window > 0 else 0
    window_gpu = kv(window_layers, model.kv_heads, model.head_dim, True) if window_layers else 0.0
    return full_gpu, full_total, window_gpu, model.sliding_window if window_layers else 0


def _in_catalog(model: ModelSpec) -> bool:
    try:
        return get_model(model.id) == model
    except Exception:  # noqa: BLE001 - a spec built in a test need not be in the catalog
        return False


def _moe_layers(model: ModelSpec) -> int:
    """Layers with routed experts (all but the leading dense ones; 0 for a dense model)."""
    if not model.is_moe:
        return 0
    arch = model_arch(model.id) if _in_catalog(model) else {}
    return model.layers - int(arch.get("first_dense_layers", 0))


def moe_split(model: ModelSpec) -> tuple[float, float]:
    """(non-expert params, routed expert params) from the shapes, bounded by the totals."""
    if not model.is_moe:
        return model.total_params, 0.0
    moe_layers = _moe_layers(model)
    routed = moe_layers * model.moe_experts * 3.0 * model.hidden_size * model.moe_intermediate_size
    routed = min(routed, 0.98 * model.total_params)
    return model.total_params - routed, routed


def hardware(gpu: GpuSpec, dtype: str) -> Hardware:
    """The step model's view of a GPU at a weight dtype (FP8 tensor rate for 1-byte weights)."""
    wb = dtype_bytes(dtype)
    peak = gpu.fp8_flops if wb <= 1.0 and gpu.fp8_flops else gpu.fp16_flops
    return Hardware(gpu.memory_bandwidth_bytes_per_s, peak, gpu.tdp_watts, gpu.idle_watts)


def workload(model: ModelSpec, tp: int, dtype: str, kv_dtype_bytes: float = 2.0) -> Workload:
    """The step model's view of a model at TP `tp` and a weight dtype (KV bf16 by default)."""
    wb = dtype_bytes(dtype)
    full, _, win, window = kv_parts(model, kv_dtype_bytes, tp)
    non_expert, routed = moe_split(model)
    return Workload(
        tp=tp,
        weight_fixed_bytes=non_expert * wb / tp,
        weight_expert_bytes=routed * wb / tp,
        experts=model.moe_experts,
        top_k=model.moe_top_k,
        kv_full_bytes_per_token=full,
        kv_window_bytes_per_token=win,
        window_tokens=window,
        layers=model.layers,
        moe_layers=_moe_layers(model),
        flops_per_token=2.0 * model.active_params / tp,
        weight_bytes_per_param=wb,
    )


__all__ = ["hardware", "kv_parts", "moe_split", "workload"]
