"""Frontier comparison: what a frontier-scale deployment would draw for the same token rates.

    frontier_watts = gpu_count x idle W per GPU + prompt tok/s x E_prompt + generation tok/s x E_gen
    ratio          = frontier_watts / measured watts          (same grid, so also the CO2 ratio)

(reference carbon.md section 5). The legacy spec `nrp-2026` types in E_prompt = 0.5 and
E_gen = 6.0 J/token. Specs without them derive both from the planning physics:
- prefill is compute-bound: 2 x active params FLOPs per token at `prefill_utilisation` of the
  GPUs' peak (FP8 when the weights are 1 byte), with every GPU at TDP, so
  E_prompt = gpu_count x (TDP - idle) / (gpu_count x u x peak / (2 x active params));
- decode streams the active weights once per step (roofline weight stream at 80 % of peak
  bandwidth), `decode_batch` tokens per step, with the power rise of the 1/W paper's logistic
  curve at that batch over the loaded-idle power (Appendix A's table, or for other GPUs the
  paper's TDP fractions from catalog/papers.toml):
  E_gen = gpu_count x (P_logistic(batch) - idle) x step time / batch.
Reading every active weight once per step is low for a MoE at batch > 1 (the union of the
experts grows), so E_gen is a floor at larger batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from wattlens.analysis.options import AnalysisOptions
from wattlens.catalog import FrontierSpec, constant, get_frontier, get_gpu, paper_params
from wattlens.physics.power import logistic_power
from wattlens.physics.roofline import prefill_flops, weight_stream_time_s


@dataclass(frozen=True, slots=True)
class FrontierModel:
    """A frontier spec with all four numbers resolved."""

    spec_id: str
    gpu: str
    gpu_count: int
    idle_watts_per_gpu: float
    prompt_joules_per_token: float
    generation_joules_per_token: float
    derived: bool  # marginal energies from physics (False: typed into the spec)
    assumptions: dict[str, Any]

    @property
    def idle_floor_watts(self) -> float:
        """gpu_count x idle W per GPU."""
        return self.gpu_count * self.idle_watts_per_gpu

    def power_watts(self, prompt_tokens_per_s: float, generation_tokens_per_s: float) -> float:
        """Frontier power serving these token rates."""
        return (
            self.idle_floor_watts
            + prompt_tokens_per_s * self.prompt_joules_per_token
            + generation_tokens_per_s * self.generation_joules_per_token
        )


@cache
def _logistic_params(gpu_id: str) -> tuple[float, float, float, float]:
    """(P_idle, P_nom, k, x0) of the 1/W paper's power appendix; elsewhere the paper's projection
    rule (idle and nominal as fractions of TDP, `b200_projection` in catalog/papers.toml, the
    same numbers `plan.paper` projects the B200 with)."""
    paper = paper_params("oneoverw2026")
    table = paper["power_appendix_a"]
    if gpu_id in table["gpus"]:
        i = table["gpus"].index(gpu_id)
        return table["p_idle_watts"][i], table["p_nominal_watts"][i], table["k"][i], table["x0"][i]
    tdp = get_gpu(gpu_id).tdp_watts
    proj = paper["b200_projection"]
    idle_frac, nominal_frac = proj["p_idle_fraction_of_tdp"], proj["p_nominal_fraction_of_tdp"]
    return idle_frac * tdp, nominal_frac * tdp, table["k"][0], table["x0"][0]


def resolve_frontier(
    spec: str | FrontierSpec, options: AnalysisOptions, *, decode_batch: float | None = None
) -> FrontierModel:
    """The spec's idle floor and marginal energies, derived from physics where not typed in."""
    s = spec if isinstance(spec, FrontierSpec) else get_frontier(spec)
    return _resolve(s, options, options.decode_batch if decode_batch is None else decode_batch)


@cache
def _resolve(s: FrontierSpec, options: AnalysisOptions, batch: float) -> FrontierModel:
    gpu = get_gpu(s.gpu)
    idle = s.idle_watts_per_gpu if s.idle_watts_per_gpu is not None else gpu.idle_watts
    if s.prompt_joules_per_token is not None and s.generation_joules_per_token is not None:
        return FrontierModel(s.id, gpu.id, s.gpu_count, idle, s.prompt_joules_per_token,
                             s.generation_joules_per_token, False,
                             {"marginal_energies": "typed into the spec (legacy)"})  # fmt: skip
    peak = gpu.fp8_flops if s.dtype_bytes <= 1.0 and gpu.fp8_flops else gpu.fp16_flops
    u = options.prefill_utilisation
    flops = float(prefill_flops(1, active_params=s.active_params, layers=0,
                                attention_heads=0, head_dim=0))  # fmt: skip
    prefill_tps = s.gpu_count * u * peak / flops
    prompt_j = s.gpu_count * (gpu.tdp_watts - idle) / prefill_tps
    step = float(
        weight_stream_time_s(
            s.active_params * s.dtype_bytes / s.gpu_count,
            gpu.memory_bandwidth_bytes_per_s,
            0,
            bandwidth_efficiency=options.bandwidth_efficiency,
        )
    )
    p_idle, p_nom, k, x0 = _logistic_params(gpu.id)
    p_batch = float(logistic_power(batch, p_idle, p_nom, k, x0))
    gen_j = s.gpu_count * max(p_batch - idle, 0.0) * step / batch
    return FrontierModel(
        spec_id=s.id,
        gpu=gpu.id,
        gpu_count=s.gpu_count,
        idle_watts_per_gpu=idle,
        prompt_joules_per_token=s.prompt_joules_per_token or prompt_j,
        generation_joules_per_token=s.generation_joules_per_token or gen_j,
        derived=True,
        assumptions={
            "prefill_flops_per_token": flops,
            "peak_flops_per_gpu": peak,
            "prefill_utilisation": u,
            "prefill_tokens_per_s": prefill_tps,
            "decode_batch": batch,
            "decode_step_s": step,
            "decode_tokens_per_s": batch / step,
            "bandwidth_efficiency": options.bandwidth_efficiency,
            "power_per_gpu_at_batch_watts": p_batch,
            "logistic_power": {
                "p_idle_watts": p_idle,
                "p_nominal_watts": p_nom,
                "k": k,
                "x0": x0,
                "source": "Chen et al. 2026, Appendix A",
            },  # fmt: skip
        },
    )


def ratio_label(ratio: float | None) -> str:
    """The NRP dashboard's words: 'less energy', 'more energy' or 'about the same'."""
    if ratio is None:
        return "not compared"
    if ratio >= constant("frontier_ratio_more_threshold").value:
        return "less energy"
    if ratio <= constant("frontier_ratio_less_threshold").value:
        return "more energy"
    return "about the same"


def _ratio(m: FrontierModel, prompt: float, gen: float, measured: float) -> float:
    return m.power_watts(prompt, gen) / measured


def compare_to_frontier(
    prompt_tokens_per_s: float,
    generation_tokens_per_s: float,
    measured_watts: float,
    spec: str | FrontierSpec,
    options: AnalysisOptions,
) -> dict[str, Any]:
    """Frontier power, ratio, label and the ratio's sensitivity to the spec's numbers."""
    m = resolve_frontier(spec, options)
    if not (measured_watts > 0 and math.isfinite(measured_watts)):
        return {"spec": m.spec_id, "frontier_watts": None, "ratio": None,
                "label": ratio_label(None)}  # fmt: skip
    args = (prompt_tokens_per_s, generation_tokens_per_s, measured_watts)
    ratio = _ratio(m, *args)
    sens: dict[str, list[float]] = {
        "idle_watts_per_gpu x0.8/x1.2": [
            _ratio(replace(m, idle_watts_per_gpu=m.idle_watts_per_gpu * f), *args)
            for f in (0.8, 1.2)
        ],
        "marginal_joules_per_token x0.5/x2": [
            _ratio(
                replace(
                    m,
                    prompt_joules_per_token=m.prompt_joules_per_token * f,
                    generation_joules_per_token=m.generation_joules_per_token * f,
                ),
                *args,
            )
            for f in (0.5, 2.0)
        ],  # fmt: skip
        "gpu_count x0.75/x1.25": [
            _ratio(replace(m, gpu_count=max(1, round(m.gpu_count * f))), *args)
            for f in (0.75, 1.25)
        ],
    }
    if m.derived:
        sens["decode_batch 1/16"] = [
            _ratio(resolve_frontier(spec, options, decode_batch=b), *args) for b in (1.0, 16.0)
        ]
    return {
        "spec": m.spec_id,
        "derived": m.derived,
        "frontier_watts": m.power_watts(prompt_tokens_per_s, generation_tokens_per_s),
        "idle_floor_watts": m.idle_floor_watts,
        "prompt_joules_per_token": m.prompt_joules_per_token,
        "generation_joules_per_token": m.generation_joules_per_token,
        "prompt_tokens_per_s": prompt_tokens_per_s,
        "generation_tokens_per_s": generation_tokens_per_s,
        "measured_watts": measured_watts,
        "ratio": ratio,
        "label": ratio_label(ratio),
        "sensitivity": sens,
        "assumptions": m.assumptions,
    }


__all__ = ["FrontierModel", "compare_to_frontier", "ratio_label", "resolve_frontier"]
