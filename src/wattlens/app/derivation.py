"""Batches of raw samples -> interval rows and request-length buckets, with no store attached:
the collector writes what a `Derivation` makes, and a backfill worker process makes it for the
collector of its parent (app.backfill_worker)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from wattlens.core.records import DeploymentInfo
from wattlens.derive.engine import Deriver
from wattlens.derive.histograms import LengthHistograms
from wattlens.telemetry.records import FlatSamples, SeriesSet

_LENGTH_DTYPES: dict[str, type] = {
    "deployment_id": object, "ts_end_s": np.float64, "kind": object, "le": np.float64,
    "count": np.float64,
}  # fmt: skip


@dataclass
class Derived:
    """What one batch derived to: rows to write, and the deployments when they may have changed.

    Plain numpy columns and DeploymentInfo records, so a backfill worker process can hand it to
    the store's owner.
    """

    used: int  # samples the batch contributed
    columns: dict[str, np.ndarray]  # interval rows (IntervalRecord fields)
    lengths: dict[str, np.ndarray]  # request-length bucket increments (store.lengths columns)
    deployments: list[DeploymentInfo] | None  # None: unchanged since last written
    seen_s: float  # when the deployments were seen (the watermark)
    committed_through_s: float | None  # newest finished interval end among the rows


class Derivation:
    """Batches -> interval rows: the deriver, the request-length buckets, and when deployment
    attributes are due to be written again. No store: a backfill worker runs one too."""

    def __init__(self, deriver: Deriver) -> None:
        self.deriver = deriver
        self.lengths = LengthHistograms(deriver.options.step_s)
        self._written_version = -1
        self._deployments_written_s = -math.inf

    def state(self) -> dict[str, object]:
        """What a process continuing this derivation needs (see `Deriver.state`)."""
        return {
            "deriver": self.deriver.state(),
            "lengths": self.lengths,
            "written_version": self._written_version,
            "deployments_written_s": self._deployments_written_s,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from another process's `state`; the deriver and the length buckets keep
        their identity (the collector holds them), their contents are replaced."""
        self.deriver.restore(state["deriver"])
        vars(self.lengths).update(vars(state["lengths"]))
        self._written_version = state["written_version"]
        self._deployments_written_s = state["deployments_written_s"]

    def run(
        self, batch: SeriesSet | FlatSamples, watermark_s: float, *, provisional: bool = False
    ) -> Derived:
        """Feed `batch`; the buckets finished by `watermark_s` (and the open ones after it when
        `provisional`) as rows."""
        used = self.deriver.feed(batch) + self.lengths.feed(batch)
        # as arrays: a backfill chunk holds ~10^5-10^6 bucket rows, as lists 5 Python objects each
        lengths: dict[str, np.ndarray] = {
            k: np.asarray(v, dtype=_LENGTH_DTYPES[k])
            for k, v in self.lengths.drain(watermark_s).items()
        }
        _, cols = self.deriver.drain_columns(watermark_s, with_deployments=False)
        ends = cols["ts_end_s"]
        committed = float(ends.max()) if ends.size else None
        if provisional and math.isfinite(watermark_s):
            more = self.deriver.peek_open(watermark_s)
            cols = {k: np.concatenate([v, more[k]]) for k, v in cols.items()}
        seen_s = watermark_s if math.isfinite(watermark_s) else 0.0
        # Deployment attributes change rarely: write them when they may have, or once a minute.
        infos = None
        if self.deriver.version != self._written_version or (
            seen_s - self._deployments_written_s >= 60.0
        ):
            infos = self.deriver.deployments()
            self._written_version = self.deriver.version
            self._deployments_written_s = seen_s
        return Derived(used, cols, lengths, infos, seen_s, committed)


__all__ = ["Derivation", "Derived"]
