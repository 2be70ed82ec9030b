"""The load generator: a closed loop of `concurrency` streaming clients over httpx.

Each request streams (SSE) from an OpenAI-compatible endpoint; the client records when it was
sent, when each content chunk arrived, and the `usage` of the final chunk (asked for with
`stream_options.include_usage`). Output tokens come from `usage` when the server sends it,
else from the number of content chunks. Times are epoch seconds (`time.time()` anchored,
`perf_counter` resolution) so they line up with energy readings.

The steady window follows the ML.ENERGY benchmark: from when `concurrency` requests are in
flight to when the drain starts (the first client that finds no request left to send). With a
fixed `max_tokens`, stream i starts once the first stream is i/concurrency through its answer,
so requests of one length do not all finish in the same engine step (which would idle the
engine between rounds and batch every prompt into one prefill).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from wattlens.core.errors import BackendError
from wattlens.measure.dataset import Prompt


class EpochClock:
    """Epoch seconds with perf_counter resolution."""

    def __init__(self) -> None:
        self._t0, self._p0 = time.time(), time.perf_counter()

    def __call__(self) -> float:
        return self._t0 + (time.perf_counter() - self._p0)


@dataclass(slots=True)
class RequestResult:
    """One request: times (epoch s), tokens and words of its answer."""

    sent_s: float
    end_s: float = 0.0
    chunk_times_s: list[float] = field(default_factory=list)
    output_tokens: int = 0  # usage.completion_tokens, else content chunks
    prompt_tokens: int | None = None  # usage.prompt_tokens when sent
    usage_reported: bool = False
    words: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Completed without an error."""
        return self.error is None

    @property
    def ttft_s(self) -> float | None:
        """Time to the first content chunk."""
        return self.chunk_times_s[0] - self.sent_s if self.chunk_times_s else None

    @property
    def e2e_s(self) -> float:
        """End-to-end latency."""
        return self.end_s - self.sent_s

    def itl_s(self) -> list[float]:
        """Gaps between content chunks."""
        t = self.chunk_times_s
        return [b - a for a, b in zip(t, t[1:], strict=False)]


@dataclass(slots=True)
class LoadRun:
    """A finished load run at one setting."""

    concurrency: int
    max_tokens: int | None
    results: list[RequestResult]
    start_s: float
    end_s: float
    steady_start_s: float | None  # concurrency reached (None: never reached)
    steady_end_s: float | None  # drain started


def _body(model: str, p: Prompt, max_tokens: int | None, ignore_eos: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "stream": True,
                            "stream_options": {"include_usage": True}}  # fmt: skip
    if p.chat:
        body["messages"] = list(p.messages or ())
    else:
        body["prompt"] = p.prompt
    mt = max_tokens if max_tokens is not None else p.max_tokens
    if mt is not None:
        body["max_tokens"] = mt
    if ignore_eos:
        body["ignore_eos"] = True  # vLLM/SGLang extension: fixed output length
    return body


async def _one(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], now: Callable[[], float],
    on_chunk: Callable[[], None] | None = None,
) -> RequestResult:  # fmt: skip
    res = RequestResult(sent_s=now())
    chunks, words, buf = 0, 0, b""
    try:
        async with client.stream("POST", url, json=body) as resp:
            if resp.status_code >= 400:
                body_text = (await resp.aread()).decode(errors="replace")[:200]
                res.error = f"HTTP {resp.status_code}: {body_text}"
                res.end_s = now()
                return res
            async for data in resp.aiter_bytes():
                t = now()
                buf += data
                *events, buf = buf.split(b"\n\n")
                for ev in events:
                    if not ev.startswith(b"data:"):
                        continue
                    payload = ev[5:].strip()
                    if payload == b"[DONE]":
                        continue
                    obj = json.loads(payload)
                    for ch in obj.get("choices") or ():
                        text = ch.get("text")
                        if text is None:
                            text = (ch.get("delta") or {}).get("content")
                        if text:
                            chunks += 1
                            words += len(text.split())
                            res.chunk_times_s.append(t)
                            if on_chunk is not None:
                                on_chunk()
                    usage = obj.get("usage")
                    if usage:
                        res.usage_reported = True
                        res.output_tokens = int(usage.get("completion_tokens") or 0)
                        res.prompt_tokens = usage.get("prompt_tokens")
    except httpx.HTTPError as e:
        res.error = f"{type(e).__name__}: {e}"
    except (ValueError, KeyError) as e:
        res.error = f"malformed stream: {e}"
    res.end_s = now()
    if not res.usage_reported:
        res.output_tokens = chunks
    res.words = words
    return res


async def check_endpoint(client: httpx.AsyncClient, base_url: str) -> None:
    """Fail fast with the URL when the endpoint does not answer `GET /v1/models`."""
    url = base_url.rstrip("/") + "/models"
    try:
        resp = await client.get(url, timeout=5.0)
    except httpx.HTTPError as e:
        raise BackendError(f"endpoint {url}: unreachable ({type(e).__name__}: {e})") from e
    if resp.status_code >= 400:
        raise BackendError(f"endpoint {url}: HTTP {resp.status_code}; is it OpenAI-compatible?")


async def run_load(
    client: httpx.AsyncClient,
    base_url: str,
    model: str,
    prompts: Sequence[Prompt],
    *,
    concurrency: int,
    requests: int,
    max_tokens: int | None,
    ignore_eos: bool = False,
    on_done: Callable[[RequestResult], None] | None = None,
    now: Callable[[], float] | None = None,
    stream_client: Callable[[], httpx.AsyncClient] | None = None,
) -> LoadRun:
    """Send `requests` requests, `concurrency` at a time, cycling through `prompts`.

    With `stream_client`, each concurrent stream gets its own client (one connection): httpx's
    shared pool scans every connection on each chunk, which at 256 streams costs more CPU than
    the rest of the harness together.
    """
    clock = now or EpochClock()
    base = base_url.rstrip("/")
    results: list[RequestResult] = []
    next_index = 0
    in_flight = 0
    steady: dict[str, float] = {}

    # Staggered starts: stream i sends its first request once the first stream is i/concurrency
    # through its answer, so fixed-length requests do not finish together and leave the engine
    # empty (or prefilling a whole wave at once) between rounds. Streams 0..i-1 have then sent
    # (m/c)(i + (i-1) + ... + 1) chunks together, m tokens per answer and c streams.
    gates: list[tuple[int, asyncio.Event]] = []
    chunks = 0

    def on_chunk() -> None:
        nonlocal chunks
        chunks += 1
        while gates and gates[0][0] <= chunks:
            gates.pop(0)[1].set()

    def open_gates() -> None:  # a request ended: stop waiting on tokens that may never come
        while gates:
            gates.pop(0)[1].set()

    async def worker(i: int) -> None:
        offset = max_tokens * i * (i + 1) // (2 * concurrency) if max_tokens else 0
        if offset > chunks:
            gate = asyncio.Event()
            gates.append((offset, gate))
            gates.sort(key=lambda g: g[0])
            await gate.wait()
        if stream_client is None:
            await work(client)
            return
        async with stream_client() as own:
            await work(own)

    async def work(client: httpx.AsyncClient) -> None:
        nonlocal next_index, in_flight
        while next_index < requests:
            i = next_index
            next_index += 1
            p = prompts[i % len(prompts)]
            path = "/chat/completions" if p.chat else "/completions"
            in_flight += 1
            if in_flight >= concurrency and "start" not in steady:
                steady["start"] = clock()
            body = _body(model, p, max_tokens, ignore_eos)
            r = await _one(client, base + path, body, clock, on_chunk)
            in_flight -= 1
            open_gates()
            results.append(r)
            if on_done is not None:
                on_done(r)
        steady.setdefault("end", clock())

    start = clock()
    await asyncio.gather(*(worker(i) for i in range(max(1, min(concurrency, requests)))))
    end = clock()
    return LoadRun(
        concurrency, max_tokens, results, start, end, steady.get("start"),
        steady.get("end") if "start" in steady else None,
    )  # fmt: skip


__all__ = ["EpochClock", "LoadRun", "RequestResult", "check_endpoint", "run_load"]
