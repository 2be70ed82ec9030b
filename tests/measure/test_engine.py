"""The emulated engine on a sped-up clock: its token times and energy counter are the planted
step model's, step by step (expected values computed here from `physics.stepmodel`)."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

from wattlens.emulator.engine import Engine, EngineSpec, ScaledClock, planted_params
from wattlens.emulator.openai import iteration_text
from wattlens.emulator.steplog import StepLog
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


def test_a_scrape_is_one_step_boundary() -> None:
    """Mid-step, the state shown is the boundary the step started at: the energy counter, the
    clock and the token and step counters all describe the same whole steps."""
    spec = EngineSpec.build("llama-3.1-70b", "A100-80GB", 4,
                            params=planted_params(["p_floor=0.3", "eta_weights=0.85"]))  # fmt: skip
    engine = Engine(spec, ScaledClock(speed=20.0))
    polls: list[tuple[float, float, int, float, float]] = []

    async def one() -> list[float]:
        return [ev.time_s async for ev in engine.generate(N_IN, N_OUT)]

    async def poll(stop: asyncio.Event) -> None:
        while not stop.is_set():
            t = engine.state_time()
            c = engine.counters
            polls.append((t, engine.clock.now(), c.steps, c.generation_tokens,
                          engine.meter.energy_at(t)))  # fmt: skip
            await asyncio.sleep(0)  # yield to the engine and the streams (no timing)

    async def run() -> list[list[float]]:
        stop = asyncio.Event()
        poller = asyncio.create_task(poll(stop))
        out = await asyncio.gather(*(one() for _ in range(BATCH)))
        stop.set()
        await poller
        await engine.close()
        return list(out)

    times = asyncio.run(run())
    taus, energies = [], []
    for k in range(N_OUT):  # as above: step k decodes N_IN + k tokens each, step 0 prefills
        step = decode_step(spec.params, spec.hw, spec.wl, BATCH, N_IN + k,
                           prefill_tokens_per_step=BATCH * N_IN if k == 0 else 0)  # fmt: skip
        taus.append(float(step.step_s))
        energies.append(float(step.power_watts) * float(step.step_s))
    start = times[0][0] - taus[0]
    busy = [p for p in polls if p[0] >= start and 0 < p[2] < N_OUT]
    assert busy, "no poll while the engine ran"
    assert any(now > t + 1e-4 for t, now, *_ in busy)  # some polls fell inside a step
    for t, _, steps, tokens, energy in busy:
        assert t == pytest.approx(start + sum(taus[:steps]), abs=1e-6)
        assert tokens == BATCH * steps
        # Epoch floats resolve ~0.2 us per boundary: ~1e-4 J over the steps at ~300 W.
        expected = sum(energies[:steps])
        assert energy - engine.meter.energy_at(start) == pytest.approx(expected, rel=1e-5)
    # The step log's window truth: what ran between two boundaries, whole steps only.
    win = engine.log.window(start + sum(taus[:2]), start + sum(taus[:5]))
    assert (win.steps, win.generation_tokens, win.prompt_tokens) == (3, 3 * BATCH, 0)
    assert win.busy_s == pytest.approx(sum(taus[2:5]), abs=1e-6)
    assert win.running_request_s == pytest.approx(BATCH * sum(taus[2:5]), abs=4e-6)


def test_step_log_window_counts_tokens_when_their_step_ends() -> None:
    log = StepLog()
    log.add(0.0, 1.0, 2, 10)  # 2 sequences, 10 prompt tokens prefilled
    log.add(1.0, 3.0, 4, 0)
    log.add(5.0, 6.0, 1, 0)  # after an idle spell
    win = log.window(0.5, 5.5)
    # Busy: half of step 1, all of step 2, half of step 3; steps 1 and 2 end inside.
    assert win.busy_s == pytest.approx(0.5 + 2.0 + 0.5)
    assert win.running_request_s == pytest.approx(2 * 0.5 + 4 * 2.0 + 1 * 0.5)
    assert (win.steps, win.generation_tokens, win.prompt_tokens) == (2, 6, 10)
    assert win.mean_running == pytest.approx(9.5 / 5.0)
    assert log.window(-1.0, 0.0).steps == 0


def test_iteration_histogram_counts_steps_and_their_tokens() -> None:
    spec = EngineSpec.build("llama-3.1-70b", "A100-80GB", 4)
    engine = Engine(spec, ScaledClock(speed=20.0))

    async def run() -> None:
        async def one() -> None:
            async for _ in engine.generate(N_IN, N_OUT):
                pass

        await asyncio.gather(*(one() for _ in range(BATCH)))
        await engine.close()

    asyncio.run(run())
    fams = {f.name: f for f in text_string_to_metric_families(iteration_text(engine))}
    samples = {(s.name, s.labels.get("le")): s.value
               for s in fams["vllm:iteration_tokens_total"].samples}  # fmt: skip
    # Step 0: BATCH decodes + BATCH x N_IN prompt tokens (404, bucket 512); then N_OUT - 1
    # steps of BATCH (4, bucket 8).
    name = "vllm:iteration_tokens_total"
    assert samples[(name + "_count", None)] == N_OUT
    assert samples[(name + "_sum", None)] == BATCH * N_OUT + BATCH * N_IN
    assert samples[(name + "_bucket", "1.0")] == 0
    assert samples[(name + "_bucket", "8.0")] == N_OUT - 1
    assert samples[(name + "_bucket", "256.0")] == N_OUT - 1
    assert samples[(name + "_bucket", "512.0")] == N_OUT
    assert samples[(name + "_bucket", "+Inf")] == N_OUT
