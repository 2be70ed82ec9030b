"""Soak (issue 14): 200 concurrent clients against `wattlens serve` over a 200-deployment fleet for
10 minutes (WATTLENS_SOAK_S to change). Reports errors, p99 latency in the first and the last
minute, and the server's RSS at the start and the end; RSS growth must stay under 5 %.

The baseline in the same run is the service itself at the start of the soak: the end figures are
given as ratios to the start figures. Clients poll what dashboards poll (fleet, status, carbon,
one deployment's series), each with a think time of about a second, like a screen left open.

RSS is the server's VmRSS sampled every 2 s; "start" is the median over the first minute after a
minute of warm-up under the same load (caches filled, thread pool grown), "end" the median over
the last minute. The output says so, with the peak (VmHWM) and the load averages, since the
machine may be shared.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.web_api import build_fleet_store

CLIENTS = 200
DEPLOYMENTS = 200
SOAK_S = float(os.environ.get("WATTLENS_SOAK_S", "600"))
WINDOW_S = min(60.0, SOAK_S / 4)  # "start" and "end" windows
WARMUP_S = min(60.0, SOAK_S / 4)  # caches fill and the allocator settles; not measured
THINK_S = 1.0
MAX_RSS_GROWTH = 0.05


def _status_bytes(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} for pid {pid}")


def _rss_bytes(pid: int) -> int:
    return _status_bytes(pid, "VmRSS")


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _client(
    url: str, paths: list[str], stop_at: float, out: list[tuple[float, float, int]], seed: int
) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        await asyncio.sleep(rng.uniform(0, THINK_S))  # spread the first requests
        while time.monotonic() < stop_at:
            path = rng.choice(paths)
            t0 = time.monotonic()
            try:
                status = (await client.get(path)).status_code
            except httpx.HTTPError:
                status = -1
            out.append((t0, time.monotonic() - t0, status))
            await asyncio.sleep(rng.uniform(0.5 * THINK_S, 1.5 * THINK_S))


async def _soak(url: str, paths: list[str], pid: int) -> dict[str, Any]:
    out: list[tuple[float, float, int]] = []
    start = time.monotonic() + WARMUP_S  # clients run from now; figures count from `start`
    stop_at = start + SOAK_S
    rss: list[tuple[float, int]] = []

    async def sample_rss() -> None:
        while time.monotonic() < stop_at:
            if time.monotonic() >= start:
                rss.append((time.monotonic(), _rss_bytes(pid)))
            await asyncio.sleep(2.0)

    await asyncio.gather(
        sample_rss(), *(_client(url, paths, stop_at, out, i) for i in range(CLIENTS))
    )
    peak = _status_bytes(pid, "VmHWM")
    load_end = _load()
    arr = np.array([(t - start, lat, st) for t, lat, st in out if t >= start])
    first = arr[arr[:, 0] < WINDOW_S]
    last = arr[arr[:, 0] >= SOAK_S - WINDOW_S]
    r = np.array(rss, dtype=np.float64)
    rss_start = float(np.median(r[(r[:, 0] - start) < WINDOW_S, 1]))
    rss_end = float(np.median(r[(r[:, 0] - start) >= SOAK_S - WINDOW_S, 1]))
    return {
        "requests": float(len(arr)),
        "errors": float(np.sum(arr[:, 2] != 200)),
        "p99_start_ms": float(np.percentile(first[:, 1], 99) * 1000),
        "p99_end_ms": float(np.percentile(last[:, 1], 99) * 1000),
        "rss_start_mib": rss_start / 2**20,
        "rss_end_mib": rss_end / 2**20,
        "rss_peak_mib": peak / 2**20,
        "load_end": load_end,
    }


def main() -> None:
    """Plant the fleet, start `wattlens serve`, soak it, print the figures."""
    with tempfile.TemporaryDirectory(prefix="wattlens-soak-") as tmp:
        db = Path(tmp) / "fleet.duckdb"
        store, _ = build_fleet_store(db, deployments=DEPLOYMENTS, days=7.0)
        ids = [d.info.deployment_id for d in store.deployments()]
        store.close()
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "wattlens", "serve", "--db", str(db), "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:  # readiness poll against a deadline
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("wattlens serve did not start")
                time.sleep(0.2)
            paths = ["/api/v2/fleet", "/api/v2/status", "/api/v1/carbon", "/readyz"]
            paths += [
                f"/api/v2/deployments/{i}/series?metric=power_watts&range=24h" for i in ids[:20]
            ]
            load_start = _load()
            fig = asyncio.run(_soak(url, paths, proc.pid))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    growth = fig["rss_end_mib"] / fig["rss_start_mib"] - 1.0
    print(f"{CLIENTS} clients x {SOAK_S:.0f} s after {WARMUP_S:.0f} s of warm-up, "
          f"{DEPLOYMENTS} deployments (7 days of 5 min rows)")  # fmt: skip
    print(f"requests {fig['requests']:.0f}, errors {fig['errors']:.0f}")
    ratio = fig["p99_end_ms"] / fig["p99_start_ms"]
    print(f"p99 first {WINDOW_S:.0f} s {fig['p99_start_ms']:.1f} ms, last {WINDOW_S:.0f} s "
          f"{fig['p99_end_ms']:.1f} ms (ratio {ratio:.2f}x)")  # fmt: skip
    print(f"RSS start {fig['rss_start_mib']:.1f} MiB, end {fig['rss_end_mib']:.1f} MiB "
          f"(growth {growth * 100:+.1f} %, goal < {MAX_RSS_GROWTH * 100:.0f} %); peak "
          f"{fig['rss_peak_mib']:.1f} MiB")  # fmt: skip
    print(f"  RSS: VmRSS every 2 s; start = median of the first {WINDOW_S:.0f} s after the "
          f"warm-up, end = median of the last {WINDOW_S:.0f} s")  # fmt: skip
    print(f"load average (1, 5, 15 min) at start {load_start}, at end {fig['load_end']} on "
          f"{os.cpu_count()} CPU(s)")  # fmt: skip
    ok = fig["errors"] == 0 and growth < MAX_RSS_GROWTH
    print("PASS" if ok else "FAIL")
    if not ok:
        raise RuntimeError("soak failed: errors or RSS growth over the goal")
