"""History files: what a Prometheus would have stored from scraping every target at every step.

Two formats, one writer:
- OpenMetrics for `promtool tsdb create-blocks-from openmetrics` (timestamps in seconds, samples
  grouped by family, counter families named without `_total`, `# EOF` at the end);
- Prometheus text with millisecond timestamps for VictoriaMetrics `/api/v1/import/prometheus`.
Series carry the target labels Prometheus adds: vLLM series get namespace/pod/container/job/
instance; dcgm-exporter series get job/instance plus the exporter pod's own namespace/pod/container,
so the GPU's pod labels are renamed `exported_*` (the real collision). Samples inside planted
gaps are skipped. Text is streamed family by family; it is never built whole in memory.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Literal

import numpy as np

from wattlens.core.errors import InputError
from wattlens.emulator.dcgm import DCGM_FAMILIES
from wattlens.emulator.families import (
    Block,
    FamilySpec,
    Labels,
    Target,
    format_labels,
    format_values,
)
from wattlens.emulator.layout import exporter_pod_name, ip_address
from wattlens.emulator.model import FleetModel, Observation
from wattlens.emulator.scenario import Scenario
from wattlens.emulator.vllm import vllm_families
from wattlens.telemetry.records import SeriesKey, SeriesSet, make_labels

HistoryFormat = Literal["openmetrics", "prometheus"]
Progress = Callable[[int, float], None]  # (samples written so far, fraction of families done)
_RENAMED = {
    "namespace": "exported_namespace",
    "pod": "exported_pod",
    "container": "exported_container",
}
DCGM_JOB, VLLM_JOB = "dcgm-exporter", "vllm"
EXPORTER_NAMESPACE, EXPORTER_CONTAINER = "gpu-operator", "nvidia-dcgm-exporter"


def dcgm_target_labels(scenario: Scenario, node: str, instance: str) -> Labels:
    """Labels Prometheus service discovery gives a node's dcgm-exporter target."""
    return (
        ("container", EXPORTER_CONTAINER),
        ("instance", instance),
        ("job", DCGM_JOB),
        ("namespace", EXPORTER_NAMESPACE),
        ("pod", exporter_pod_name(scenario, node)),
    )


def vllm_target_labels(namespace: str, pod: str, container: str, instance: str) -> Labels:
    """Labels Prometheus service discovery gives a vLLM pod target."""
    return (
        ("container", container),
        ("instance", instance),
        ("job", VLLM_JOB),
        ("namespace", namespace),
        ("pod", pod),
    )


def apply_target_labels(exported: Labels, target: Labels) -> Labels:
    """Prometheus `honor_labels: false`: clashing exporter labels become `exported_<name>`."""
    names = {k for k, _ in target}
    kept = tuple((_RENAMED.get(k, f"exported_{k}") if k in names else k, v) for k, v in exported)
    return kept + target


def _family_order(scenario: Scenario) -> list[tuple[str, list[FamilySpec]]]:
    """Family names in output order, each with the specs (per vLLM version) that define it."""
    order: dict[str, list[FamilySpec]] = {f.name: [f] for f in DCGM_FAMILIES}
    for d in scenario.deployments:
        if d.engine == "vllm":
            for fam in vllm_families(d.vllm_version):
                if fam.history and fam not in order.setdefault(fam.name, []):
                    order[fam.name].append(fam)
    return list(order.items())


def _om_header(fam: FamilySpec) -> str:
    name, kind = fam.name, fam.type
    if kind == "counter":
        if name.endswith("_total"):
            name = name[: -len("_total")]
        else:
            kind = "unknown"  # OpenMetrics counters need `_total` samples; DCGM's have none
    return f"# HELP {name} {fam.help}\n# TYPE {name} {kind}\n"


def _block_lines(
    spec: FamilySpec, blk: Block, target_labels: Labels, up: np.ndarray, ts: list[str]
) -> list[list[str]]:
    """Sample lines of each series of a block (rows without any sample left out)."""
    out = []
    for k, labels in enumerate(blk.labels):
        keep = up if blk.mask is None else up & blk.mask[k]
        idx = np.flatnonzero(keep)
        if idx.size == 0:
            continue
        full = apply_target_labels(labels, target_labels)
        prefix = f"{blk.samples[k] or spec.name}{format_labels(full)} "
        values = format_values(blk.values[k, idx], spec.integer)
        stamps = ts if idx.size == len(ts) else [ts[i] for i in idx.tolist()]
        out.append([prefix + v + s for v, s in zip(values, stamps, strict=True)])
    return out


@contextmanager
def _open_text(out: Path | str | IO[str]) -> Iterator[IO[str]]:
    if not isinstance(out, str | Path):
        yield out
        return
    path = Path(out)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            yield fh
        os.replace(tmp, path)  # crash-safe: the file appears whole or not at all
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_history(
    scenario: Scenario,
    out: Path | str | IO[str],
    *,
    start_s: float,
    end_s: float,
    step_s: float = 30.0,
    start_of_scenario_s: float | None = None,
    fmt: HistoryFormat = "openmetrics",
    progress: Progress | None = None,
    wanted: frozenset[str] | None = None,
) -> int:
    """Write scraped history of every target every `step_s` in [start_s, end_s].

    Args:
        scenario: the fleet.
        out: a path (written atomically) or an open text stream.
        start_s: first scrape time, UTC epoch seconds.
        end_s: last possible scrape time (inclusive when on the step grid).
        step_s: scrape interval.
        start_of_scenario_s: when the scenario started (default `start_s`).
        fmt: "openmetrics" (promtool, seconds) or "prometheus" (VictoriaMetrics, milliseconds).
        progress: called after each family with (samples written, fraction done).
        wanted: keep only families with a sample name in this set (like a Prometheus
            `metric_relabel_configs` keep rule); None keeps everything.

    Returns:
        Number of samples written.
    """
    if not (end_s >= start_s and step_s > 0):
        raise InputError(f"history window [{start_s}, {end_s}] step {step_s}: need end >= start")
    if fmt not in ("openmetrics", "prometheus"):
        raise InputError(f"history format {fmt!r}: expected 'openmetrics' or 'prometheus'")
    model = FleetModel(scenario, start_s if start_of_scenario_s is None else start_of_scenario_s)
    times = start_s + np.arange(int(np.floor((end_s - start_s) / step_s + 1e-9)) + 1) * step_s
    obs = model.observe(times)
    if fmt == "openmetrics":
        ts = [f" {t:.3f}".rstrip("0").rstrip(".") + "\n" for t in times.tolist()]
    else:
        ts = [f" {round(t * 1000.0)}\n" for t in times.tolist()]
    targets = _targets(scenario, model, obs)
    families = _family_order(scenario)
    written = 0
    with _open_text(out) as fh:
        for fi, (name, specs) in enumerate(families):
            if wanted is not None and not any(w == name or w.startswith(name) for w in wanted):
                continue
            header_done = False
            for target, tlabels, up, is_dcgm in targets:
                spec = _spec_for(scenario, specs, target, is_dcgm)
                if spec is None:
                    continue
                rows = _block_lines(spec, spec.block(target), tlabels, up, ts)
                if not rows:
                    continue
                if not header_done and fmt == "openmetrics":
                    fh.write(_om_header(spec))
                header_done = True
                if spec.type == "histogram":
                    # OpenMetrics groups a histogram's buckets, count and sum per timestamp.
                    fh.write("".join(["".join(at_t) for at_t in zip(*rows, strict=True)]))
                else:
                    fh.write("".join(["".join(lines) for lines in rows]))
                written += sum(len(lines) for lines in rows)
            if progress is not None:
                progress(written, (fi + 1) / len(families))
        if fmt == "openmetrics":
            fh.write("# EOF\n")
    return written


def _targets(
    scenario: Scenario, model: FleetModel, obs: Observation
) -> list[tuple[Target, Labels, np.ndarray, bool]]:
    """Every scrape target over the observation: (target, its SD labels, up mask, is dcgm)."""
    targets: list[tuple[Target, Labels, np.ndarray, bool]] = []
    for ni, node in enumerate(model.node_names):
        labels = dcgm_target_labels(scenario, node, f"{ip_address(scenario, node)}:9400")
        targets.append((Target(model, obs, node=node), labels, obs.node_up[ni], True))
    for di, d in enumerate(scenario.deployments):
        if d.engine != "vllm":
            continue
        for g in np.unique(obs.generation[di]).tolist():
            pod = model.pod_name(di, g)
            inst = f"{ip_address(scenario, d.key, g)}:8000"
            labels = vllm_target_labels(d.namespace, pod, d.container, inst)
            up = obs.dep_up[di] & (obs.generation[di] == g)
            targets.append((Target.pod(model, obs, di, g), labels, up, False))
    return targets


def _spec_for(
    scenario: Scenario, specs: list[FamilySpec], target: Target, is_dcgm: bool
) -> FamilySpec | None:
    """The family spec this target exposes (vLLM versions differ), or None."""
    if is_dcgm:
        return specs[0] if specs[0] in DCGM_FAMILIES else None
    own = vllm_families(scenario.deployments[target.deployment].vllm_version)
    return next((s for s in specs if s in own), None)


def history_series(
    scenario: Scenario,
    *,
    start_s: float,
    end_s: float,
    step_s: float = 30.0,
    start_of_scenario_s: float | None = None,
    wanted: frozenset[str] | None = None,
) -> SeriesSet:
    """The same history as `write_history`, in memory as a `SeriesSet` (no text round trip).

    Args:
        wanted: keep only these sample names (e.g. `telemetry.metrics.WANTED_METRICS`).
    """
    if not (end_s >= start_s and step_s > 0):
        raise InputError(f"history window [{start_s}, {end_s}] step {step_s}: need end >= start")
    model = FleetModel(scenario, start_s if start_of_scenario_s is None else start_of_scenario_s)
    times = start_s + np.arange(int(np.floor((end_s - start_s) / step_s + 1e-9)) + 1) * step_s
    obs = model.observe(times)
    out = SeriesSet()
    targets = _targets(scenario, model, obs)
    for _, specs in _family_order(scenario):
        for target, tlabels, up, is_dcgm in targets:
            spec = _spec_for(scenario, specs, target, is_dcgm)
            if spec is None:
                continue
            if (
                wanted is not None
                and spec.name not in wanted
                and not any(n.startswith(spec.name) and n in wanted for n in wanted)
            ):
                continue
            blk = spec.block(target)
            for k, labels in enumerate(blk.labels):
                name = blk.samples[k] or spec.name
                if wanted is not None and name not in wanted:
                    continue
                keep = up if blk.mask is None else up & blk.mask[k]
                if not keep.any():
                    continue
                full = apply_target_labels(labels, tlabels)
                out.add(SeriesKey(name, make_labels(dict(full))), times[keep], blk.values[k, keep])
    return out


def write_openmetrics_history(
    scenario: Scenario,
    out: Path | str | IO[str],
    *,
    start_s: float,
    end_s: float,
    step_s: float = 30.0,
    start_of_scenario_s: float | None = None,
    progress: Progress | None = None,
) -> int:
    """OpenMetrics history for `promtool tsdb create-blocks-from openmetrics`; returns samples."""
    return write_history(scenario, out, start_s=start_s, end_s=end_s, step_s=step_s,
                         start_of_scenario_s=start_of_scenario_s, fmt="openmetrics",
                         progress=progress)  # fmt: skip


def write_prometheus_import(
    scenario: Scenario,
    out: Path | str | IO[str],
    *,
    start_s: float,
    end_s: float,
    step_s: float = 30.0,
    start_of_scenario_s: float | None = None,
    progress: Progress | None = None,
) -> int:
    """Prometheus text with ms timestamps for VictoriaMetrics `/api/v1/import/prometheus`."""
    return write_history(scenario, out, start_s=start_s, end_s=end_s, step_s=step_s,
                         start_of_scenario_s=start_of_scenario_s, fmt="prometheus",
                         progress=progress)  # fmt: skip


__all__ = [
    "DCGM_JOB",
    "EXPORTER_CONTAINER",
    "EXPORTER_NAMESPACE",
    "VLLM_JOB",
    "HistoryFormat",
    "apply_target_labels",
    "dcgm_target_labels",
    "history_series",
    "vllm_target_labels",
    "write_history",
    "write_openmetrics_history",
    "write_prometheus_import",
]
