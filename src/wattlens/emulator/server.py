"""The emulated exporters over real HTTP: a Starlette app under uvicorn in a background thread.

Routes: `/dcgm/<node>/metrics`, `/vllm/<namespace>/<pod>/metrics` (current pods only),
`/sd` (Prometheus HTTP service discovery), `/truth?start=&end=`, `/healthz`. The clock is
injected, so tests drive time without sleeping; during a planted gap the affected endpoints
answer 503.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from wattlens.core.errors import InputError
from wattlens.emulator.exposition import CONTENT_TYPE, dcgm_text, vllm_text
from wattlens.emulator.history import (
    DCGM_JOB,
    EXPORTER_CONTAINER,
    EXPORTER_NAMESPACE,
    VLLM_JOB,
)
from wattlens.emulator.layout import exporter_pod_name
from wattlens.emulator.model import FleetModel, Observation
from wattlens.emulator.scenario import Scenario
from wattlens.emulator.threaded import ThreadedServer
from wattlens.emulator.truth import truth_from_model

_START_TIMEOUT_S = 10.0


def _time_param(value: str | None, default: float, name: str) -> float:
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError as e:
        raise InputError(f"query {name}={value!r}: expected epoch seconds or ISO 8601") from e


class _Fleet:
    """The model plus the last observation (several scrapes at one instant share it)."""

    def __init__(self, scenario: Scenario, start_s: float, clock: Callable[[], float]) -> None:
        self.model = FleetModel(scenario, start_s)
        self.clock = clock
        self._last: tuple[float, Observation] | None = None
        self._lock = threading.Lock()

    def now(self) -> tuple[float, Observation]:
        t = float(self.clock())
        with self._lock:
            if self._last is None or self._last[0] != t:
                self._last = (t, self.model.observe([t]))
            return self._last


def create_app(scenario: Scenario, *, start_s: float, clock: Callable[[], float]) -> Starlette:
    """The emulator's ASGI app (also usable without a server, e.g. with httpx's ASGI transport)."""
    fleet = _Fleet(scenario, start_s, clock)
    model = fleet.model
    node_index = {n: i for i, n in enumerate(model.node_names)}
    deps = scenario.deployments

    def unavailable(what: str) -> Response:
        return PlainTextResponse(f"{what} unreachable (planted gap)\n", status_code=503)

    async def dcgm(request: Request) -> Response:
        node = request.path_params["node"]
        if node not in node_index:
            return PlainTextResponse(f"no node {node!r}\n", status_code=404)
        _, obs = fleet.now()
        if not obs.node_up[node_index[node], 0]:
            return unavailable(f"dcgm-exporter on {node}")
        return Response(dcgm_text(model, obs, node), media_type=CONTENT_TYPE)

    async def vllm(request: Request) -> Response:
        ns, pod = request.path_params["namespace"], request.path_params["pod"]
        _, obs = fleet.now()
        for di, d in enumerate(deps):
            gen = int(obs.generation[di, 0])
            if d.engine == "vllm" and d.namespace == ns and model.pod_name(di, gen) == pod:
                if not obs.dep_up[di, 0]:
                    return unavailable(f"vLLM pod {ns}/{pod}")
                return Response(vllm_text(model, obs, di), media_type=CONTENT_TYPE)
        return PlainTextResponse(f"no current pod {ns}/{pod}\n", status_code=404)

    async def sd(request: Request) -> Response:
        _, obs = fleet.now()
        address = request.url.netloc
        groups: list[dict[str, Any]] = []
        for node in model.node_names:
            labels = {
                "__metrics_path__": f"/dcgm/{node}/metrics",
                "job": DCGM_JOB,
                "namespace": EXPORTER_NAMESPACE,
                "pod": exporter_pod_name(scenario, node),
                "container": EXPORTER_CONTAINER,
            }
            groups.append({"targets": [address], "labels": labels})
        for di, d in enumerate(deps):
            if d.engine != "vllm":
                continue
            pod = model.pod_name(di, int(obs.generation[di, 0]))
            labels = {
                "__metrics_path__": f"/vllm/{d.namespace}/{pod}/metrics",
                "job": VLLM_JOB,
                "namespace": d.namespace,
                "pod": pod,
                "container": d.container,
            }
            groups.append({"targets": [address], "labels": labels})
        return JSONResponse(groups)

    async def truth_route(request: Request) -> Response:
        now, _ = fleet.now()
        try:
            start = _time_param(request.query_params.get("start"), model.start_s, "start")
            end = _time_param(request.query_params.get("end"), now, "end")
            result = truth_from_model(model, start, end)
        except InputError as e:
            return JSONResponse({"ok": False, "error": e.message, "status": 400}, status_code=400)
        body = {
            "ok": True,
            "scenario": scenario.name,
            "start_of_scenario_s": model.start_s,
            "start_s": start,
            "end_s": end,
            "deployments": {k: v.as_dict() for k, v in result.items()},
        }
        return JSONResponse(body)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    return Starlette(
        routes=[
            Route("/dcgm/{node}/metrics", dcgm),
            Route("/vllm/{namespace}/{pod}/metrics", vllm),
            Route("/sd", sd),
            Route("/truth", truth_route),
            Route("/healthz", healthz),
        ]
    )


class EmulatorServer(ThreadedServer):
    """Serve a scenario on `host:port` (0 = any free port) in a background thread.

    `start_s` is when the scenario started (default: the clock's now, floored to a tick).
    Use as a context manager, or call `start()` and `stop()`.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] = time.time,
        start_s: float | None = None,
    ) -> None:
        self.scenario = scenario
        self.clock = clock
        self.start_s = (
            math.floor(clock() / scenario.tick_s) * scenario.tick_s if start_s is None else start_s
        )
        app = create_app(scenario, start_s=self.start_s, clock=clock)
        super().__init__(app, host=host, port=port, what="emulator")


__all__ = ["EmulatorServer", "create_app"]
