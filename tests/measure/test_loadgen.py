"""The load generator against the in-process emulator (real HTTP on loopback)."""

from __future__ import annotations

import asyncio

import httpx

from wattlens.emulator.endpoint import EmulateServer
from wattlens.measure.dataset import synthetic_prompt
from wattlens.measure.loadgen import run_load

from .conftest import MODEL

CONCURRENCY, N_OUT = 4, 16


def test_fixed_length_streams_start_staggered(emulated: EmulateServer) -> None:
    async def go() -> list[list[float]]:
        async with httpx.AsyncClient(timeout=30.0) as client:
            run = await run_load(client, emulated.url + "/v1", MODEL, [synthetic_prompt(8)],
                                 concurrency=CONCURRENCY, requests=CONCURRENCY,
                                 max_tokens=N_OUT)  # fmt: skip
        return [[r.sent_s, *r.chunk_times_s] for r in sorted(run.results, key=lambda r: r.sent_s)]

    runs = asyncio.run(go())
    first = runs[0][1:]
    assert len(first) == N_OUT
    for k, (sent, *_) in enumerate(runs[1:], start=1):
        # Stream k is sent when the first answer is k/4 through: 4, 8, 12 of its 16 tokens
        # (give or take the one token of the step whose chunk opened the gate).
        seen = sum(1 for t in first if t <= sent)
        assert abs(seen - k * N_OUT // CONCURRENCY) <= 1, (k, seen)
    ends = [r[-1] for r in runs]
    assert len(set(ends)) == CONCURRENCY  # no two answers end in the same step
