"""Local GPUs through NVML (nvidia-ml-py, imported as `pynvml`): energy, power, memory, limits.

`NvmlGpus` wraps the library; the `nvml=` argument is the module (a recorded fake in tests).
NVML's units are kept at the boundary and converted here: the total-energy counter is mJ since
the driver loaded (nvmlDeviceGetTotalEnergyConsumption, Volta and later), power and power limits
are mW. `NvmlSource` reads every GPU once per `fetch` and yields the series dcgm-exporter would
(`DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION` in mJ, `DCGM_FI_DEV_POWER_USAGE` in W,
`DCGM_FI_DEV_FB_USED` in MiB), labelled with the GPU's UUID and, with `deployment=`, the
`namespace`/`pod` of the one engine on the node (else of each GPU's Kubernetes process, read
from procfs), so they join the derivation like a scrape.
NVML errors become `BackendError` (permission errors say that setting limits needs root).
"""

from __future__ import annotations

import contextlib
import importlib
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import numpy as np

from wattlens.core.errors import BackendError, InputError
from wattlens.telemetry.records import FlatSamples, SeriesKey, make_labels

T = TypeVar("T")
ENERGY_METRIC = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
POWER_METRIC = "DCGM_FI_DEV_POWER_USAGE"
MEMORY_METRIC = "DCGM_FI_DEV_FB_USED"


def load_nvml() -> ModuleType:
    """The `pynvml` module of nvidia-ml-py, or BackendError saying how to get it."""
    try:
        return importlib.import_module("pynvml")
    except ImportError as e:
        raise BackendError(
            "NVML: the pynvml module is missing; install nvidia-ml-py (pip install nvidia-ml-py)"
        ) from e


def _call(nvml: Any, what: str, fn: Callable[..., T], *args: Any) -> T:
    """Call an NVML function, translating NVMLError into BackendError."""
    try:
        return fn(*args)
    except nvml.NVMLError as e:
        no_perm = getattr(nvml, "NVMLError_NoPermission", None)
        hint = ""
        if no_perm is not None and isinstance(e, no_perm):
            hint = "; changing power limits needs root (sudo) or admin rights on the GPU"
        raise BackendError(f"NVML {what}: {e}{hint}") from e


@dataclass(frozen=True, slots=True)
class GpuInfo:
    """One local GPU as NVML names it."""

    index: int
    uuid: str
    name: str


class NvmlGpus:
    """The local GPUs (all, or `indices`); `close()` (or `with`) shuts NVML down."""

    def __init__(self, nvml: Any = None, indices: list[int] | None = None) -> None:
        self.nvml = nvml if nvml is not None else load_nvml()
        _call(self.nvml, "init", self.nvml.nvmlInit)
        count = int(_call(self.nvml, "device count", self.nvml.nvmlDeviceGetCount))
        wanted = list(range(count)) if indices is None else indices
        bad = [i for i in wanted if not 0 <= i < count]
        if bad:
            self.close()
            raise InputError(f"gpus {bad}: NVML sees {count} GPU(s) (0..{count - 1})", field="gpus")
        self._handles = [
            _call(self.nvml, f"GPU {i}", self.nvml.nvmlDeviceGetHandleByIndex, i) for i in wanted
        ]
        self.gpus = [
            GpuInfo(i, _text(self._get("UUID", self.nvml.nvmlDeviceGetUUID, k)),
                    _text(self._get("name", self.nvml.nvmlDeviceGetName, k)))
            for k, i in enumerate(wanted)
        ]  # fmt: skip

    def _get(self, what: str, fn: Callable[[Any], T], k: int) -> T:
        return _call(self.nvml, f"{what} of GPU {k}", fn, self._handles[k])

    def energy_millijoules(self) -> list[int]:
        """Each GPU's total-energy counter (mJ since the driver loaded)."""
        fn = self.nvml.nvmlDeviceGetTotalEnergyConsumption
        return [int(self._get("total energy", fn, k)) for k in range(len(self._handles))]

    def power_watts(self) -> list[float]:
        """Each GPU's power draw (NVML mW -> W)."""
        fn = self.nvml.nvmlDeviceGetPowerUsage
        return [self._get("power", fn, k) / 1000.0 for k in range(len(self._handles))]

    def memory_used_bytes(self) -> list[int]:
        """Each GPU's used framebuffer memory."""
        fn = self.nvml.nvmlDeviceGetMemoryInfo
        return [int(self._get("memory", fn, k).used) for k in range(len(self._handles))]

    def process_ids(self) -> list[list[int]]:
        """Each GPU's compute processes, largest GPU memory first."""
        fn = self.nvml.nvmlDeviceGetComputeRunningProcesses
        out = []
        for k in range(len(self._handles)):
            procs = self._get("processes", fn, k)
            procs = sorted(procs, key=lambda p: -(getattr(p, "usedGpuMemory", 0) or 0))
            out.append([int(p.pid) for p in procs])
        return out

    def power_limits_watts(self) -> list[float]:
        """Each GPU's power-management limit (mW -> W)."""
        fn = self.nvml.nvmlDeviceGetPowerManagementLimit
        return [self._get("power limit", fn, k) / 1000.0 for k in range(len(self._handles))]

    def set_power_limit_watts(self, k: int, watts: float) -> None:
        """Set GPU k's power limit (needs root); checked against the GPU's allowed range."""
        lo, hi = self._get(
            "power limit range", self.nvml.nvmlDeviceGetPowerManagementLimitConstraints, k
        )
        mw = round(watts * 1000.0)
        if not lo <= mw <= hi:
            raise InputError(
                f"power_cap {watts:g} W: GPU {self.gpus[k].index} allows {lo / 1000:g}.."
                f"{hi / 1000:g} W",
                field="power_cap",
            )
        _call(self.nvml, f"set power limit of GPU {k}",
              self.nvml.nvmlDeviceSetPowerManagementLimit, self._handles[k], mw)  # fmt: skip

    def close(self) -> None:
        """Shut NVML down (errors ignored: nothing to do about them)."""
        with contextlib.suppress(self.nvml.NVMLError):
            self.nvml.nvmlShutdown()

    def __enter__(self) -> NvmlGpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


_CONTAINER_ID = re.compile(r"([0-9a-f]{64})")
_SA_NAMESPACE = "root/var/run/secrets/kubernetes.io/serviceaccount/namespace"


def pod_of_process(pid: int, proc_root: Path = Path("/proc")) -> dict[str, str] | None:
    """`namespace`/`pod`/`container_id` of a Kubernetes container process, from procfs.

    The cgroup path says it is a pod's container (`kubepods`) and gives the container id; the
    pod name is the container's HOSTNAME and the namespace its service-account file (or
    POD_NAMESPACE). None when any of that cannot be read (not a pod, or no permission).
    """
    base = proc_root / str(pid)
    try:
        cgroup = (base / "cgroup").read_text(errors="replace")
        if "kubepods" not in cgroup:
            return None
        env = dict(
            kv.split("=", 1) for kv in (base / "environ").read_bytes().decode(
                errors="replace").split("\0") if "=" in kv
        )  # fmt: skip
        try:
            namespace = (base / _SA_NAMESPACE).read_text().strip()
        except OSError:
            namespace = env.get("POD_NAMESPACE", "")
    except OSError:
        return None
    pod = env.get("HOSTNAME", "")
    if not pod or not namespace:
        return None
    m = _CONTAINER_ID.search(cgroup)
    return {"namespace": namespace, "pod": pod, "container_id": m.group(1) if m else ""}


class NvmlSource:
    """A collection source over local GPUs (the collector's `Source` protocol).

    With `deployment`, every GPU belongs to that one engine. Without it, each GPU's compute
    processes are looked up in procfs (`pod_of_process`) on every fetch; GPUs with no pod
    process stay unallocated.
    """

    def __init__(
        self, gpus: NvmlGpus, *, deployment: str | None = None, hostname: str | None = None,
        proc_root: Path = Path("/proc"),
    ) -> None:  # fmt: skip
        self.gpus = gpus
        self.proc_root = proc_root
        self._fixed = deployment is not None
        self.host = hostname or socket.gethostname()
        self.description = f"NVML on {self.host} ({len(gpus.gpus)} GPU(s))"
        self.target = f"nvml://{self.host}"
        extra: dict[str, str] = {}
        if deployment:
            ns, _, workload = deployment.rpartition("/")
            if not workload:
                raise InputError(
                    f"deployment {deployment!r}: expected NAME or NAMESPACE/NAME",
                    field="deployment",
                )
            extra = {"namespace": ns or "default", "pod": workload, "container": workload}
        self._base = [{"gpu": str(g.index), "UUID": g.uuid, "modelName": g.name,
                       "Hostname": self.host} for g in gpus.gpus]  # fmt: skip
        self._labels = [make_labels({**b, **extra}) for b in self._base]

    def _pod_labels(self) -> None:
        for k, pids in enumerate(self.gpus.process_ids()):
            pod = next((p for p in map(self._pod, pids) if p is not None), None)
            self._labels[k] = make_labels({**self._base[k], **(pod or {})})

    def _pod(self, pid: int) -> dict[str, str] | None:
        return pod_of_process(pid, self.proc_root)

    def fetch(self, now_s: float) -> tuple[FlatSamples, list[Any]]:
        """One reading of every GPU at `now_s`."""
        if not self._fixed:
            self._pod_labels()
        energy = self.gpus.energy_millijoules()
        power = self.gpus.power_watts()
        mem = [b / 2**20 for b in self.gpus.memory_used_bytes()]
        keys: list[SeriesKey] = []
        values: list[float] = []
        for name, vals in ((ENERGY_METRIC, energy), (POWER_METRIC, power), (MEMORY_METRIC, mem)):
            keys += [SeriesKey(name, lab) for lab in self._labels]
            values += [float(v) for v in vals]
        return FlatSamples(keys, np.full(len(keys), now_s), np.asarray(values)), []


__all__ = ["GpuInfo", "NvmlGpus", "NvmlSource", "load_nvml", "pod_of_process"]
