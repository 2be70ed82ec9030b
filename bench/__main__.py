"""Run every benchmark (`make bench`) and record the output in bench/RESULTS.md.

`python -m bench` runs all; `python -m bench NAME...` runs the named modules (e.g. import_om).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import pkgutil
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).parent


def _modules(names: list[str]) -> list[str]:
    found = sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if not m.name.startswith("_"))
    if not names:
        return found
    unknown = [n for n in names if n not in found]
    if unknown:
        sys.exit(f"unknown benchmark(s) {unknown}; available: {', '.join(found)}")
    return names


class _Tee(io.TextIOBase):
    def __init__(self, *streams: io.TextIOBase) -> None:
        self.streams = streams

    def write(self, s: str) -> int:
        for st in self.streams:
            st.write(s)
            st.flush()
        return len(s)


def main() -> None:
    """Run the benchmarks, echo their output and write bench/RESULTS.md."""
    names = _modules(sys.argv[1:])
    sections = []
    for name in names:
        buf = io.StringIO()
        started = time.perf_counter()
        print(f"== bench.{name}", flush=True)
        with contextlib.redirect_stdout(_Tee(sys.stdout, buf)):
            try:
                importlib.import_module(f"bench.{name}").main()
            except Exception as e:  # a failed benchmark is reported, the others still run
                print(f"FAILED: {type(e).__name__}: {e}")
        took = time.perf_counter() - started
        sections.append(f"## {name}\n\n```\n{buf.getvalue().rstrip()}\n```\n\n({took:.1f} s)\n")
    if sys.argv[1:]:
        return  # partial runs don't overwrite the full record
    header = (
        "# Benchmark results\n\n"
        f"Recorded by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.machine()}, Python {platform.python_version()}, {_cpus()} CPU(s). "
        "Each benchmark prints its figures and a ratio against a baseline measured in the same "
        "run.\n\n"
    )
    (HERE / "RESULTS.md").write_text(header + "\n".join(sections))


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    main()
