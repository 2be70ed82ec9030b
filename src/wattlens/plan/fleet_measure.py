"""A deployment's measured throughput, power and energy per request from stored history, for
`plan query --from-fleet`: the paper's regression beside what the fleet actually did.

Energy and tokens are the store's per-deployment totals over the period (GPU energy; PUE is
applied by the Monte Carlo, as for the models). Wh per request = energy / finished requests
(`vllm:request_success_total`); its idle part is the energy of intervals without tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wattlens.core.errors import InputError, NotFoundError
from wattlens.store import StoreReader

JOULES_PER_WH = 3600.0


@dataclass(frozen=True, slots=True)
class FleetMeasure:
    """Totals of one deployment over a period and the rates the Monte Carlo uses."""

    deployment_id: str
    covered_s: float
    energy_joules: float
    active_energy_joules: float
    generation_tokens: float
    prompt_tokens: float
    requests_finished: float | None

    @property
    def power_kw(self) -> float:
        """Mean power over the covered time, kW (GPU)."""
        return self.energy_joules / self.covered_s / 1000.0

    @property
    def generation_tokens_per_s(self) -> float:
        """Mean output tokens/s over the covered time."""
        return self.generation_tokens / self.covered_s

    @property
    def wh_per_request(self) -> float | None:
        """Measured GPU energy per finished request, Wh (None without request counts)."""
        if not self.requests_finished:
            return None
        return self.energy_joules / self.requests_finished / JOULES_PER_WH

    def as_dict(self) -> dict[str, Any]:
        """JSON fields of the measurement (GPU energy, before PUE)."""
        req = self.requests_finished or None
        idle = self.energy_joules - self.active_energy_joules
        return {
            "deployment_id": self.deployment_id,
            "covered_s": self.covered_s,
            "power_kw": self.power_kw,
            "generation_tokens_per_s": self.generation_tokens_per_s,
            "joules_per_output_token": self.energy_joules / self.generation_tokens,
            "requests_finished": self.requests_finished,
            "measured_wh_per_request": self.wh_per_request,
            "idle_wh_per_request": None if req is None else idle / req / JOULES_PER_WH,
            "marginal_wh_per_request": None
            if req is None
            else self.active_energy_joules / req / JOULES_PER_WH,
            "mean_output_tokens_per_request": None if req is None else self.generation_tokens / req,
            "mean_input_tokens_per_request": None if req is None else self.prompt_tokens / req,
            "energy_basis": "GPU energy from telemetry; the Wh fields beside it include PUE",
        }


def measure_deployment(
    store: StoreReader,
    deployment_id: str,
    *,
    since_s: float | None = None,
    until_s: float | None = None,
    min_tokens_per_s: float = 0.0,
) -> FleetMeasure:
    """One deployment's totals over (since, until]; NotFoundError / InputError when unusable."""
    rows = store.totals(since_s, until_s, active_min_tokens_per_s=min_tokens_per_s)
    row = next((r for r in rows if r["deployment_id"] == deployment_id), None)
    if row is None:
        known = ", ".join(sorted(r["deployment_id"] for r in rows)) or "none"
        raise NotFoundError(f"from_fleet {deployment_id!r}: no stored data for this deployment "
                            f"in the period; deployments with data: {known}",
                            field="from_fleet")  # fmt: skip
    covered = float(row.get("covered_s") or 0.0)
    energy = row.get("energy_joules")
    gen = row.get("generation_tokens")
    if not covered > 0 or energy is None or not energy > 0:
        raise InputError(f"from_fleet {deployment_id!r}: no energy measured in the period",
                         field="from_fleet")  # fmt: skip
    if gen is None or not gen > 0:
        raise InputError(f"from_fleet {deployment_id!r}: no output tokens counted in the period "
                         "(the engine's generation-token counter is needed for its throughput)",
                         field="from_fleet")  # fmt: skip
    req = row.get("requests_finished")
    return FleetMeasure(
        deployment_id=deployment_id,
        covered_s=covered,
        energy_joules=float(energy),
        active_energy_joules=float(row.get("active_energy_joules") or 0.0),
        generation_tokens=float(gen),
        prompt_tokens=float(row.get("prompt_tokens") or 0.0),
        requests_finished=None if req is None else float(req),
    )


__all__ = ["FleetMeasure", "measure_deployment"]
