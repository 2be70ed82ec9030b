"""`serve --nvml`: a real serve (web app + collector, in-process) over the local GPUs through a
fake `pynvml` (the library boundary); the API shows the planted draw."""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from tests.measure.fake_nvml import FakeGpu, FakeNvml

from wattlens.app.nvml import run_nvml_service
from wattlens.config import load_config
from wattlens.web.server import web_starter

STEP_S = 15.0  # the virtual clock advances one scrape interval per cycle
CYCLES = 41  # ten minutes of virtual time, ending at the real now (the API's "now")


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_serve_nvml_shows_the_planted_power_and_energy(tmp_path: Path) -> None:
    cfg_file = tmp_path / "wattlens.toml"
    cfg_file.write_text("[scrape]\ninterval = 0.001\n")  # the virtual clock paces the cycles
    cfg = load_config(cfg_file, environ={})
    clock = Clock(math.floor(time.time() / 30.0) * 30.0 - (CYCLES - 1) * STEP_S)
    nvml = FakeNvml([FakeGpu("GPU-a", power_watts=300.0), FakeGpu("GPU-b", power_watts=200.0)],
                    clock)  # fmt: skip
    start_mj = sum(g.energy_mj for g in nvml.gpus)
    urls: list[str] = []
    cycles = 0
    checked, stop, errors = threading.Event(), threading.Event(), []
    got: dict[str, Any] = {}
    readings: list[tuple[float, float]] = []  # (virtual time, the fake's counters summed)

    def on_cycle(_: Any) -> None:
        nonlocal cycles
        cycles += 1
        readings.append((clock.t, sum(g.energy_mj for g in nvml.gpus) / 1000.0))  # planted J
        if cycles < CYCLES:
            clock.t += STEP_S
            return
        try:  # the collector waits here while the API is read (the web app has its own thread)
            with httpx.Client(base_url=urls[0], timeout=10) as http:
                got["list"] = http.get("/api/v2/deployments").json()
                got["energy"] = http.get(
                    "/api/v2/deployments/llm/llama/series",
                    params={"metric": "energy_joules", "range": "1h"},
                ).json()
        finally:
            stop.set()

    def serve() -> None:
        try:
            run_nvml_service(cfg, db=tmp_path / "s.duckdb", start_web=web_starter("127.0.0.1", 0),
                             deployment="llm/llama", seconds=None, on_ready=urls.append,
                             on_cycle=on_cycle, stop=stop, nvml=nvml, clock=clock)  # fmt: skip
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            errors.append(e)
        finally:
            checked.set()

    t = threading.Thread(target=serve)
    t.start()
    checked.wait(60)
    t.join(10)
    assert not errors, errors
    deps = {d["deployment"]: d for d in got["list"]["deployments"]}
    assert list(deps) == ["llm/llama"]
    live = deps["llm/llama"]["live"]
    assert live["energy_source"] == "counter"
    # Planted truth: the fake's energy counters rose by this much over the run (mJ -> J), and
    # its GPUs draw 300 W + 200 W.
    planted_j = (sum(g.energy_mj for g in nvml.gpus) - start_mj) / 1000.0
    # Each energy point (a 5-minute bucket, stamped at its end) against the fake's counter rise
    # over the part of that bucket the run covered.
    t_read, j_read = np.array(readings).T
    points = got["energy"]["points"]
    assert len(points) >= 2
    for p in points:
        end = datetime.fromisoformat(p["time"].replace("Z", "+00:00")).timestamp()
        lo, hi = max(end - 300.0, t_read[0]), min(end, t_read[-1])
        if hi <= lo:  # a bucket after the last reading (the run ended on its start): no energy
            assert p["value"] in (None, 0.0), p
            continue
        planted = float(np.interp(hi, t_read, j_read) - np.interp(lo, t_read, j_read))
        assert p["value"] == pytest.approx(planted, rel=0.01), p
    assert live["power_watts"] == pytest.approx(500.0, rel=0.01)
    assert live["power_watts"] == pytest.approx(planted_j / ((CYCLES - 1) * STEP_S), rel=0.01)
    assert nvml.initialised == 0  # NVML shut down on stop
