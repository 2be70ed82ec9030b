"""Local GPUs through NVML (nvidia-ml-py, imported as `pynvml`): energy, power, memory, limits.

`NvmlGpus` wraps the library; the `nvml=` argument is the module (a recorded fake in tests).
NVML's units are kept at the boundary and converted here: the total-energy counter is mJ since
the driver loaded (nvmlDeviceGetTotalEnergyConsumption, Volta and later), power and power limits
are mW. `NvmlSource` reads every GPU once per `fetch` and yields the series dcgm-exporter would
(`DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION` in mJ, `DCGM_FI_DEV_POWER_USAGE` in W,
`DCGM_FI_DEV_FB_USED` in MiB), labelled with the GPU's UUID and, with `deployment=`, the
`namespace`/`pod` of the one engine on the node, so they join the derivation like a scrape.
NVML errors become `BackendError` (permission errors say that setting limits needs root).
"""

from __future__ import annotations

import contextlib
import importlib
import socket
from collections.abc import Callable
from dataclasses import dataclass
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


class NvmlSource:
    """A collection source over local GPUs (the collector's `Source` protocol)."""

    def __init__(
        self, gpus: NvmlGpus, *, deployment: str | None = None, hostname: str | None = None
    ) -> None:
        self.gpus = gpus
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
        self._labels = [
            make_labels({"gpu": str(g.index), "UUID": g.uuid, "modelName": g.name,
                         "Hostname": self.host, **extra})
            for g in gpus.gpus
        ]  # fmt: skip

    def fetch(self, now_s: float) -> tuple[FlatSamples, list[Any]]:
        """One reading of every GPU at `now_s`."""
        energy = self.gpus.energy_millijoules()
        power = self.gpus.power_watts()
        mem = [b / 2**20 for b in self.gpus.memory_used_bytes()]
        keys: list[SeriesKey] = []
        values: list[float] = []
        for name, vals in ((ENERGY_METRIC, energy), (POWER_METRIC, power), (MEMORY_METRIC, mem)):
            keys += [SeriesKey(name, lab) for lab in self._labels]
            values += [float(v) for v in vals]
        return FlatSamples(keys, np.full(len(keys), now_s), np.asarray(values)), []


__all__ = ["GpuInfo", "NvmlGpus", "NvmlSource", "load_nvml"]
