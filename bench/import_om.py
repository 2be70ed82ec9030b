"""Import throughput: `wattlens import` of an emulator OpenMetrics history (>= 5 M samples)
next to `promtool tsdb create-blocks-from openmetrics` on the same file, plus peak RSS.

Each tool runs as its own process; wall time and peak RSS come from os.wait4's rusage.
The file (40 deployments x 3 days x 30 s) is generated once into bench/out/ and reused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).parent / "out"
DAYS = 3.0
DEPLOYMENTS = 40


def history_file() -> tuple[Path, int]:
    """The benchmark file and its sample count (generated on first use)."""
    from wattlens.emulator import synthetic_scenario, write_history
    from wattlens.telemetry.metrics import WANTED_METRICS

    OUT.mkdir(exist_ok=True)
    path = OUT / f"import-{DEPLOYMENTS}x{DAYS:g}d.om"
    count = OUT / f"{path.name}.samples"
    if path.exists() and count.exists():
        return path, int(count.read_text())
    sc = synthetic_scenario(DEPLOYMENTS, gpus_per_deployment=1)
    start = 1_760_000_000.0
    n = write_history(sc, path, start_s=start, end_s=start + DAYS * 86400, step_s=30.0,
                      wanted=WANTED_METRICS)  # fmt: skip
    count.write_text(str(n))
    return path, n


def run(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise RuntimeError(f"{argv[0]} failed: {err[-500:]}")
    return wall, usage.ru_maxrss / 1024.0  # ru_maxrss is KiB on Linux


def main() -> None:
    """Print samples/s for both tools and the ratio (goal >= 1.0), and peak RSS (<= 500 MB)."""
    path, n = history_file()
    size_mb = path.stat().st_size / 1e6
    print(f"file: {path.name}, {n:,} samples, {size_mb:,.0f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "w.duckdb"
        ours = run([sys.executable, "-m", "wattlens", "import", str(path), "--db", str(db)])
        promtool = shutil.which("promtool")
        theirs = None
        if promtool:
            # At its best settings, as operators backfill: blocks as long as the file (the default
            # 2 h blocks make promtool re-read the whole file once per block).
            block = f"--max-block-duration={int(DAYS * 24)}h"
            theirs = run([promtool, "tsdb", "create-blocks-from", "openmetrics", block,
                          str(path), str(Path(tmp) / "blocks")])  # fmt: skip
    print(f"wattlens import: {ours[0]:.1f} s, {n / ours[0]:,.0f} samples/s, "
          f"peak RSS {ours[1]:.0f} MB (goal <= 500 MB)")  # fmt: skip
    if theirs is None:
        print("promtool not installed: no baseline")
        return
    print(f"promtool create-blocks-from openmetrics --max-block-duration={int(DAYS * 24)}h: "
          f"{theirs[0]:.1f} s, "
          f"{n / theirs[0]:,.0f} samples/s, peak RSS {theirs[1]:.0f} MB")  # fmt: skip
    print(f"ratio wattlens/promtool samples/s: {theirs[0] / ours[0]:.2f}x (goal >= 1.0)")


if __name__ == "__main__":
    main()
