"""Steady-window observations from scrapes that carry the engine's step and token counters
(expected values worked out by hand from the readings below)."""

from __future__ import annotations

from typing import Any

import pytest

from wattlens.measure.energy import Reading
from wattlens.measure.loadgen import LoadRun, RequestResult
from wattlens.measure.results import Setting, summarise


def _reading(t: float, energy: float, running: float, steps: float, gen: float,
             prompt: float) -> Reading:  # fmt: skip
    return Reading(t, {"GPU-0": energy}, running=running, steps=steps, generation_tokens=gen,
                   prompt_tokens=prompt)  # fmt: skip


def _summarise(readings: list[Reading]) -> dict[str, Any]:
    """The row of one setting on 1 GPU (concurrency 4, max_tokens 3, 1 request): the request
    sent at 9.5 s and done at 20.5 s, the client at its concurrency from 10.0 to 20.0 s, the
    energy measured over 9.0 .. 21.0 s."""
    req = RequestResult(sent_s=9.5, end_s=20.5, chunk_times_s=[10.6, 15.0, 19.4],
                        output_tokens=3, prompt_tokens=6)  # fmt: skip
    run = LoadRun(4, 3, [req], 9.5, 20.5, 10.0, 20.0)
    return summarise(Setting(4, 3, 1), run, readings, measured=(9.0, 21.0), idle_power_watts=None,
                     subtract_idle=False, gpu_count=1, energy_source="emulator",
                     sample_interval_s=2.0, min_steady_s=1.0)  # fmt: skip


def test_steady_batch_is_tokens_per_step_between_busy_scrapes() -> None:
    # The client reaches its concurrency at 10.0 and starts draining at 20.0; the engine idles
    # (100 W) until its first step at 10.5 and again after 19.5; it draws 300 W while busy.
    readings = [
        _reading(9.0, 0.0, 0, 0, 0, 0),
        _reading(10.2, 120.0, 0, 0, 0, 0),  # inside the client's window, engine idle
        _reading(10.5, 150.0, 4, 0, 0, 0),
        _reading(15.5, 1650.0, 4, 100, 350, 700),
        _reading(19.0, 2700.0, 4, 170, 620, 1240),
        _reading(19.8, 2880.0, 0, 180, 660, 1240),  # idle again
        _reading(21.0, 3000.0, 0, 180, 660, 1240),
    ]
    row = _summarise(readings)
    # Busy scrapes only: 10.5 .. 19.0 (170 steps, 620 tokens, 1240 prompt tokens, 2550 J).
    assert (row["steady_start_s"], row["steady_end_s"]) == (10.5, 19.0)
    assert row["steady_batch_source"] == "engine_steps"
    assert row["steady_batch"] == pytest.approx(620 / 170)
    assert row["steady_output_tokens"] == 620
    assert row["steady_prompt_per_output"] == pytest.approx(2.0)
    assert row["steady_joules_per_output_token"] == pytest.approx(2550 / 620)
    assert row["steady_power_watts_per_gpu"] == pytest.approx(300.0)
    assert row["valid"], row["flags"]


def test_without_a_step_counter_the_batch_is_the_running_gauge() -> None:
    readings = [
        Reading(t, {"GPU-0": 300.0 * t}, running=r)
        for t, r in ((9.0, 0), (10.5, 3), (12.0, 4), (14.0, 4), (16.0, 5), (21.0, 0))
    ]
    row = _summarise(readings)
    assert row["steady_batch_source"] == "engine"
    assert row["steady_batch"] == pytest.approx((3 + 4 + 4 + 5) / 4)
    assert (row["steady_start_s"], row["steady_end_s"]) == (10.0, 20.0)
