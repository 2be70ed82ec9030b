"""Reading a child process's stdout line by line against a deadline (no sleeps)."""

from __future__ import annotations

import os
import selectors
import subprocess
import time


class LineReader:
    """Lines from a child's stdout pipe, read straight from the fd so none hide in a buffer."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self._proc = proc
        self._fd = proc.stdout.fileno()
        self._buf = b""

    def next(self, *, deadline_s: float) -> str:
        """The next line, stripped; fails if none arrives before the deadline."""
        end = time.monotonic() + deadline_s
        with selectors.DefaultSelector() as sel:
            sel.register(self._fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no line from child within {deadline_s} s")
                if sel.select(timeout=left):
                    chunk = os.read(self._fd, 65536)
                    if not chunk:
                        raise AssertionError(f"child exited early with {self._proc.wait()}")
                    self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode().strip()
