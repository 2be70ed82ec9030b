"""The start-up backfill's fetch and derivation in a child process (issue #11: steady RSS).

Reading and deriving a long backfill leaves the heap it grew to (glibc, Arrow and the HTTP
client keep freed memory in their arenas: about 150 MB after half a day of 200 deployments,
which malloc_trim does not return). A child process forked for the job takes that heap with it
when it exits; the service keeps only what it writes.

The child is forked when the service starts, before the store opens or any thread runs (so no
lock can be held by a thread that the fork leaves behind), and after the imports (so it costs no
start-up of its own). It waits for one job: the window to fill. It reads the backend chunk by
chunk, derives each chunk, and sends the rows down a pipe; the parent, which alone holds the
store, writes each chunk in one transaction as it arrives, so the dashboard fills and reports
the backfill as before, and a kill at any point loses nothing committed:

- parent killed: the child dies with it (PR_SET_PDEATHSIG on Linux; elsewhere at its next send,
  on the broken pipe); the next start backfills from the last stored interval.
- child killed or failing: the parent reads end-of-pipe, and fills the rest itself.

After the child's last chunk it sends its derivation and source state (each series' key and
last reading, the open buckets, where it read through), and the parent continues from it: its
first live cycle costs what any cycle does (0.36 -> ~0.1 CPU-s at 200 deployments), and it does
not parse the fleet's labels again. Without that state (recorded series, or a child that stopped
early), the parent's own deriver, which starts fresh, reads the last two steps again (a
re-derived interval never replaces a more complete stored one): in its first live fetch
(`PrometheusSource.resume`), or in a backfill of the rest in this process.

Cost, measured on 200 deployments / 0.5 d (bench/RESULTS.md backfill_cpu, A/B on one tree at
load 0.5): the service's steady RSS 347 -> 279 MB and its own peak 519 -> 331 MB; the child's
peak is ~323 MB, much of it pages shared with the parent, and the whole tree's peak PSS rises
420 -> 485 MB; CPU 3.44 -> 3.72 s (+8 %: the rows are pickled through a pipe and written in more
statements, and the parent parses the series' labels again in its first live fetch).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, Pipe
from typing import Any

from wattlens.app.collector import Collector, PrometheusSource
from wattlens.app.derivation import Derivation, Derived
from wattlens.app.ops import make_deriver
from wattlens.app.settings import carbon_model, derive_options, prometheus_client
from wattlens.config import Config
from wattlens.core.errors import WattlensError
from wattlens.core.libc import M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, libc_function
from wattlens.telemetry.recorded import RecordedSource

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# The child reads and parses answers of ~10 MB each: with the default
# thresholds each is a fresh mmap whose pages fault in one by one (~1 us a page here) and go back
# to the kernel when freed. Kept in the heap instead, they reuse faulted pages; the child's memory
# goes back when it exits. 60 buffers of 9 MB: 0.29 -> 0.19 CPU-s, system time 0.15 -> 0.01.
_MMAP_THRESHOLD_MAX = 32 << 20  # glibc's ceiling on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX)
# Rows per message. The parent keeps in its heap about what one message and DuckDB's upsert of
# it took: whole 6 h chunks of 200 deployments (144,000 rows) left it ~30 MB above smaller
# messages; each upsert also costs ~20 ms of fixed CPU, so not too small (20,000 rows: +0.35 CPU-s
# over 288,000 rows). 50,000 rows is ~8 MB a message.
SLICE_ROWS = 50_000


@dataclass(frozen=True)
class Job:
    """What the child fills: (start_s, end_s] read in `chunk_s` chunks from `url`."""

    url: str
    recorded: bool  # read the recorded series of `wattlens rules` (RecordedSource)
    start_s: float
    end_s: float
    chunk_s: float


class BackfillWorker:
    """A forked child waiting for one backfill job; see the module docstring."""

    def __init__(self, pid: int, conn: Connection) -> None:
        self.pid = pid
        self._conn = conn
        self._done = False
        # The child's derivation and source state after its last chunk (None: not sent): this
        # process continues from it instead of reading and deriving the last steps again.
        self.handoff: dict[str, Any] | None = None

    @classmethod
    def fork(cls, cfg: Config) -> BackfillWorker | None:
        """Fork the child now; None where fork is unsafe or missing (another Python thread
        runs, or not a POSIX system): the caller then backfills in its own process."""
        if not hasattr(os, "fork") or threading.active_count() > 1:
            return None
        parent_conn, child_conn = Pipe()
        with warnings.catch_warnings():
            # Python >= 3.12 warns on fork beside native threads (OpenBLAS's pool); the child
            # never calls into them: it reads HTTP, parses and derives with numpy, then exits.
            warnings.simplefilter("ignore", DeprecationWarning)
            # The child's collections skip the parent's objects (the imports): it neither walks
            # them nor writes their GC headers, which would copy their pages. The parent keeps
            # them frozen too: they live as long as it does, and its full collections (after
            # the backfill, then now and then for the service's life) need not walk them.
            gc.freeze()
            pid = os.fork()
        if pid == 0:  # the child: never returns
            parent_conn.close()
            code = 1
            try:
                _child_main(child_conn, cfg, os.getppid())
                code = 0
            except BaseException:  # noqa: BLE001 - reported to the parent as end-of-pipe
                log.exception("backfill worker failed")
            finally:
                os._exit(code)  # no atexit handlers or buffered output of the parent's
        child_conn.close()
        return cls(pid, parent_conn)

    def run(
        self,
        job: Job,
        collector: Collector,
        progress: Callable[[float], None] | None = None,
    ) -> tuple[float, int]:
        """Have the child fill `job`, writing each chunk it sends through `collector`; returns
        the time through which it read (job.start_s when nothing came back) and rows written."""
        through, rows = job.start_s, 0
        try:
            self._conn.send(job)
            while True:
                with collector.store.transaction():  # a commit a chunk, as without a child
                    end_s, n = self._receive_chunk(collector)
                rows += n
                if end_s is None:
                    break
                through = end_s
                if progress is not None:
                    progress((through - job.start_s) / (job.end_s - job.start_s))
        except (EOFError, OSError) as e:  # a chunk cut short was rolled back: read again here
            log.warning("backfill worker stopped before %.0f (%s); continuing here", job.end_s, e)
        finally:
            self.close()
        return through, rows

    def _receive_chunk(self, collector: Collector) -> tuple[float | None, int]:
        """Write the parts of the child's next chunk; (its end, rows), or (None, 0) when the
        child is done."""
        rows = 0
        while True:
            kind, payload = self._conn.recv()
            if kind == "done":
                self.handoff = payload[1]
                return None, rows
            derived, chunk_end_s = payload
            rows += collector.write(derived)
            if chunk_end_s is not None:  # the chunk's last part
                return float(chunk_end_s), rows

    @property
    def done(self) -> bool:
        """Whether the child has run (or been stopped): it takes one job."""
        return self._done

    def close(self) -> None:
        """Stop the child if it still runs, and reap it (its CPU time joins this process's)."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(OSError):
            self._conn.close()
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)  # done or not: it has nothing left to hand over
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _slices(derived: Derived, rows: int) -> list[Derived]:
    """`derived` cut into parts of at most `rows` interval rows and `rows` request-length bucket
    rows each (the deployments with the first part)."""
    n = int(derived.columns["ts_end_s"].size)
    m = int(derived.lengths["ts_end_s"].size)
    if max(n, m) <= rows:
        return [derived]
    return [
        replace(
            derived,
            columns={k: v[lo : lo + rows] for k, v in derived.columns.items()},
            lengths={k: v[lo : lo + rows] for k, v in derived.lengths.items()},
            deployments=derived.deployments if lo == 0 else None,
        )
        for lo in range(0, max(n, m), rows)
    ]


def _die_with_parent(parent_pid: int) -> None:
    prctl = libc_function("prctl")
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _keep_freed_memory() -> None:
    mallopt = libc_function("mallopt")
    if mallopt is not None:  # glibc only
        mallopt(M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
        mallopt(M_TRIM_THRESHOLD, 1 << 30)


def _child_main(conn: Connection, cfg: Config, parent_pid: int) -> None:
    _die_with_parent(parent_pid)
    _keep_freed_memory()
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C stops the parent, which stops this
    try:
        job = conn.recv()
    except EOFError:
        return  # no backfill needed
    if not isinstance(job, Job):
        return
    derivation = Derivation(make_deriver(derive_options(cfg), carbon_model(cfg)))
    step_s = derivation.deriver.options.step_s
    client = prometheus_client(cfg, job.url)
    source: Any = (
        RecordedSource(client)
        if job.recorded
        else PrometheusSource(client, overlap_s=cfg.scrape.interval_s)
    )

    def on_chunk(batch: Any, chunk_end_s: float) -> None:
        derived = derivation.run(batch, chunk_end_s - step_s)
        parts = _slices(derived, SLICE_ROWS)
        for i, part in enumerate(parts):
            conn.send(("rows", (part, chunk_end_s if i == len(parts) - 1 else None)))

    try:
        source.backfill(job.start_s, job.end_s, job.chunk_s, on_chunk)
    except WattlensError as e:  # the parent carries on from the last chunk and reports it
        log.warning("backfill worker: %s", e)
        return
    handoff = None
    if isinstance(source, PrometheusSource):
        handoff = {"derivation": derivation.state(), "source": source.state()}
    conn.send(("done", (job.end_s, handoff)))


__all__ = ["BackfillWorker", "Job"]
