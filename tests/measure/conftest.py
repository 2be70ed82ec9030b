"""Emulated deployments for the bench tests: in-process (a uvicorn thread) or a real
`wattlens emulate` subprocess, with planted step-model parameters."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from servers import Server, free_port, wait_until
from wattlens.emulator.endpoint import EmulateServer
from wattlens.emulator.engine import EngineSpec, planted_params

# Step times of 20-30 ms keep the emulated engine well ahead of its own CPU cost on a busy host.
MODEL, GPU, COUNT = "llama-3.1-70b", "A100-80GB", 4
PLANTED = {"eta_weights": 0.85, "eta_kv": 0.7, "p_floor": 0.3, "p_mem": 0.45}


@pytest.fixture(scope="module")
def emulated() -> Iterator[EmulateServer]:
    """An in-process emulated deployment (shared by a module's tests)."""
    spec = EngineSpec.build(MODEL, GPU, COUNT, params=planted_params(
        [f"{k}={v}" for k, v in PLANTED.items()]))  # fmt: skip
    with EmulateServer(spec) as server:
        yield server


@pytest.fixture(scope="module")
def emulate_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`python -m wattlens emulate` in a subprocess, polled for readiness."""
    port = free_port()
    argv = [sys.executable, "-m", "wattlens", "emulate", "--model", MODEL, "--gpu", GPU,
            "--count", str(COUNT), "--port", str(port)]  # fmt: skip
    for k, v in PLANTED.items():
        argv += ["--param", f"{k}={v}"]
    log_path = Path(tmp_path_factory.mktemp("emulate")) / "emulate.log"
    log = open(log_path, "ab")  # noqa: SIM115 - closed by Server.stop
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    server = Server("wattlens emulate", proc, f"http://127.0.0.1:{port}", log)

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"emulate exited {proc.returncode}: {server.log_text()[-2000:]}")
        try:
            return httpx.get(server.url + "/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, "wattlens emulate")
        yield server
    finally:
        server.stop()
