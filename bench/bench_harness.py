"""`wattlens bench` harness overhead: client CPU per streamed token at 256 concurrent streams
against `wattlens emulate` (in a subprocess, so only the client's CPU is counted). Goal: the
harness sustains >= 5,000 streamed tokens/s on one core. Baselines in the same run: raw httpx
loops streaming the same requests and only counting SSE events (a client per stream, as the
harness; one shared client, as a hand-written script)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable

import httpx

from wattlens.measure.bench import BenchOptions, run_bench

MODEL, GPU = "llama-3.1-8b", "H100-SXM"
STREAMS, ROUNDS, N_IN, N_OUT = 256, 2, 32, 64
GOAL_TOKENS_PER_CPU_S = 5000.0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_emulator(port: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "wattlens", "emulate", "--model", MODEL, "--gpu", GPU,
            "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)  # polling interval while the subprocess starts
    proc.kill()
    raise RuntimeError("wattlens emulate did not start")


async def _raw(url: str, shared_pool: bool) -> tuple[int, int]:
    """Baseline: the same streams, counting SSE events with no parsing or timing.

    `shared_pool`: one client for all streams, as a hand-written script would; else one client
    per stream, as the harness does (httpx's shared pool scans every connection per chunk).
    """
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    ssl_context = httpx.create_ssl_context()
    body = {"model": MODEL, "prompt": " ".join(["w"] * N_IN), "max_tokens": N_OUT,
            "stream": True}  # fmt: skip
    tokens = errors = 0
    async with httpx.AsyncClient(limits=limits, timeout=600) as shared:

        async def one_request(client: httpx.AsyncClient) -> None:
            nonlocal tokens, errors
            try:
                async with client.stream("POST", url + "/v1/completions", json=body) as r:
                    async for chunk in r.aiter_bytes():
                        tokens += chunk.count(b"data: {")
            except httpx.HTTPError:
                errors += 1

        async def worker() -> None:
            if shared_pool:
                for _ in range(ROUNDS):
                    await one_request(shared)
                return
            async with httpx.AsyncClient(limits=one, timeout=600, verify=ssl_context,
                                         trust_env=False) as own:  # fmt: skip
                for _ in range(ROUNDS):
                    await one_request(own)

        await asyncio.gather(*(worker() for _ in range(STREAMS)))
    return tokens, errors


def _measure(fn: Callable[[], tuple[int, int]]) -> tuple[int, int, float, float]:
    cpu0, t0 = time.process_time(), time.perf_counter()
    tokens, errors = fn()
    return tokens, errors, time.process_time() - cpu0, time.perf_counter() - t0


def main() -> None:
    """Print client CPU per token for the harness and the raw loop, and their ratio."""
    port = _free_port()
    proc = _start_emulator(port)
    url = f"http://127.0.0.1:{port}"
    try:
        opts = BenchOptions(endpoint=url + "/v1", model=MODEL, n_in=N_IN, max_tokens=[N_OUT],
                            concurrency=[STREAMS], rounds=ROUNDS, idle_s=0.0,
                            sample_interval_s=0.25, min_steady_s=0.0)  # fmt: skip

        def harness() -> tuple[int, int]:
            row = run_bench(opts).rows[0]
            return int(row["output_tokens"]), int(row["errors"])

        warm = BenchOptions(**{**opts.__dict__, "concurrency": [8], "rounds": 1})
        run_bench(warm)  # imports and first-use costs, not per-request work
        runs = {
            "harness (wattlens bench)": _measure(harness),
            "raw httpx, a client per stream": _measure(lambda: asyncio.run(_raw(url, False))),
            "raw httpx, one shared client": _measure(lambda: asyncio.run(_raw(url, True))),
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"setting: {STREAMS} concurrent streams x {ROUNDS} rounds, {N_IN} -> {N_OUT} tokens, "
          f"emulated {MODEL} on {GPU} (server in a subprocess, not counted)")  # fmt: skip
    rates = {}
    for name, (tok, err, cpu, wall) in runs.items():
        rates[name] = tok / cpu
        print(f"{name:32} {tok:6} tokens ({err} failed requests), client CPU {cpu:5.2f} s, "
              f"wall {wall:5.1f} s -> {tok / cpu:7,.0f} tokens per CPU-second, "
              f"{1e6 * cpu / max(tok / N_OUT, 1):7,.0f} us CPU per request")  # fmt: skip
    h = rates["harness (wattlens bench)"]
    for base in ("raw httpx, a client per stream", "raw httpx, one shared client"):
        print(f"ratio harness / {base} (tokens per CPU-s): {h / rates[base]:.2f}x")
    verdict = "meets" if h >= GOAL_TOKENS_PER_CPU_S else "MISSES"
    print(f"goal >= {GOAL_TOKENS_PER_CPU_S:,.0f} streamed tokens/s on one core: {verdict}")


if __name__ == "__main__":
    main()
