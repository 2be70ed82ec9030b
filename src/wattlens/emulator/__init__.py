"""Emulated GPU fleet: the embedded demo and the ground truth for tests.

- `scenario`: TOML scenarios (typed dataclasses, strict loader); bundled ones in `scenarios/`.
- `model`: the fleet as a pure, vectorised function of (scenario, start, t) with exact counters.
- `exposition`: dcgm-exporter and vLLM `/metrics` text.
- `server`: the exporters, service discovery and `/truth` over HTTP (uvicorn in a thread).
- `history`: OpenMetrics (promtool) and Prometheus-import (VictoriaMetrics) history files.
- `truth`: planted per-deployment energy, tokens and identity over a window.
"""

from wattlens.emulator.exposition import dcgm_text, vllm_text
from wattlens.emulator.history import (
    history_series,
    write_history,
    write_openmetrics_history,
    write_prometheus_import,
)
from wattlens.emulator.layout import GpuSlot, pod_name
from wattlens.emulator.model import FleetModel, Observation
from wattlens.emulator.scenario import (
    Deployment,
    Node,
    PowerModel,
    Scenario,
    TimeRef,
    Traffic,
    bundled_scenarios,
    load_scenario,
    scenario_from_dict,
)
from wattlens.emulator.server import EmulatorServer, create_app
from wattlens.emulator.synthetic import synthetic_scenario
from wattlens.emulator.truth import Truth, truth, truth_from_model

__all__ = [
    "Deployment",
    "EmulatorServer",
    "FleetModel",
    "GpuSlot",
    "Node",
    "Observation",
    "PowerModel",
    "Scenario",
    "TimeRef",
    "Traffic",
    "Truth",
    "bundled_scenarios",
    "create_app",
    "dcgm_text",
    "history_series",
    "load_scenario",
    "pod_name",
    "scenario_from_dict",
    "synthetic_scenario",
    "truth",
    "truth_from_model",
    "vllm_text",
    "write_history",
    "write_openmetrics_history",
    "write_prometheus_import",
]
