"""Metric families as data: a `FamilySpec` gives a `Block` of series for a scrape `Target`.

The live endpoints render one observation column; the history writer renders all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from wattlens.emulator.model import FleetModel, Observation

Labels = tuple[tuple[str, str], ...]
F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Block:
    """A family's series for one target: k rows over the observation's m times.

    `mask` (k, m) is False where a series is absent (a pod that does not exist yet or any more).
    """

    samples: list[str]
    labels: list[Labels]
    values: F64  # (k, m)
    mask: NDArray[np.bool_] | None = None
    label_text: list[str] | None = None  # `format_labels` of each row, when cached


@dataclass(frozen=True, slots=True)
class Target:
    """One scrape target over an observation: a node's exporter or one pod generation."""

    model: FleetModel
    obs: Observation
    node: str | None = None  # dcgm-exporter target
    deployment: int = -1  # vLLM target
    generation: int = 0
    pod_mask: NDArray[np.bool_] | None = None  # vLLM target: times when this pod exists

    @classmethod
    def pod(cls, model: FleetModel, obs: Observation, deployment: int, generation: int) -> Target:
        """The vLLM target of one pod generation of a deployment."""
        gens = obs.generation[deployment]
        mask = None if (gens == generation).all() else gens == generation
        return cls(model, obs, deployment=deployment, generation=generation, pod_mask=mask)


@dataclass(frozen=True, slots=True)
class FamilySpec:
    """One metric family: text-format name, type, HELP and its series for a target."""

    name: str
    type: str  # "gauge" | "counter" | "histogram"
    help: str
    block: Callable[[Target], Block]
    integer: bool = False  # render as integers (dcgm-exporter style)
    history: bool = True  # also written by the history writer


@lru_cache(maxsize=1 << 16)
def format_labels(labels: Labels) -> str:
    """`{a="x",b="y"}` with text-format escaping; empty string for no labels."""
    if not labels:
        return ""
    esc = (v.replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n") for _, v in labels)
    return "{" + ",".join(f'{k}="{v}"' for (k, _), v in zip(labels, esc, strict=True)) + "}"


def format_values(values: F64, integer: bool) -> list[str]:
    """Values as exposition strings (`412.53`, `27453.0`, or `81234567890`)."""
    if integer:
        return [str(v) for v in np.floor(values).astype(np.int64).tolist()]
    return [repr(v) for v in np.round(values, 4).tolist()]


def render_families(families: Iterable[FamilySpec], target: Target, col: int = 0) -> str:
    """Prometheus text format (0.0.4) of `target` at observation column `col`."""
    parts: list[str] = []
    for fam in families:
        blk = fam.block(target)
        values = blk.values[:, col]
        rows: list[int] | range = range(len(blk.labels))
        if blk.mask is not None:
            rows = np.flatnonzero(blk.mask[:, col]).tolist()
            values = values[rows]
        if not len(rows):
            continue
        parts.append(f"# HELP {fam.name} {fam.help}\n# TYPE {fam.name} {fam.type}\n")
        text = blk.label_text or [format_labels(x) for x in blk.labels]
        if blk.mask is None and not any(blk.samples):  # the common per-GPU case
            prefixes = [fam.name + lt for lt in text]
        else:
            prefixes = [(blk.samples[k] or fam.name) + text[k] for k in rows]
        vals = format_values(values, fam.integer)
        parts.extend([f"{p} {v}\n" for p, v in zip(prefixes, vals, strict=True)])
    return "".join(parts)


__all__ = [
    "F64",
    "Block",
    "FamilySpec",
    "Labels",
    "Target",
    "format_labels",
    "format_values",
    "render_families",
]
