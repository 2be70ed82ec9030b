"""`/api/v1/carbon` with 200 deployments under load on loopback: req/s and p50/p99 latency.

Baseline in the same run: a plain uvicorn ASGI handler serving the same prebuilt JSON bytes.
Two loads per server: closed loop at full speed (`wrk` when installed, else the asyncio
generator below) and open loop at a fixed 1,000 req/s (latency measured from each request's
scheduled send time, so a stall is not hidden by coordinated omission: what wrk2 does; wrk2 is
not packaged in Debian). The open-loop generator runs in its own process, pinned to the other
core where there are two, so it never shares the server's GIL; it reports how late it sent (its
own lag), which says whether the generator or the server limits the figure. Goals (issue #3):
p99 <= 25 ms at 1,000 req/s; throughput at least the baseline's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from bench._common import write_fleet
from wattlens.config import load_config
from wattlens.core.records import DeploymentInfo
from wattlens.core.units import co2_grams
from wattlens.store import Store
from wattlens.web import create_app, serve_in_thread

DEPLOYMENTS = 200
FULL_SPEED_S = 5.0
FIXED_RATE = 1000.0
FIXED_RATE_S = 5.0
CONNECTIONS = 16
# two cores: the server on one, the open-loop generator on the other (None: no pinning)
TWO_CORES = len(os.sched_getaffinity(0)) >= 2 if hasattr(os, "sched_getaffinity") else False
SERVER_CPU = 0 if TWO_CORES else None
GENERATOR_CPU = 1 if TWO_CORES else None


def build_fleet_store(
    path: Path, *, deployments: int = DEPLOYMENTS, days: float = 7.0, step_s: float = 300.0,
    end_s: float | None = None, seed: int = 42,
) -> tuple[Store, float]:  # fmt: skip
    """A store with `deployments` x `days` of intervals every `step_s` (bulk numpy write)."""
    end = float(end_s if end_s is not None else (time.time() // 3600) * 3600)
    n = int(days * 86400 / step_s)
    ts = end - step_s * np.arange(n - 1, -1, -1, dtype=np.float64)
    rng = np.random.default_rng(seed)
    store = Store.open(path)
    infos, parts = [], []
    for k in range(deployments):
        ns, wl = f"ns-{k % 12}", f"model-{k:03d}"
        gpus = int(rng.choice([1, 2, 4, 8]))
        infos.append(
            DeploymentInfo(
                f"{ns}/{wl}",
                ns,
                wl,
                f"org/model-{k:03d}",
                "H100-SXM",
                "NVIDIA H100 80GB HBM3",
                gpus,
                f"node-{k % 40}.sdsc.edu",
                "vllm",
                "CAMX",
            )  # fmt: skip
        )
        busy = rng.random(n) > 0.3
        watts = gpus * np.where(busy, rng.uniform(250, 600, n), rng.uniform(60, 90, n))
        tok = np.where(busy, rng.uniform(20, 3000, n), 0.0) * step_s
        energy = watts * step_s
        part = {
            "deployment_id": np.full(n, f"{ns}/{wl}", dtype=object),
            "ts_end_s": ts,
            "interval_s": np.full(n, step_s),
            "energy_joules": energy,
            "energy_source": np.full(n, "counter", dtype=object),
            "prompt_tokens": np.round(tok * 0.85),
            "generation_tokens": np.round(tok * 0.15),
            "requests_finished": np.round(tok / 800),
            "itl_seconds_sum": tok * 0.15 / 45.0,
            "requests_running": rng.uniform(0, 20, n),
            "requests_waiting": rng.uniform(0, 4, n),
            "kv_cache_usage_ratio": rng.uniform(0, 1, n),
            "gpu_util_percent": rng.uniform(0, 100, n),
            "gpu_count": np.full(n, gpus),
            "carbon_intensity_kg_per_kwh": np.full(n, 0.183),
            "pue": np.full(n, 1.0),
            "co2_grams": co2_grams(energy, 0.183, 1.0),
            "sample_count": np.full(n, int(step_s // 15)),
        }
        parts.append(part)
    write_fleet(store, infos, parts, end - days * 86400)
    return store, end


class _Prebuilt:
    """The baseline: a bare ASGI app answering every request with the same bytes."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.headers = [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())]  # fmt: skip

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


# -- load generators ---------------------------------------------------------------------------


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, req: bytes) -> None:
    writer.write(req)
    head = await reader.readuntil(b"\r\n\r\n")
    m = re.search(rb"content-length: *(\d+)", head, re.I)
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"bad response: {head[:80]!r}")
    if m is not None:
        await reader.readexactly(int(m.group(1)))
    elif re.search(rb"transfer-encoding: *chunked", head, re.I):  # Go's net/http streams JSON
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")  # no trailers: the empty line after the last chunk
    else:
        raise RuntimeError(f"response without a length: {head[:200]!r}")


async def _fixed_rate(
    host: str, port: int, path: str, rate: float, seconds: float
) -> tuple[list[float], list[float]]:
    """Open loop: request i is due at t0 + i/rate; latency counts from that due time.

    One scheduler coroutine starts each request at its due time (creating every task up front
    would make the first ones late). Returns (latencies, send lags): a lag is how late the
    generator wrote the request.
    """
    req = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    total = int(rate * seconds)
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(await asyncio.open_connection(host, port))
    lat: list[float] = []
    lags: list[float] = []
    loop = asyncio.get_running_loop()

    async def one(due: float) -> None:
        conn = await pool.get()
        sent = loop.time()
        await _request(*conn, req)
        lat.append(loop.time() - due)
        lags.append(sent - due)
        pool.put_nowait(conn)

    tasks = []
    t0 = loop.time() + 0.05
    for i in range(total):
        due = t0 + i / rate
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)  # the schedule, not a synchronisation
        tasks.append(loop.create_task(one(due)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait()[1].close()
    return lat, lags


def _fixed_rate_process(
    port: int, path: str, rate: float, seconds: float, cpu: int | None
) -> tuple[list[float], list[float], float]:
    """`_fixed_rate` in a child process (optionally pinned to `cpu`); adds its CPU seconds."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    cpu0 = time.process_time()
    lat, lags = asyncio.run(_fixed_rate("127.0.0.1", port, path, rate, seconds))
    return lat, lags, time.process_time() - cpu0


async def _closed_loop(
    host: str, port: int, path: str, seconds: float
) -> tuple[float, list[float]]:
    req = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    lat: list[float] = []
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds

    async def worker() -> None:
        conn = await asyncio.open_connection(host, port)
        while loop.time() < end:
            t = loop.time()
            await _request(*conn, req)
            lat.append(loop.time() - t)
        conn[1].close()

    started = loop.time()
    await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
    return len(lat) / (loop.time() - started), lat


def _wrk(url: str, seconds: float) -> tuple[float, float, float]:
    """(req/s, p50 ms, p99 ms) from wrk --latency."""
    pin = None if GENERATOR_CPU is None else (lambda: os.sched_setaffinity(0, {GENERATOR_CPU}))
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency", url],
        capture_output=True, text=True, check=True, preexec_fn=pin,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out)
        return float(m.group(1)) * unit[m.group(2)]

    return rps, pct("50"), pct("99")


@contextlib.contextmanager
def _pinned(cpu: int | None) -> Iterator[None]:
    """Pin this process (the server) to `cpu` for the block, then restore its affinity."""
    if cpu is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _pcts(lat: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(lat, n=100)
    return q[49] * 1e3, q[98] * 1e3


def _measure(name: str, app: Any, path: str) -> dict[str, float]:
    with _pinned(SERVER_CPU):  # threads inherit it: pin before the server thread starts
        return _measure_pinned(name, app, path)


def _measure_pinned(name: str, app: Any, path: str) -> dict[str, float]:
    handle = serve_in_thread(app, "127.0.0.1", 0)
    try:
        asyncio.run(_closed_loop("127.0.0.1", handle.port, path, 1.0))  # warm-up (and caches)
        if shutil.which("wrk"):
            rps, p50, p99 = _wrk(handle.url + path, FULL_SPEED_S)
            tool = "wrk"
        else:
            rps, lat = asyncio.run(_closed_loop("127.0.0.1", handle.port, path, FULL_SPEED_S))
            (p50, p99), tool = _pcts(lat), "asyncio"
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as ex:
            args = (handle.port, path, FIXED_RATE, FIXED_RATE_S, GENERATOR_CPU)
            lat, lags, gen_cpu_s = ex.submit(_fixed_rate_process, *args).result()
        f50, f99 = _pcts(lat)
        _, lag99 = _pcts(lags)
        _, s99 = _pcts([a - b for a, b in zip(lat, lags, strict=True)])
    finally:
        handle.stop()
    print(f"{name:<34} full speed ({tool}, {CONNECTIONS} conns): {rps:8.0f} req/s  "
          f"p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")  # fmt: skip
    print(f"{'':<34} at {FIXED_RATE:.0f} req/s for {FIXED_RATE_S:g} s: p50 {f50:6.2f} ms  "
          f"p99 {f99:6.2f} ms  (goal p99 <= 25 ms)")  # fmt: skip
    print(f"{'':<34} generator: send lag p99 {lag99:6.2f} ms, "
          f"{100 * gen_cpu_s / FIXED_RATE_S:3.0f} % of a core; "
          f"p99 from send {s99:6.2f} ms")  # fmt: skip
    return {"rps": rps, "p99": p99, "fixed_p99": f99, "lag99": lag99}


def main() -> None:
    """Load both servers in turn and print the figures and the throughput ratio."""
    with tempfile.TemporaryDirectory() as d:
        cfg_path = Path(d) / "wattlens.toml"
        cfg_path.write_text("")
        config = load_config(cfg_path, environ={})
        store, end = build_fleet_store(Path(d) / "bench.duckdb", days=1.0)
        app = create_app(store=store, config=config, clock=lambda: end, cache_ttl_s=5.0)
        handle = serve_in_thread(app, "127.0.0.1", 0)
        import httpx

        body = httpx.get(handle.url + "/api/v1/carbon", timeout=60).content
        handle.stop()
        n = body.count(b'"model_name"')
        print(f"/api/v1/carbon body: {len(body):,} bytes, {n} deployments")
        ours = _measure("wattlens /api/v1/carbon", app, "/api/v1/carbon")
        base = _measure("baseline: bare uvicorn, same bytes", _Prebuilt(body), "/")
        store.close()
    print(f"throughput ratio wattlens / baseline: {ours['rps'] / base['rps']:.2f} (goal >= 1.0)")
    verdict = "meets" if ours["fixed_p99"] <= 25 else "misses"
    print(f"p99 at {FIXED_RATE:.0f} req/s: {ours['fixed_p99']:.2f} ms ({verdict} the 25 ms goal)")
    print(f"generator send lag p99: {ours['lag99']:.2f} ms (baseline run {base['lag99']:.2f} ms)")


if __name__ == "__main__":
    main()
