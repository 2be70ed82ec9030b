"""Planted ground truth per deployment over a window: exact energy, tokens and identity."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from wattlens.core.errors import InputError
from wattlens.emulator.model import FleetModel
from wattlens.emulator.scenario import Scenario


@dataclass(frozen=True, slots=True)
class Truth:
    """What wattlens should find for one deployment over [start_s, end_s]."""

    deployment_id: str  # "<namespace>/<workload>"
    namespace: str
    workload: str
    container: str
    engine: str
    served_model_name: str | None
    model: str | None
    gpu_type: str
    gpu_model_name: str
    gpu_count: int
    node: str
    start_s: float
    end_s: float
    energy_joules: float  # exact integral of GPU power, all GPUs of the deployment
    mean_power_watts: float
    prompt_tokens: float | None  # None without engine metrics
    generation_tokens: float | None
    requests_finished: float | None
    itl_seconds_sum: float | None
    idle_watts_per_gpu: float  # planted
    peak_watts_per_gpu: float
    decode_tokens_per_s: float  # planted per-stream decode speed (step: window mean)
    pods: tuple[str, ...]  # pod names alive during the window
    expect: dict[str, Any]  # planted expectations from `expect_*` keys
    step_params: dict[str, float] | None = None  # planted step model (power_curve = "step")

    @property
    def total_tokens(self) -> float | None:
        """Prompt + generation tokens."""
        if self.prompt_tokens is None or self.generation_tokens is None:
            return None
        return self.prompt_tokens + self.generation_tokens

    @property
    def tokens_per_s(self) -> float | None:
        """Mean total tok/s over the window."""
        total = self.total_tokens
        return None if total is None else total / (self.end_s - self.start_s)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for JSON, with the derived rates."""
        out = asdict(self)
        out["pods"] = list(self.pods)
        out["total_tokens"] = self.total_tokens
        out["tokens_per_s"] = self.tokens_per_s
        return out


def truth_from_model(model: FleetModel, start_s: float, end_s: float) -> dict[str, Truth]:
    """Truth per deployment key for an existing model (reuses its caches)."""
    if not end_s > start_s:
        raise InputError(f"truth window [{start_s}, {end_s}] is empty; end must be after start")
    tok, energy, itl = model.cumulative_all([start_s, end_s])
    out: dict[str, Truth] = {}
    for di, d in enumerate(model.scenario.deployments):
        gi = model.gpu_deployment == di
        joules = float(np.sum(energy[gi, 1] - energy[gi, 0]))
        tokens = float(tok[di, 1] - tok[di, 0])
        gen_tokens = (1.0 - d.traffic.prompt_fraction) * tokens
        has_engine = d.engine != "none"
        g0, g1 = model.generation_at(di, [start_s, end_s])
        planted = model.planted.get(di)
        itl_s = (
            float(itl[di, 1] - itl[di, 0])
            if planted
            else gen_tokens / d.traffic.decode_tokens_per_s
        )
        decode = gen_tokens / itl_s if planted and itl_s > 0 else d.traffic.decode_tokens_per_s
        out[d.key] = Truth(
            deployment_id=d.key,
            namespace=d.namespace,
            workload=d.workload,
            container=d.container,
            engine=d.engine,
            served_model_name=d.served_model_name,
            model=d.model,
            gpu_type=d.gpu,
            gpu_model_name=d.gpu_model_name,
            gpu_count=d.gpu_count,
            node=d.node,
            start_s=float(start_s),
            end_s=float(end_s),
            energy_joules=joules,
            mean_power_watts=joules / (end_s - start_s),
            prompt_tokens=d.traffic.prompt_fraction * tokens if has_engine else None,
            generation_tokens=gen_tokens if has_engine else None,
            requests_finished=(
                gen_tokens / d.traffic.output_tokens_per_request if has_engine else None
            ),
            itl_seconds_sum=itl_s if has_engine else None,
            idle_watts_per_gpu=d.power.idle_watts_per_gpu,
            peak_watts_per_gpu=d.power.peak_watts_per_gpu,
            decode_tokens_per_s=decode,
            pods=tuple(model.pod_name(di, g) for g in range(int(g0), int(g1) + 1)),
            expect=dict(d.expect),
            step_params=planted.params.as_dict() if planted else None,
        )
    return out


def truth(
    scenario: Scenario, start_s: float, end_s: float, *, start_of_scenario_s: float
) -> dict[str, Truth]:
    """Truth per deployment key (`"<namespace>/<workload>"`) over [start_s, end_s]."""
    return truth_from_model(FleetModel(scenario, start_of_scenario_s), start_s, end_s)


__all__ = ["Truth", "truth", "truth_from_model"]
