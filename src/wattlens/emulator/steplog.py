"""The engine's step log: every step's start, end, batch and prefill, for exact window truths
(the emulator's `/truth`), whatever the scrape times."""

from __future__ import annotations

from array import array
from bisect import bisect_right
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WindowTruth:
    """What the engine did over [start_s, end_s]: exact integrals from its step log."""

    start_s: float
    end_s: float
    busy_s: float  # time spent in steps
    running_request_s: float  # integral of requests running (mean batch x duration)
    generation_tokens: float  # tokens of steps that ended inside the window
    prompt_tokens: float  # prompts prefilled by those steps
    steps: int

    @property
    def mean_running(self) -> float:
        """Time-weighted mean requests running (0 while idle)."""
        return self.running_request_s / max(self.end_s - self.start_s, 1e-12)


class StepLog:
    """Every step's start, end, batch and prefill, for exact window truths (`/truth`).

    Packed float arrays (56 bytes a step, against ~220 as lists of floats): a busy emulator
    runs a few million steps a day."""

    def __init__(self) -> None:
        self._start = array("d")
        self._end = array("d")
        self._batch = array("d")
        # Cumulative over steps up to and including each one.
        self._busy = array("d")
        self._running = array("d")
        self._tokens = array("d")
        self._prompt = array("d")

    def add(self, start_s: float, end_s: float, batch: int, prefill_tokens: int) -> None:
        """Record one finished step."""
        last = len(self._end) - 1
        tau = end_s - start_s
        self._start.append(start_s)
        self._end.append(end_s)
        self._batch.append(batch)
        self._busy.append((self._busy[last] if last >= 0 else 0.0) + tau)
        self._running.append((self._running[last] if last >= 0 else 0.0) + batch * tau)
        self._tokens.append((self._tokens[last] if last >= 0 else 0.0) + batch)
        self._prompt.append((self._prompt[last] if last >= 0 else 0.0) + prefill_tokens)

    def _integrals_at(self, t: float) -> tuple[float, float, float, float, int]:
        """(busy s, running request-s, tokens, prompt tokens, steps) from the start to `t`;
        tokens count at the end of their step."""
        k = bisect_right(self._start, t) - 1  # the last step started by t
        if k < 0:
            return 0.0, 0.0, 0.0, 0.0, 0
        busy, running = self._busy[k], self._running[k]
        if t < self._end[k]:  # inside step k: only part of it, and its tokens not yet out
            left = self._end[k] - t
            busy, running = busy - left, running - self._batch[k] * left
            k -= 1
        if k < 0:
            return busy, running, 0.0, 0.0, 0
        return busy, running, self._tokens[k], self._prompt[k], k + 1

    def window(self, start_s: float, end_s: float) -> WindowTruth:
        """Exact integrals over [start_s, end_s]."""
        a, b = self._integrals_at(start_s), self._integrals_at(end_s)
        d = [y - x for x, y in zip(a, b, strict=True)]
        return WindowTruth(start_s, end_s, d[0], d[1], d[2], d[3], int(d[4]))


__all__ = ["StepLog", "WindowTruth"]
