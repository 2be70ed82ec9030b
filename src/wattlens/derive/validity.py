"""Samples the derivation refuses, each refusal counted and logged (issue 14).

- A non-finite value (NaN, +Inf, -Inf) is no reading: it is dropped before anything is summed, so
  no interval ever stores an infinite or NaN amount from it.
- A negative counter value or power reading is invalid (counters start at 0 and only grow; a GPU
  does not give power back): dropped.
- A counter that goes down is a reset, and (as in Prometheus' `increase`) its new value is the
  increase since the reset. For the GPU energy counter that increase is physically bounded: no GPU
  in the catalog draws more than its largest `tdp_watts`, so a "reset" whose new value exceeds
  that power times the seconds since the previous reading cannot be a restart from 0 (e.g. a
  counter glitch that halves it). It is credited 0, not its since-boot value.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import fields
from functools import cache

import numpy as np

from wattlens.catalog import all_gpus
from wattlens.core.units import joules_from_millijoules
from wattlens.derive.layout import Chunk

log = logging.getLogger(__name__)

NON_FINITE = "non_finite_value"
NEGATIVE_COUNTER = "negative_counter_value"
NEGATIVE_POWER = "negative_power_value"
IMPLAUSIBLE_RESET = "implausible_energy_counter_reset"


class Tally(Counter[str]):
    """Refused samples by reason, over the life of a deriver; each batch's refusals are logged."""

    def note(self, reason: str, n: int, what: str) -> None:
        """Count `n` refusals of `reason` and log them as one warning."""
        if n <= 0:
            return
        self[reason] += n
        log.warning("derive: %d %s dropped (%s); %d so far", n, reason.replace("_", " "), what,
                    self[reason])  # fmt: skip


def valid_samples(c: Chunk, tally: Tally) -> Chunk:
    """`c` without non-finite values, negative counter values and negative power readings."""
    finite = np.isfinite(c.v)
    negative = finite & (c.v < 0.0)
    bad_counter = negative & (c.ccol >= 0)
    bad_power = negative & c.is_power & ~bad_counter
    keep = finite & ~bad_counter & ~bad_power
    if keep.all():
        return c
    tally.note(NON_FINITE, int((~finite).sum()), "NaN or infinite sample values")
    tally.note(NEGATIVE_COUNTER, int(bad_counter.sum()), "counters never go below 0")
    tally.note(NEGATIVE_POWER, int(bad_power.sum()), "power readings are never negative")
    return Chunk(**{f.name: getattr(c, f.name)[keep] for f in fields(c)})


@cache
def max_energy_counter_rate_mj_per_s() -> float:
    """The fastest a GPU energy counter can grow: the catalog's largest TDP, in millijoules/s."""
    return max(g.tdp_watts for g in all_gpus()) / joules_from_millijoules(1.0)


def plausible_increments(
    prev: np.ndarray, cur: np.ndarray, elapsed_s: np.ndarray, max_rate_per_s: np.ndarray,
    tally: Tally,
) -> np.ndarray:  # fmt: skip
    """Counter increases between consecutive readings of the same stream.

    A rise counts in full; a drop is a reset and counts the new value, unless that value exceeds
    `max_rate_per_s * elapsed_s` (inf: unbounded), when it counts 0 and is tallied.
    """
    d = cur - prev
    reset = d < 0
    bounded = np.isfinite(max_rate_per_s)
    limit = np.where(bounded, max_rate_per_s, 0.0) * np.maximum(elapsed_s, 0.0)
    implausible = reset & bounded & (cur > limit)
    tally.note(IMPLAUSIBLE_RESET, int(implausible.sum()),
               "an energy counter fell to a value no GPU could reach since the previous reading; "
               "counted 0")  # fmt: skip
    return np.where(reset, np.where(implausible, 0.0, cur), d)


__all__ = [
    "IMPLAUSIBLE_RESET",
    "NEGATIVE_COUNTER",
    "NEGATIVE_POWER",
    "NON_FINITE",
    "Tally",
    "max_energy_counter_rate_mj_per_s",
    "plausible_increments",
    "valid_samples",
]
