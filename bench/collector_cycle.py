"""Collector CPU time per scrape cycle for a 1,000-GPU emulated fleet (goal <= 50 ms).

The emulator runs in a separate process so its rendering is not counted. One cycle = scrape
every exporter and vLLM endpoint over HTTP, parse, derive, and write the finished intervals.
CPU time is this process's (all threads). Baseline in the same run: parsing the same bodies
with prometheus_client's text parser alone, the library a naive collector would loop over.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

EMULATOR = """
import sys, time
from wattlens.emulator import EmulatorServer, synthetic_scenario
sc = synthetic_scenario(125, gpus_per_deployment=8)
with EmulatorServer(sc, start_s=time.time() - 3600) as emu:
    print(emu.url, flush=True)
    sys.stdin.read()
"""
CYCLES = 12


def main() -> None:
    """Print CPU ms per cycle (median, p90) and the ratio to a parse-only baseline."""
    from prometheus_client.parser import text_string_to_metric_families

    from wattlens.app.collector import Collector
    from wattlens.app.ops import make_deriver
    from wattlens.app.runner import scrape_source
    from wattlens.derive.engine import DeriveOptions
    from wattlens.store import Store

    emu = subprocess.Popen([sys.executable, "-c", EMULATOR], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        url = emu.stdout.readline().strip()  # type: ignore[union-attr]
        with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "w.duckdb") as store:
            source = scrape_source([], f"{url}/sd", timeout_s=30)
            collector = Collector(store, make_deriver(DeriveOptions(step_s=30.0)), source)
            gpus = sum("/dcgm/" in t.url for t in source._scraper.targets) * 8
            collector.cycle()  # first cycle validates every new series once
            cpu, main = [], []
            for _ in range(CYCLES):
                stats = collector.cycle()
                cpu.append(stats.cpu_s * 1000)
                main.append(stats.main_thread_cpu_s * 1000)
                time.sleep(1.0)  # pacing between cycles, as a real collector waits
            bodies = [httpx.get(t.url, timeout=30).text for t in source._scraper.targets]
        t0 = time.process_time()
        for body in bodies:
            for _ in text_string_to_metric_families(body):
                pass
        naive = (time.process_time() - t0) * 1000
    finally:
        emu.communicate("", timeout=30)
    med = statistics.median(cpu)
    p90 = sorted(cpu)[int(0.9 * (len(cpu) - 1))]
    print(f"fleet: {gpus} GPUs, {len(bodies)} endpoints, {sum(map(len, bodies)) / 1e6:.1f} MB")
    print(f"collector CPU per cycle, whole process: median {med:.1f} ms, p90 {p90:.1f} ms "
          "(goal <= 50 ms; includes the HTTP client threads fetching 250 endpoints)")  # fmt: skip
    print(f"  of which parse + derive + store write (main thread): median "
          f"{statistics.median(main):.1f} ms")  # fmt: skip
    print(f"baseline, prometheus_client parse of the same bodies only: {naive:.1f} ms")
    print(f"ratio baseline/collector: {naive / med:.1f}x")


if __name__ == "__main__":
    main()
