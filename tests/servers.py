"""Start real Prometheus and VictoriaMetrics servers on loopback for tests.

Each server gets a free port, a data directory and a log file under `tmp_path` (kept for
debugging), and is polled for readiness against a deadline. Use as a context manager or call
`.stop()`; the process is killed at teardown.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import IO, Any

import httpx

READY_TIMEOUT_S = 30.0

__all__ = ["Server", "free_port", "start_prometheus", "start_victoria_metrics", "wait_until"]


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Any, what: str, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Poll `check()` until it returns truthy or the deadline passes (then raise)."""
    deadline = time.monotonic() + timeout_s
    delay = 0.01
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(delay)  # polling interval, not a stand-in for synchronisation
        delay = min(delay * 2, 0.2)
    raise TimeoutError(f"{what} not ready after {timeout_s} s")


class Server:
    """A started backend process: `.url`, `.log_path`, `.stop()`; a context manager."""

    def __init__(self, name: str, proc: subprocess.Popen[bytes], url: str, log: IO[bytes]):
        self.name = name
        self.proc = proc
        self.url = url
        self._log = log
        self.log_path = Path(log.name)

    def log_text(self) -> str:
        """The server's log so far (for assertion messages)."""
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Terminate the process (kill after 5 s) and close its log."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _launch(name: str, argv: list[str], log_path: Path, url: str, ready_path: str) -> Server:
    log = open(log_path, "ab")  # noqa: SIM115 - closed by Server.stop
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    server = Server(name, proc, url, log)

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(
                f"{name} exited with {proc.returncode}:\n{server.log_text()[-3000:]}"
            )
        try:
            return httpx.get(url + ready_path, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, f"{name} at {url}")
    except BaseException:
        server.stop()
        raise
    return server


def _yaml(obj: Any) -> str:
    # JSON is valid YAML, so no YAML library is needed.
    return json.dumps(obj, indent=2)


def start_prometheus(
    tmp_path: Path,
    scrape_configs: list[dict[str, Any]] | None = None,
    *,
    backfill_openmetrics: Path | None = None,
    retention: str = "30d",
    scrape_interval: str = "15s",
) -> Server:
    """Start `prometheus` on a free loopback port, optionally backfilled with promtool first.

    Backfill runs `promtool tsdb create-blocks-from openmetrics FILE DATADIR`; the blocks are
    queryable as soon as the server is ready (Prometheus >= 2.39 accepts overlapping blocks).
    """
    exe = shutil.which("prometheus")
    if exe is None:
        raise RuntimeError("prometheus not installed: apt-get install prometheus")
    root = tmp_path / f"prometheus-{free_port()}"
    data = root / "data"
    data.mkdir(parents=True)
    if backfill_openmetrics is not None:
        out = subprocess.run(
            [
                "promtool",
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                str(backfill_openmetrics),
                str(data),
            ],
            capture_output=True,
            text=True,
        )
        (root / "promtool.log").write_text(out.stdout + out.stderr)
        if out.returncode != 0:
            raise RuntimeError(f"promtool backfill failed: {out.stderr or out.stdout}")
    config = root / "prometheus.yml"
    config.write_text(
        _yaml(
            {
                "global": {"scrape_interval": scrape_interval, "evaluation_interval": "1m"},
                "scrape_configs": scrape_configs or [],
            }
        )
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        exe,
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        f"--storage.tsdb.retention.time={retention}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--web.enable-admin-api",
        "--log.level=warn",
    ]
    return _launch("prometheus", argv, root / "prometheus.log", url, "/-/ready")


def start_victoria_metrics(
    tmp_path: Path,
    *,
    import_openmetrics: Path | None = None,
    scrape_config: Path | None = None,
    retention: str = "1y",
) -> Server:
    """Start `victoria-metrics` (1.79 flags) on a free port; optionally import a file.

    The import converts the OpenMetrics file (timestamps in seconds) to Prometheus text with
    millisecond timestamps, which `/api/v1/import/prometheus` expects, then forces a flush so
    the samples are searchable at once.
    """
    exe = shutil.which("victoria-metrics")
    if exe is None:
        raise RuntimeError("victoria-metrics not installed: apt-get install victoria-metrics")
    port = free_port()
    root = tmp_path / f"victoria-metrics-{port}"
    root.mkdir(parents=True)
    url = f"http://127.0.0.1:{port}"
    argv = [
        exe,
        f"-storageDataPath={root / 'data'}",
        f"-httpListenAddr=127.0.0.1:{port}",
        f"-retentionPeriod={retention}",
        "-search.disableCache",  # imported history must not hide behind cached answers
        "-search.latencyOffset=0s",  # default 30 s hides just-scraped samples from queries
        "-loggerLevel=WARN",
    ]
    if scrape_config is not None:
        argv.append(f"-promscrape.config={scrape_config}")
    server = _launch("victoria-metrics", argv, root / "victoria-metrics.log", url, "/health")
    if import_openmetrics is not None:
        try:
            import_into_victoria_metrics(server.url, import_openmetrics)
        except BaseException:
            server.stop()
            raise
    return server


def openmetrics_to_prometheus_text(text: str) -> str:
    """OpenMetrics lines (timestamps in s) -> Prometheus text lines (timestamps in ms)."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, ts = line.rpartition(" ")
        out.append(f"{head} {round(float(ts) * 1000)}")
    return "\n".join(out) + "\n"


def import_into_victoria_metrics(url: str, openmetrics_file: Path) -> None:
    """POST a file to VictoriaMetrics' Prometheus-text import and flush it to search."""
    body = openmetrics_to_prometheus_text(openmetrics_file.read_text())
    r = httpx.post(f"{url}/api/v1/import/prometheus", content=body.encode(), timeout=30)
    if r.status_code not in (200, 204):
        raise RuntimeError(f"VictoriaMetrics import failed: HTTP {r.status_code} {r.text}")
    httpx.get(f"{url}/internal/force_flush", timeout=30).raise_for_status()
