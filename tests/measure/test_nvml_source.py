"""`collect --nvml`: local GPUs through NVML (fake pynvml) -> derivation -> a real DuckDB store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.measure.fake_nvml import FakeGpu, FakeNvml, ProcessInfo

from wattlens.app.nvml import nvml_collector
from wattlens.config import load_config
from wattlens.core.errors import BackendError, InputError
from wattlens.store import Store
from wattlens.telemetry.nvml import NvmlGpus, NvmlSource

T0 = 1_780_000_000.0


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


def test_source_reads_counters_in_dcgm_units() -> None:
    clock = Clock()
    nvml = FakeNvml([FakeGpu("GPU-a", power_watts=250.0), FakeGpu("GPU-b")], clock)
    with NvmlGpus(nvml) as gpus:
        src = NvmlSource(gpus, deployment="llm/llama", hostname="node-1")
        batch, failures = src.fetch(T0)
        assert failures == []
        values = {
            (k.name, k.label("UUID")): v for k, v in zip(batch.keys, batch.values, strict=True)
        }
        assert values[("DCGM_FI_DEV_POWER_USAGE", "GPU-a")] == 250.0  # mW -> W
        assert values[("DCGM_FI_DEV_FB_USED", "GPU-b")] == 70 * 1024  # bytes -> MiB
        assert values[("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "GPU-a")] == 12_345_678_901  # mJ
        assert batch.keys[0].label("namespace") == "llm" and batch.keys[0].label("pod") == "llama"
    assert nvml.initialised == 0


def test_collected_energy_equals_the_planted_draw(tmp_path: Path) -> None:
    clock = Clock()
    nvml = FakeNvml([FakeGpu("GPU-a", power_watts=300.0), FakeGpu("GPU-b", power_watts=200.0)],
                    clock)  # fmt: skip
    cfg = load_config(None, environ={})
    with NvmlGpus(nvml) as gpus, Store.open(tmp_path / "n.duckdb") as store:
        collector = nvml_collector(cfg, store, gpus, deployment="llm/llama", hostname="node-1",
                                   clock=clock)  # fmt: skip
        for _ in range(41):  # 10 minutes at 15 s
            collector.cycle()
            clock.t += 15.0
        collector.flush()
        deps = [d.info.deployment_id for d in store.deployments()]
        assert deps == ["llm/llama"]
        cols = store.intervals("llm/llama")
        energy = float(np.nansum(cols["energy_joules"]))
        covered = float(np.nansum(cols["interval_s"]))
    # Planted truth: 500 W for every covered second (the fake integrates its draw exactly).
    assert covered > 500.0
    assert energy == pytest.approx(500.0 * covered, rel=0.01)


def test_nvml_errors_are_translated() -> None:
    nvml = FakeNvml([FakeGpu("GPU-a")], Clock())
    with pytest.raises(InputError, match="NVML sees 1 GPU"):
        NvmlGpus(nvml, indices=[3])
    with NvmlGpus(FakeNvml([FakeGpu("GPU-a")], Clock(), root=False)) as gpus:
        with pytest.raises(BackendError, match="needs root"):
            gpus.set_power_limit_watts(0, 200)
        with pytest.raises(InputError, match="allows 100..400 W"):
            gpus.set_power_limit_watts(0, 50)


def _pod_process(root: Path, pid: int, cgroup: str, hostname: str, namespace: str) -> None:
    d = root / str(pid)
    (d / "root/var/run/secrets/kubernetes.io/serviceaccount").mkdir(parents=True)
    (d / "cgroup").write_text(cgroup)
    (d / "environ").write_bytes(f"PATH=/usr/bin\0HOSTNAME={hostname}\0".encode())
    if namespace:
        (d / "root/var/run/secrets/kubernetes.io/serviceaccount/namespace").write_text(namespace)


def test_gpu_processes_map_to_their_pods(tmp_path: Path) -> None:
    # cgroup v2 (systemd driver) and v1 layouts as kubelet creates them; one non-pod process.
    cid = "a" * 64
    _pod_process(tmp_path, 4242, "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable"
                 f"-pod1f2e.slice/cri-containerd-{cid}.scope\n", "llama-70b-7d9c8b6f4-x2k4p",
                 "llm")  # fmt: skip
    _pod_process(tmp_path, 77, "0::/user.slice/user-0.slice/session-1.scope\n", "gpu-box", "")
    gpus = [FakeGpu("GPU-a", processes=[ProcessInfo(77, 1 << 20), ProcessInfo(4242, 60 << 30)]),
            FakeGpu("GPU-b", processes=[ProcessInfo(77, 1 << 20)]), FakeGpu("GPU-c")]  # fmt: skip
    with NvmlGpus(FakeNvml(gpus, Clock())) as nv:
        batch, _ = NvmlSource(nv, hostname="node-1", proc_root=tmp_path).fetch(T0)
    labels = {k.label("UUID"): k.label_dict() for k in batch.keys}
    assert labels["GPU-a"]["namespace"] == "llm"
    assert labels["GPU-a"]["pod"] == "llama-70b-7d9c8b6f4-x2k4p"
    assert labels["GPU-a"]["container_id"] == cid
    assert "pod" not in labels["GPU-b"] and "pod" not in labels["GPU-c"]  # unallocated


def test_combined_source_puts_engine_samples_beside_the_gpus() -> None:
    from wattlens.app.nvml import CombinedSource
    from wattlens.telemetry.records import SeriesKey, SeriesSet

    engine = SeriesSet()
    key = SeriesKey("vllm:generation_tokens_total", (("namespace", "llm"), ("pod", "llama")))
    engine.add(key, np.array([T0]), np.array([1234.0]))

    class Engine:
        description, target = "scrape of 1 target(s)", "scrape"

        def fetch(self, now_s: float) -> tuple[SeriesSet, list[object]]:
            return engine, []

    with NvmlGpus(FakeNvml([FakeGpu("GPU-a")], Clock())) as nv:
        src = CombinedSource(NvmlSource(nv, deployment="llm/llama", hostname="n"), Engine())
        batch, failures = src.fetch(T0)
    assert failures == [] and len(batch) == 4  # energy, power, memory + the engine counter
    assert batch.keys[-1] == key and batch.values[-1] == 1234.0
    assert src.description.startswith("NVML on n")
