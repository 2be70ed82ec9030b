"""`/api/v1/carbon/timeseries?range=30d` from the store vs the same series from Prometheus.

The same 30 days of 60 s telemetry for 10 deployments is written twice: as interval records into
a DuckDB store (what the collector would have written), and as raw samples (power gauge, token
counters) backfilled into a real Prometheus with promtool. The Prometheus side answers with the
range queries the old dashboard's approach needs (bucket means at the 6 h step) plus the same
arithmetic; the wattlens side is one HTTP call with the cache off. Goal (issue #3): >= 20x.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

from bench._common import write_fleet
from wattlens.config import load_config
from wattlens.core.units import co2_grams
from wattlens.store import Store
from wattlens.web import create_app, serve_in_thread

DEPLOYMENTS = 10
DAYS = 30
STEP_S = 60.0
CI = 0.183  # kg/kWh, one region for all: the Prometheus side multiplies in Python
REPEATS = 15
BUCKET_S = 6 * 3600  # the old dashboard's step for ranges over 8 days


def _write(tmp: Path, end: float) -> tuple[list[Path], Store]:
    """OpenMetrics files (one per day) and a store holding the same data.

    One file per day because promtool 2.42 rescans its whole input for every 2 h block it
    writes: thirty small files backfill in seconds where one large file takes minutes.
    """
    from wattlens.core.records import DeploymentInfo

    n = int(DAYS * 86400 / STEP_S)
    ts = end - STEP_S * np.arange(n - 1, -1, -1)
    rng = np.random.default_rng(1)
    per_day = int(86400 / STEP_S)
    store = Store.open(tmp / "bench.duckdb")
    power, prompt, gen = {}, {}, {}
    for k in range(DEPLOYMENTS):
        busy = rng.random(n) > 0.3
        power[k] = np.round(np.where(busy, rng.uniform(400, 1200, n), rng.uniform(120, 180, n)), 1)
        rate = np.where(busy, rng.uniform(10, 2000, n), 0.0)
        prompt[k] = np.round(rate * 0.85 * STEP_S)
        gen[k] = np.round(rate * 0.15 * STEP_S)
    files = []
    cum = {k: (np.cumsum(prompt[k]), np.cumsum(gen[k])) for k in range(DEPLOYMENTS)}
    for day in range(DAYS):
        sl = slice(day * per_day, (day + 1) * per_day)
        om = tmp / f"fleet-{day:02d}.om.txt"
        files.append(om)
        with om.open("w") as f:
            for name, kind, pick in (
                ("DCGM_FI_DEV_POWER_USAGE", "gauge", lambda k: power[k]),
                ("vllm:prompt_tokens", "counter", lambda k: cum[k][0]),
                ("vllm:generation_tokens", "counter", lambda k: cum[k][1]),
            ):
                f.write(f"# TYPE {name} {kind}\n")
                sample = name + ("_total" if kind == "counter" else "")
                for k in range(DEPLOYMENTS):
                    lab = f'{{namespace="ns",pod="model-{k}-0"}}'
                    f.writelines(
                        f"{sample}{lab} {v:g} {t:.0f}\n"
                        for t, v in zip(ts[sl], pick(k)[sl], strict=True)
                    )
            f.write("# EOF\n")
    infos, parts = [], []
    for k in range(DEPLOYMENTS):
        infos.append(
            DeploymentInfo(
                f"ns/model-{k}",
                "ns",
                f"model-{k}",
                f"m{k}",
                "H100-SXM",
                "NVIDIA H100",
                4,
                "node.sdsc.edu",
                "vllm",
                "CAMX",
            )
        )
        energy = power[k] * STEP_S  # the gauge is constant over each interval here
        part = {
            "deployment_id": np.full(n, f"ns/model-{k}", dtype=object),
            "ts_end_s": ts,
            "interval_s": np.full(n, STEP_S),
            "energy_joules": energy,
            "energy_source": np.full(n, "gauge", dtype=object),
            "prompt_tokens": prompt[k],
            "generation_tokens": gen[k],
            "gpu_count": np.full(n, 4),
            "carbon_intensity_kg_per_kwh": np.full(n, CI),
            "pue": np.full(n, 1.0),
            "co2_grams": co2_grams(energy, CI, 1.0),
            "sample_count": np.full(n, 4),
        }
        parts.append(part)
    write_fleet(store, infos, parts, end - DAYS * 86400)
    return files, store


def _prometheus_series(url: str, end: float) -> list[dict]:
    """The old dashboard's series by PromQL range queries, then the same arithmetic."""
    start = end - DAYS * 86400 + BUCKET_S
    w = f"{BUCKET_S // 3600}h"
    queries = {
        "power": f"sum(avg_over_time(DCGM_FI_DEV_POWER_USAGE[{w}]))",
        "tps": f"sum(increase(vllm:prompt_tokens_total[{w}]) + "
        f"increase(vllm:generation_tokens_total[{w}])) / {BUCKET_S}",
    }
    out = {}
    for key, q in queries.items():
        r = httpx.get(
            f"{url}/api/v1/query_range",
            timeout=120,
            params={"query": q, "start": start, "end": end, "step": BUCKET_S},
        )
        r.raise_for_status()
        res = r.json()["data"]["result"]
        out[key] = {float(t): float(v) for t, v in res[0]["values"]} if res else {}
    points = []
    for t, watts in sorted(out["power"].items()):
        tps = out["tps"].get(t, 0.0)
        g_h = watts * CI
        points.append(
            {
                "t": int(t),
                "power_watts": watts,
                "co2_grams_per_hour": g_h,
                "co2_mg_per_token": g_h * 1000 / (tps * 3600) if tps > 5 else None,
            }
        )
    return points


def _blocks(data: Path) -> int:
    return sum(1 for p in data.iterdir() if p.is_dir() and len(p.name) == 26)  # ULID names


def _start_prometheus(tmp: Path, files: list[Path]) -> object:
    """promtool backfill of every file into one data dir, then Prometheus on a free port;
    returns once the blocks stop changing (startup compaction done), so timing is fair."""
    import shutil
    import subprocess

    from servers import Server, free_port, wait_until

    data = tmp / "prom-data"
    data.mkdir()
    for f in files:
        subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q", str(f), str(data)],
            check=True,
            capture_output=True,
        )
    cfg = tmp / "prometheus.yml"
    cfg.write_text('{"global": {"scrape_interval": "15s"}, "scrape_configs": []}')
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp / "prometheus.log", "ab")  # noqa: SIM115 - closed by Server.stop
    proc = subprocess.Popen(
        [
            shutil.which("prometheus") or "prometheus",
            f"--config.file={cfg}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=45d",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server("prometheus", proc, url, log)

    def ready() -> bool:
        try:
            return httpx.get(url + "/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, "prometheus", timeout_s=120)
    # Prometheus compacts the backfilled 2 h blocks in its first compaction cycle (about a
    # minute after start); querying before that would time it on hundreds of small blocks.
    first = _blocks(data)
    seen = {"blocks": first, "since": time.monotonic()}

    def settled() -> bool:
        n = _blocks(data)
        if n != seen["blocks"]:
            seen.update(blocks=n, since=time.monotonic())
        return n < first and time.monotonic() - seen["since"] > 5

    wait_until(settled, "prometheus compaction", timeout_s=150)
    print(f"Prometheus compacted {first} backfilled blocks into {seen['blocks']}")
    return server


def _time(fn) -> tuple[float, object]:  # noqa: ANN001
    times, result = [], None
    fn()  # warm-up
    for _ in range(REPEATS):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def main() -> None:
    """Build both backends, time both answers, print the figures and the ratio."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # tests/servers.py

    end = (time.time() // 21600) * 21600  # on the 6 h grid of the 30 d answer, so buckets line up
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        t0 = time.perf_counter()
        files, store = _write(tmp, end)
        lines = sum(sum(1 for _ in f.open()) for f in files)
        print(
            f"data: {DEPLOYMENTS} deployments x {DAYS} d at {STEP_S:g} s; "
            f"{lines:,} OpenMetrics lines; written in {time.perf_counter() - t0:.1f} s"
        )
        t0 = time.perf_counter()
        prom = _start_prometheus(tmp, files)
        print(f"promtool backfill + Prometheus ready in {time.perf_counter() - t0:.1f} s")
        cfg = tmp / "wattlens.toml"
        cfg.write_text('[collect]\nstep = "60s"\n')
        app = create_app(
            store=store, config=load_config(cfg, environ={}), clock=lambda: end, cache_ttl_s=0.0
        )
        handle = serve_in_thread(app, "127.0.0.1", 0)
        client = httpx.Client(base_url=handle.url, timeout=120)
        try:
            ours_s, ours = _time(
                lambda: client.get("/api/v1/carbon/timeseries?range=30d").json()["points"]
            )
            prom_s, theirs = _time(lambda: _prometheus_series(prom.url, end))
        finally:
            client.close()
            handle.stop()
            prom.stop()
            store.close()
    common = {p["t"]: p for p in theirs}
    diffs = [
        abs(p["power_watts"] - common[p["t"]]["power_watts"]) / common[p["t"]]["power_watts"]
        for p in ours
        if p["t"] in common
    ]
    if not diffs:
        raise RuntimeError(
            f"no common buckets: wattlens {len(ours)} points {[p['t'] for p in ours[:3]]}, "
            f"Prometheus {len(theirs)} points {[p['t'] for p in theirs[:3]]}"
        )
    print(
        f"points: wattlens {len(ours)}, Prometheus {len(theirs)}; power agrees within "
        f"{max(diffs) * 100:.3f} % on {len(diffs)} common buckets"
    )
    print(
        f"wattlens store (HTTP, cache off): {ours_s * 1e3:8.1f} ms per answer (median of {REPEATS})"
    )
    print(
        f"Prometheus range queries:         {prom_s * 1e3:8.1f} ms per answer (median of {REPEATS})"
    )
    print(f"speed-up wattlens / Prometheus: {prom_s / ours_s:.1f}x (goal >= 20x)")


if __name__ == "__main__":
    main()
