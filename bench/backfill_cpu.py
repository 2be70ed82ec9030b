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

`serve` reads and derives the backfill in a forked child (app.backfill_worker), so every CPU and
memory figure here covers the process tree: CPU is utime + stime of the service, of its reaped
children (cutime + cstime) and of any child still running; the peak is sampled every 0.2 s as
the sum of the tree's RSS (shared pages counted in each process) and of its PSS (shared pages
split between them), beside each process's own high-water mark.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench._go import descendants, go_readable_fleet, rss_mb, write_history_openmetrics
from bench.go_compare import (
    _get,
    _scraped_targets,
    _start_prometheus,
    measure_backfill,
)
from wattlens.emulator import EmulatorServer

DEPLOYMENTS = int(os.environ.get("WATTLENS_BENCH_BACKFILL_DEPLOYMENTS", "200"))
DAYS = float(os.environ.get("WATTLENS_BENCH_BACKFILL_DAYS", "0.5"))
STEP_S = 60.0
REQUEST_FOR_S = 30.0
ROOT = Path(__file__).resolve().parent.parent


def _tree_memory(pid: int) -> tuple[float, float, dict[int, float]]:
    """(sum of VmRSS, sum of Pss, {pid: VmHWM}) over the tree, MB; zombies count nothing."""
    rss = pss = 0.0
    hwm: dict[int, float] = {}
    for p in [pid, *descendants(pid)]:
        try:
            status = Path(f"/proc/{p}/status").read_text()
            rollup = Path(f"/proc/{p}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            k, _, v = line.partition(":")
            if k == "VmRSS":
                rss += int(v.split()[0]) / 1024.0
            elif k == "VmHWM":
                hwm[p] = int(v.split()[0]) / 1024.0
        for line in rollup.splitlines():
            if line.startswith("Pss:"):
                pss += int(line.split()[1]) / 1024.0
    return rss, pss, hwm


def _wait_live(proc: subprocess.Popen[bytes], url: str, tmp: Path, name: str) -> dict[str, Any]:
    """Until /readyz says fresh data (backfill done, a live cycle stored), sampling the tree's
    memory every 0.2 s; returns the wall time and the peaks."""
    t0 = time.perf_counter()
    peak_rss = peak_pss = 0.0
    hwm: dict[int, float] = {}
    while True:
        if proc.poll() is not None:
            log = (tmp / f"{name}.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"wattlens serve exited with {proc.returncode}:\n{log}")
        rss, pss, h = _tree_memory(proc.pid)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        hwm.update(h)
        r = _get(url + "/readyz", 2)
        if r is not None and r.status_code == 200:
            break
        if time.perf_counter() - t0 > 900:
            raise TimeoutError("wattlens serve not live after 900 s")
        time.sleep(0.2)  # sampling interval
    return {
        "wall": time.perf_counter() - t0,
        "peak_tree_rss": peak_rss,
        "peak_tree_pss": peak_pss,
        "parent_hwm": hwm.pop(proc.pid, 0.0),
        "child_hwm": max(hwm.values(), default=0.0),
        "children": len(hwm),
    }


def _backfill(tmp: Path, prom: Any, prom_url: str) -> dict[str, Any]:
    """bench.go_compare's measurement, with this bench's view of the service going live."""
    bf = measure_backfill(tmp, prom, prom_url, _wait_live)
    return {**bf["live"], **bf}


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
            bf = _backfill(tmp, prom, prom.url)
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
        f"wattlens {bf['w_cpu']:.1f} CPU-s with its children "
        f"(start-up alone {bf['startup_cpu']:.1f}); "
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
    print(
        f"  peak: service {peak:.0f} MB (VmHWM), backfill child {bf['child_hwm']:.0f} MB "
        f"({bf['children']} child process(es)); whole tree sampled: {bf['peak_tree_rss']:.0f} MB "
        f"RSS summed, {bf['peak_tree_pss']:.0f} MB PSS"
    )
    print(f"  {n} requests over {REQUEST_FOR_S:g} s before the steady read")


if __name__ == "__main__":
    main()
