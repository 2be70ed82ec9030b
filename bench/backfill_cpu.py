"""`serve --prometheus` alone on a real Prometheus: backfill CPU beside Prometheus's, and RSS.

The two figures of bench/go_compare.py that do not need the Go service, on a fleet of the size
the goal names (issue #11): 200 vLLM deployments (WATTLENS_BENCH_BACKFILL_DEPLOYMENTS), half a
day of history at 60 s (WATTLENS_BENCH_BACKFILL_DAYS) backfilled into Prometheus with promtool,
then live scrapes of an EmulatorServer. Figures:
- backfill CPU: wattlens CPU-seconds (start-up + backfill + first live cycle) beside Prometheus's
  CPU-seconds over the same span, its idle scrape rate subtracted; goal ratio <= 1.0; and the
  same less wattlens's start-up alone (measured with backfill off);
- steady RSS after backfill and 30 s of requests to /api/v1/carbon, /api/v2/deployments and
  /api/v2/fleet; goal <= 200 MB. Baseline: the process started without backfill.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench._go import go_readable_fleet, rss_mb, write_history_openmetrics
from bench.go_compare import _backfill, _scraped_targets, _start_prometheus
from wattlens.emulator import EmulatorServer

DEPLOYMENTS = int(os.environ.get("WATTLENS_BENCH_BACKFILL_DEPLOYMENTS", "200"))
DAYS = float(os.environ.get("WATTLENS_BENCH_BACKFILL_DAYS", "0.5"))
STEP_S = 60.0
REQUEST_FOR_S = 30.0
ROOT = Path(__file__).resolve().parent.parent


def _requests(url: str, seconds: float) -> int:
    n, end = 0, time.perf_counter() + seconds
    with httpx.Client(timeout=10) as c:
        while time.perf_counter() < end:
            for path in ("/api/v1/carbon", "/api/v2/deployments", "/api/v2/fleet"):
                c.get(url + path)
                n += 1
            time.sleep(0.5)  # a dashboard's pace, not a load test
    return n


def main() -> None:
    """Start Prometheus with the history, then wattlens twice; print CPU and RSS figures."""
    for exe in ("prometheus", "promtool"):
        if shutil.which(exe) is None:
            print(f"skipped: {exe} not installed (apt-get install prometheus)")
            return
    sys.path.insert(0, str(ROOT / "tests"))  # tests/servers.py
    from servers import wait_until

    scenario = go_readable_fleet(DEPLOYMENTS)
    end = (time.time() // STEP_S) * STEP_S
    start = end - DAYS * 86400.0
    with (
        tempfile.TemporaryDirectory(prefix="wattlens-bf-") as d,
        EmulatorServer(scenario, start_s=start) as emu,
    ):
        tmp = Path(d)
        om = tmp / "history.om"
        samples = write_history_openmetrics(
            scenario, om, start_s=start, end_s=end, step_s=STEP_S, instance=emu.address
        )
        prom = _start_prometheus(tmp, om, f"{emu.url}/sd")
        om.unlink()
        gpus = sum(x.gpu_count for x in scenario.deployments)
        print(
            f"fleet: {DEPLOYMENTS} deployments, {gpus} GPUs; {DAYS:g} d at {STEP_S:g} s = "
            f"{samples:,} samples; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        proc = None
        try:
            targets = len(scenario.nodes) + DEPLOYMENTS
            wait_until(lambda: _scraped_targets(prom.url) >= targets, "first scrapes", 120)
            bf = _backfill(tmp, prom, prom.url, samples)
            proc = bf["proc"]
            n = _requests(bf["url"], REQUEST_FOR_S)
            steady, peak = rss_mb(proc.pid)
        finally:
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
            prom.stop()
    ratio = bf["w_cpu"] / bf["p_net"]
    less = (bf["w_cpu"] - bf["startup_cpu"]) / bf["p_net"]
    print(
        f"backfill: live after {bf['wall']:.1f} s ({samples / bf['wall']:,.0f} samples/s); "
        f"wattlens {bf['w_cpu']:.1f} CPU-s (start-up alone {bf['startup_cpu']:.1f}); "
        f"Prometheus {bf['p_cpu']:.1f} CPU-s, {bf['p_net']:.1f} net of idle"
    )
    print("  figure                         wattlens   baseline  ratio  goal")
    print(
        f"  backfill CPU (base: Prom net)  {bf['w_cpu']:8.2f}  {bf['p_net']:8.2f}  {ratio:5.2f}x"
        f"  <= 1.0  {'meets' if ratio <= 1.0 else 'MISSES'}"
    )
    print(
        f"    less start-up alone          {bf['w_cpu'] - bf['startup_cpu']:8.2f}  "
        f"{bf['p_net']:8.2f}  {less:5.2f}x  <= 1.0  {'meets' if less <= 1.0 else 'MISSES'}"
    )
    print(
        f"  steady RSS (base: no backfill) {steady:8.1f}  {bf['startup_rss']:8.1f}  "
        f"{steady / bf['startup_rss']:5.2f}x  <= 200 MB  {'meets' if steady <= 200 else 'MISSES'}"
    )
    print(f"  peak RSS {peak:.0f} MB; {n} requests over {REQUEST_FOR_S:g} s before the steady read")


if __name__ == "__main__":
    main()
