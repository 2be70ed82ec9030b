"""The emulated engine behind an OpenAI-compatible API, with vLLM and dcgm-exporter `/metrics`.

Routes: `POST /v1/completions`, `POST /v1/chat/completions` (streaming SSE or not, with
`usage`), `GET /v1/models`, `GET /metrics` (dcgm-exporter families of the instance's GPUs, the
vLLM families of its engine, and `wattlens_emulator_clock_seconds`, the engine's clock; while a
step runs, all of them show the step boundary it started at, `Engine.state_time`),
`GET /truth?start=&end=` (exact energy per GPU between two engine times, what the engine did in
between: busy time, the integral of requests running, tokens of the steps that ended; and its
counters now: tokens, requests, summed ITL and TTFT), `GET /health`.

The emulated tokenizer counts one token per whitespace-separated word of the prompt (or one per
id when the prompt is a list of ids); each output token is one word.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from wattlens.emulator.engine import ITERATION_BUCKETS, Engine
from wattlens.emulator.exposition import CONTENT_TYPE, dcgm_text, vllm_text
from wattlens.emulator.model import FleetModel, Observation
from wattlens.emulator.scenario import Deployment, Node, PowerModel, Scenario, Traffic

NODE = "emulate-node"
CLOCK_METRIC = "wattlens_emulator_clock_seconds"
_WORDS = ("the", "energy", "of", "a", "token", "is", "measured", "here", "in", "joules")


def _fleet(engine: Engine) -> FleetModel:
    """A one-deployment fleet model: only its layout and labels are used."""
    spec = engine.spec
    workload = re.sub(r"[^a-z0-9-]+", "-", spec.model.id.lower()).strip("-")[:40] or "model"
    dep = Deployment(
        namespace="default", workload=workload, node=NODE, gpu=spec.gpu.id,
        gpu_model_name=spec.gpu.aliases[0] if spec.gpu.aliases else spec.gpu.name,
        gpu_count=spec.count,
        power=PowerModel(spec.gpu.idle_watts, spec.gpu.tdp_watts),
        traffic=Traffic(pattern="idle", decode_tokens_per_s=30.0, ttft_s=0.1,
                        max_num_seqs=spec.max_num_seqs),
        served_model_name=spec.served_name, model=spec.model.id,
        gpu_memory_mib=spec.gpu.memory_bytes / 2**20,
    )  # fmt: skip
    return FleetModel(Scenario("emulate", (dep,), (Node(NODE),)), engine.start_s)


def _kv_capacity_tokens(engine: Engine) -> float:
    spec = engine.spec
    wl = spec.wl
    free = (
        0.9 * spec.gpu.memory_bytes
        - float(np.asarray(wl.weight_fixed_bytes))
        - float(np.asarray(wl.weight_expert_bytes))
    )
    per_token = float(np.asarray(wl.kv_full_bytes_per_token)) + float(
        np.asarray(wl.kv_window_bytes_per_token)
    )
    return max(free, 1.0) / max(per_token, 1e-9)


def observe(engine: Engine, model: FleetModel, t: float) -> Observation:
    """The engine's state at `t` as an emulator `Observation` (one deployment, one time)."""
    c, n = engine.counters, engine.spec.count
    cap = _kv_capacity_tokens(engine)

    def one(x: float) -> np.ndarray:
        return np.array([[x]], dtype=np.float64)

    kv = engine.kv_tokens
    busy = engine.running > 0
    return Observation(
        times_s=np.array([t]),
        generation=np.zeros((1, 1), dtype=np.int64),
        running=one(engine.running),
        waiting=one(engine.waiting),
        kv_cache_usage=one(min(1.0, kv / cap)),
        prompt_tokens=one(c.prompt_tokens),
        generation_tokens=one(c.generation_tokens),
        requests_finished=one(c.requests_finished),
        itl_seconds_sum=one(c.itl_seconds_sum),
        dep_up=np.ones((1, 1), dtype=bool),
        power_watts=np.full((n, 1), engine.meter.power_watts),
        energy_millijoules=np.full((n, 1), engine.energy_joules_per_gpu(t) * 1000.0),
        util_percent=np.full((n, 1), 100.0 if busy else 0.0),
        node_up=np.ones((1, 1), dtype=bool),
    )


def iteration_text(engine: Engine) -> str:
    """vLLM's `vllm:iteration_tokens_total` histogram: its count is the engine's steps."""
    c, name = engine.counters, "vllm:iteration_tokens_total"
    lab = f'engine="0",model_name="{engine.spec.served_name}"'
    lines = [f"# HELP {name} Histogram of number of tokens per engine_step.",
             f"# TYPE {name} histogram"]  # fmt: skip
    lines += [f'{name}_bucket{{{lab},le="{float(le)!r}"}} {k}'
              for le, k in zip(ITERATION_BUCKETS, c.iteration_buckets, strict=True)]  # fmt: skip
    lines += [f'{name}_bucket{{{lab},le="+Inf"}} {c.steps}', f"{name}_count{{{lab}}} {c.steps}",
              f"{name}_sum{{{lab}}} {c.iteration_tokens_sum!r}"]  # fmt: skip
    return "\n".join(lines) + "\n"


def _prompt_tokens(body: dict[str, Any], chat: bool) -> int:
    if chat:
        msgs = body.get("messages") or []
        text = " ".join(str(m.get("content", "")) for m in msgs if isinstance(m, dict))
        return len(text.split())
    prompt = body.get("prompt", "")
    if isinstance(prompt, list):
        return (
            len(prompt)
            if all(isinstance(x, int) for x in prompt)
            else len(" ".join(map(str, prompt)).split())
        )
    return len(str(prompt).split())


def _bad(message: str) -> Response:
    return JSONResponse(
        {"error": {"message": message, "type": "BadRequestError", "code": 400}}, status_code=400
    )


def create_openai_app(engine: Engine) -> Starlette:
    """ASGI app of one emulated deployment."""
    fleet = _fleet(engine)
    served = engine.spec.served_name

    async def complete(request: Request, chat: bool) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _bad("body is not JSON")
        if not isinstance(body, dict):
            return _bad("body must be a JSON object")
        if body.get("model") not in (None, served):
            return JSONResponse(
                {"error": {"message": f"model {body.get('model')!r} does not exist; "
                           f"this server serves {served!r}", "type": "NotFoundError",
                           "code": 404}}, status_code=404)  # fmt: skip
        max_tokens = body.get("max_tokens", body.get("max_completion_tokens", 16))
        if not isinstance(max_tokens, int) or max_tokens < 1:
            return _bad(f"max_tokens {max_tokens!r}: expected a positive integer")
        n_in = _prompt_tokens(body, chat)
        rid = f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        obj = "chat.completion" if chat else "text_completion"
        usage_opts = body.get("stream_options") or {}
        gen = engine.generate(n_in, max_tokens)

        def usage(n_out: int) -> dict[str, int]:
            return {"prompt_tokens": n_in, "completion_tokens": n_out,
                    "total_tokens": n_in + n_out}  # fmt: skip

        def choice(text: str, finish: str | None, stream: bool) -> dict[str, Any]:
            if chat:
                key = "delta" if stream else "message"
                return {"index": 0, key: {"role": "assistant", "content": text},
                        "finish_reason": finish}  # fmt: skip
            return {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}

        if not body.get("stream"):
            words = [_WORDS[ev.index % len(_WORDS)] async for ev in gen]
            text = " " + " ".join(words)
            return JSONResponse({
                "id": rid, "object": obj, "created": created, "model": served,
                "choices": [choice(text, "length", False)], "usage": usage(len(words)),
            })  # fmt: skip

        async def sse() -> AsyncIterator[bytes]:
            n_out = 0
            stream_obj = "chat.completion.chunk" if chat else "text_completion"
            async for ev in gen:
                n_out += 1
                chunk = {"id": rid, "object": stream_obj, "created": created, "model": served,
                         "choices": [choice(" " + _WORDS[ev.index % len(_WORDS)],
                                            "length" if ev.last else None, True)]}  # fmt: skip
                yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
            if usage_opts.get("include_usage"):
                last = {"id": rid, "object": stream_obj, "created": created, "model": served,
                        "choices": [], "usage": usage(n_out)}  # fmt: skip
                yield b"data: " + json.dumps(last).encode() + b"\n\n"
            yield b"data: [DONE]\n\n"

        return StreamingResponse(sse(), media_type="text/event-stream")

    async def completions(request: Request) -> Response:
        return await complete(request, chat=False)

    async def chat_completions(request: Request) -> Response:
        return await complete(request, chat=True)

    async def models(request: Request) -> Response:
        card = {"id": served, "object": "model", "owned_by": "wattlens-emulator"}
        return JSONResponse({"object": "list", "data": [card]})

    async def metrics(request: Request) -> Response:
        t = engine.state_time()
        obs = observe(engine, fleet, t)
        text = dcgm_text(fleet, obs, NODE) + vllm_text(fleet, obs, 0) + iteration_text(engine)
        text += (
            f"# HELP {CLOCK_METRIC} The emulated engine's clock (epoch seconds).\n"
            f"# TYPE {CLOCK_METRIC} gauge\n{CLOCK_METRIC} {t!r}\n"
        )
        return Response(text, media_type=CONTENT_TYPE)

    async def truth(request: Request) -> Response:
        now = engine.clock.now()
        try:
            start = float(request.query_params.get("start", engine.start_s))
            end = float(request.query_params.get("end", now))
        except ValueError:
            return _bad("start and end are engine-clock epoch seconds")
        per_gpu = engine.meter.energy_at(end) - engine.meter.energy_at(start)
        win = engine.log.window(start, end)
        return JSONResponse({
            "start_s": start, "end_s": end, "gpu_count": engine.spec.count,
            "energy_joules_per_gpu": per_gpu, "energy_joules": per_gpu * engine.spec.count,
            "params": engine.spec.params.as_dict(), "model": engine.spec.model.id,
            "gpu": engine.spec.gpu.id, "idle_watts_per_gpu": engine.idle_watts,
            "counters_now": asdict(engine.counters),
            "window": asdict(win) | {"mean_running": win.mean_running},
        })  # fmt: skip

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    return Starlette(
        routes=[
            Route("/v1/completions", completions, methods=["POST"]),
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", models),
            Route("/metrics", metrics),
            Route("/truth", truth),
            Route("/health", health),
        ]
    )


__all__ = ["CLOCK_METRIC", "NODE", "create_openai_app", "iteration_text", "observe"]
