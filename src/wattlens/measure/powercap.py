"""Power-cap sweeps through NVML, restoring every GPU's original limit however the sweep ends.

Setting a power limit needs root. `PowerCaps` reads the original limits on entry and writes them
back on exit, after a normal end, an error or Ctrl-C (KeyboardInterrupt) alike; a restore that
itself fails is reported in the raised error rather than hidden.
"""

from __future__ import annotations

import logging
from types import TracebackType

from wattlens.core.errors import BackendError, WattlensError
from wattlens.telemetry.nvml import NvmlGpus

log = logging.getLogger(__name__)


class PowerCaps:
    """`with PowerCaps(gpus) as caps: caps.apply(175)`; originals restored on exit."""

    def __init__(self, gpus: NvmlGpus) -> None:
        self.gpus = gpus
        self.original_watts: list[float] = []
        self.current_watts: float | None = None

    def __enter__(self) -> PowerCaps:
        self.original_watts = self.gpus.power_limits_watts()
        return self

    def apply(self, watts: float) -> None:
        """Cap every GPU at `watts`."""
        for k in range(len(self.gpus.gpus)):
            self.gpus.set_power_limit_watts(k, watts)
        self.current_watts = watts

    def restore(self) -> list[str]:
        """Write the original limits back; the failures, one line each."""
        failed: list[str] = []
        for k, watts in enumerate(self.original_watts):
            try:
                self.gpus.set_power_limit_watts(k, watts)
            except WattlensError as e:
                failed.append(f"GPU {self.gpus.gpus[k].index}: {e}")
        self.current_watts = None
        return failed

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        failed = self.restore()
        if failed:
            msg = "power caps: could not restore the original limits: " + "; ".join(failed)
            if exc is None:
                raise BackendError(msg)
            log.error(msg)


__all__ = ["PowerCaps"]
