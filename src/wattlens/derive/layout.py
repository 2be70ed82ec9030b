"""What the engine keeps: accumulator columns, member sets, and per-deployment/per-series state.

Each (deployment, bucket) row has `NF` summed float columns and `NM` member sets. A member set
records which GPUs or engine streams reported in the bucket, as a bit set over the deployment's
member indices (64 per uint64 word; the table widens when a deployment has more members), so
counting distinct members stays exact however a batch is split into groups or scrapes.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from wattlens.derive.resolve import Resolved
from wattlens.telemetry.metrics import Quantity

# Summed columns of the per-(deployment, bucket) accumulator.
(
    E_CTR,
    E_GAUGE,
    PROMPT,
    GEN,
    FINISHED,
    ITL,
    SAMPLES,
    HAS_CTR,
    HAS_GAUGE,
    RUN_S,
    RUN_N,
    WAIT_S,
    WAIT_N,
    KV_S,
    KV_N,
    UTIL_S,
    UTIL_N,
    COV_CTR,
    COV_GAUGE,
    CACHED,
    HAS_CACHED,
) = range(21)
NF = 21
# COV_*: seconds of the bucket covered by energy readings, summed over the energy streams
# (counter increments / integrated gauge spans); divided by the number of those streams
# (M_ECTR / M_EGAUGE) it is the interval's covered time, so a partial first or last interval
# says how long it really is.
# Member-set columns, OR-combined: which GPUs / engine streams reported in a bucket.
M_GPU, M_RUN, M_WAIT, M_ECTR, M_EGAUGE = range(5)
NM = 5
WORD_BITS = 64  # members per uint64 word of a member set

COUNTER_COL = {
    Quantity.GPU_ENERGY_MILLIJOULES_TOTAL: E_CTR,
    Quantity.PROMPT_TOKENS_TOTAL: PROMPT,
    Quantity.GENERATION_TOKENS_TOTAL: GEN,
    Quantity.CACHED_PROMPT_TOKENS_TOTAL: CACHED,
    Quantity.REQUESTS_FINISHED_TOTAL: FINISHED,
    Quantity.ITL_SECONDS_SUM_TOTAL: ITL,
}
# gauge -> (sum col, count col, stream member-set col or None)
GAUGE_COLS: dict[Quantity, tuple[int, int, int | None]] = {
    Quantity.REQUESTS_RUNNING: (RUN_S, RUN_N, M_RUN),
    Quantity.REQUESTS_WAITING: (WAIT_S, WAIT_N, M_WAIT),
    Quantity.KV_CACHE_USAGE_RATIO: (KV_S, KV_N, None),
    Quantity.GPU_UTIL_PERCENT: (UTIL_S, UTIL_N, None),
}


def words_for(members: int) -> int:
    """uint64 words a member set needs for `members` distinct members (at least one)."""
    return max(1, -(-members // WORD_BITS))


@dataclass
class DeploymentState:
    """What the engine knows about one deployment."""

    id: str
    namespace: str
    workload: str
    first_seen_s: float
    model_names: Counter[str] = field(default_factory=Counter)
    gpu_hardware: Counter[str] = field(default_factory=Counter)
    containers: Counter[str] = field(default_factory=Counter)
    gpus_last_seen: dict[tuple[str, str], float] = field(default_factory=dict)
    has_engine: bool = False
    mig: bool = False
    # member -> index in this deployment's member sets, one index space per kind (gpu, stream)
    members: dict[str, dict[object, int]] = field(default_factory=dict)
    last_seen_s: float = -math.inf

    def member(self, kind: str, key: object) -> int:
        """Index of a GPU or engine stream in the member sets of its kind (0, 1, 2, ...)."""
        index = self.members.setdefault(kind, {})
        i = index.get(key)
        if i is None:
            i = index[key] = len(index)
        return i


@dataclass(slots=True)
class Meta:
    """What a series is, resolved once per series key."""

    r: Resolved
    sid: int  # stream id
    dep: int  # deployment index, -1 for unallocated GPUs
    ccol: int  # accumulator column of a counter, -1 if not a counter
    scol: int  # gauge: sum column (-1 if not a gauge wattlens averages)
    ncol: int  # gauge: count column
    mcol: int  # gauge: member-set column (replicas add up), -1 if none
    is_gpu: bool
    is_power: bool
    mig_gpu: tuple[str, str] | None  # parent GPU of a MIG instance
    split: bool  # a GPU-level reading shared among MIG instances
    stream_member: int = -1  # index among the deployment's engine streams, -1 if none
    gpu_member: int = -1  # index among the deployment's GPUs, -1 if none
    mid: int = -1  # row in the Deriver's attribute table
    alt_of: tuple[str, str | None, str | None] | None = None  # newer name this one yields to


@dataclass(slots=True)
class Chunk:
    """Per-sample arrays of a group of series."""

    t: np.ndarray
    v: np.ndarray
    sid: np.ndarray
    dep: np.ndarray
    ccol: np.ndarray
    scol: np.ndarray
    ncol: np.ndarray
    mcol: np.ndarray
    is_gpu: np.ndarray
    is_power: np.ndarray
    stream_member: np.ndarray
    gpu_member: np.ndarray
    share: np.ndarray


__all__ = [
    "COUNTER_COL",
    "GAUGE_COLS",
    "NF",
    "NM",
    "WORD_BITS",
    "Chunk",
    "DeploymentState",
    "Meta",
    "words_for",
]
