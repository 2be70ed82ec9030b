"""A fake of nvidia-ml-py's `pynvml` module at the library boundary, recorded from NVML's
documented behaviour (NVML API reference, nvml.h, driver 5xx):

- nvmlDeviceGetTotalEnergyConsumption: mJ since the driver was last loaded (unsigned long long);
- nvmlDeviceGetPowerUsage: mW; nvmlDeviceGetPowerManagementLimit: mW;
- nvmlDeviceGetPowerManagementLimitConstraints: [min, max] mW;
- nvmlDeviceSetPowerManagementLimit(handle, mW): NVML_ERROR_NO_PERMISSION (4) unless root,
  NVML_ERROR_INVALID_ARGUMENT (2) outside the constraints;
- nvmlDeviceGetMemoryInfo: struct with total/free/used bytes;
- nvmlDeviceGetComputeRunningProcesses: list of nvmlProcessInfo_t (pid, usedGpuMemory bytes);
- every call before nvmlInit: NVML_ERROR_UNINITIALIZED (1).

Each GPU draws `power_watts` (while its limit allows, else the limit), integrated exactly over
the injected clock, so the energy counter is planted truth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


class NVMLError(Exception):
    """pynvml.NVMLError: `value` is the NVML return code."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return {1: "Uninitialized", 2: "Invalid Argument", 4: "Insufficient Permissions"}.get(
            self.value, f"NVML error {self.value}"
        )


class NVMLError_Uninitialized(NVMLError):  # noqa: N801 - pynvml's names
    def __init__(self) -> None:
        super().__init__(1)


class NVMLError_InvalidArgument(NVMLError):  # noqa: N801
    def __init__(self) -> None:
        super().__init__(2)


class NVMLError_NoPermission(NVMLError):  # noqa: N801
    def __init__(self) -> None:
        super().__init__(4)


@dataclass
class Memory:
    total: int
    free: int
    used: int


@dataclass
class ProcessInfo:
    pid: int
    usedGpuMemory: int  # noqa: N815 - pynvml's field name


@dataclass
class FakeGpu:
    uuid: str
    name: str = "NVIDIA A100-SXM4-80GB"
    power_watts: float = 300.0  # what the workload draws uncapped
    limit_mw: int = 400_000
    limits_mw: tuple[int, int] = (100_000, 400_000)
    energy_mj: float = 12_345_678_901.0  # since driver load
    used_bytes: int = 70 * 2**30
    set_calls: list[int] = field(default_factory=list)
    processes: list[ProcessInfo] = field(default_factory=list)


class FakeNvml:
    """Module-like object: pass as `nvml=` where pynvml is expected."""

    NVMLError = NVMLError
    NVMLError_NoPermission = NVMLError_NoPermission
    NVMLError_InvalidArgument = NVMLError_InvalidArgument
    NVMLError_Uninitialized = NVMLError_Uninitialized

    def __init__(self, gpus: list[FakeGpu], clock: Callable[[], float], root: bool = True) -> None:
        self.gpus = gpus
        self.clock = clock
        self.root = root
        self.initialised = 0
        self._t = clock()
        self.on_set: Callable[[int, int], None] | None = None  # hook: (gpu, mW)

    def _advance(self) -> None:
        t = self.clock()
        for g in self.gpus:
            g.energy_mj += self._draw(g) * 1000.0 * (t - self._t)
        self._t = t

    def _draw(self, g: FakeGpu) -> float:
        return min(g.power_watts, g.limit_mw / 1000.0)

    def _check(self) -> None:
        if not self.initialised:
            raise NVMLError_Uninitialized()

    def nvmlInit(self) -> None:  # noqa: N802
        self.initialised += 1

    def nvmlShutdown(self) -> None:  # noqa: N802
        self._check()
        self.initialised -= 1

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        self._check()
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> FakeGpu:  # noqa: N802
        self._check()
        if not 0 <= i < len(self.gpus):
            raise NVMLError_InvalidArgument()
        return self.gpus[i]

    def nvmlDeviceGetUUID(self, h: FakeGpu) -> str:  # noqa: N802
        self._check()
        return h.uuid

    def nvmlDeviceGetName(self, h: FakeGpu) -> str:  # noqa: N802
        self._check()
        return h.name

    def nvmlDeviceGetTotalEnergyConsumption(self, h: FakeGpu) -> int:  # noqa: N802
        self._check()
        self._advance()
        return int(h.energy_mj)

    def nvmlDeviceGetPowerUsage(self, h: FakeGpu) -> int:  # noqa: N802
        self._check()
        return int(self._draw(h) * 1000)

    def nvmlDeviceGetMemoryInfo(self, h: FakeGpu) -> Memory:  # noqa: N802
        self._check()
        return Memory(80 * 2**30, 80 * 2**30 - h.used_bytes, h.used_bytes)

    def nvmlDeviceGetComputeRunningProcesses(self, h: FakeGpu) -> list[ProcessInfo]:  # noqa: N802
        self._check()
        return list(h.processes)

    def nvmlDeviceGetPowerManagementLimit(self, h: FakeGpu) -> int:  # noqa: N802
        self._check()
        return h.limit_mw

    def nvmlDeviceGetPowerManagementLimitConstraints(self, h: FakeGpu) -> list[int]:  # noqa: N802
        self._check()
        return list(h.limits_mw)

    def nvmlDeviceSetPowerManagementLimit(self, h: FakeGpu, mw: int) -> None:  # noqa: N802
        self._check()
        if not self.root:
            raise NVMLError_NoPermission()
        if not h.limits_mw[0] <= mw <= h.limits_mw[1]:
            raise NVMLError_InvalidArgument()
        self._advance()
        h.limit_mw = mw
        h.set_calls.append(mw)
        if self.on_set is not None:
            self.on_set(self.gpus.index(h), mw)
