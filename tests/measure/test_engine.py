"""The emulated engine on a sped-up clock: its token times and energy counter are the planted
step model's, step by step (expected values computed here from `physics.stepmodel`)."""

from __future__ import annotations

import asyncio

import pytest

from wattlens.emulator.engine import Engine, EngineSpec, ScaledClock, planted_params
from wattlens.physics.stepmodel import decode_step

N_IN, N_OUT, BATCH = 100, 8, 4


def test_steps_and_energy_are_the_planted_model() -> None:
    spec = EngineSpec.build("llama-3.1-70b", "A100-80GB", 4,
                            params=planted_params(["p_floor=0.3", "eta_weights=0.85"]))  # fmt: skip
    engine = Engine(spec, ScaledClock(speed=20.0))

    async def one() -> list[float]:
        return [ev.time_s async for ev in engine.generate(N_IN, N_OUT)]

    async def run() -> list[list[float]]:
        out = await asyncio.gather(*(one() for _ in range(BATCH)))
        await engine.close()
        return list(out)

    t_submit = engine.clock.now()
    times = asyncio.run(run())
    # Independent: step k decodes BATCH sequences of N_IN + k tokens; step 0 also prefills.
    taus, energy = [], 0.0
    for k in range(N_OUT):
        step = decode_step(spec.params, spec.hw, spec.wl, BATCH, N_IN + k,
                           prefill_tokens_per_step=BATCH * N_IN if k == 0 else 0)  # fmt: skip
        taus.append(float(step.step_s))
        energy += 4 * float(step.power_watts) * float(step.step_s)
    start = times[0][0] - taus[0]
    assert start >= t_submit
    for ts in times:  # all four in every step, back to back
        gaps = [b - a for a, b in zip(ts, ts[1:], strict=False)]
        assert gaps == pytest.approx(taus[1:], abs=1e-6)  # epoch floats: ~0.2 us resolution
    end = times[0][-1]
    measured = 4 * (engine.meter.energy_at(end) - engine.meter.energy_at(start))
    assert measured == pytest.approx(energy, rel=1e-6)
    # Before the first step and after the last the GPUs idle at the catalog's idle power.
    idle = engine.meter.energy_at(start) - engine.meter.energy_at(engine.start_s)
    assert idle == pytest.approx(93.0 * (start - engine.start_s), rel=1e-6, abs=1e-3)
    c = engine.counters
    assert (c.generation_tokens, c.prompt_tokens, c.requests_finished) == (
        BATCH * N_OUT,
        BATCH * N_IN,
        BATCH,
    )
