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
        _update_sections(sections, names)
        return
    header = (
        "# Benchmark results\n\n"
        f"Recorded by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.machine()}, Python {platform.python_version()}, {_cpus()} CPU(s). "
        "Each benchmark prints its figures and a ratio against a baseline measured in the same "
        "run.\n\n"
    )
    (HERE / "RESULTS.md").write_text(header + "\n".join(sections))


def _update_sections(sections: list[str], names: list[str]) -> None:
    """A partial run replaces (or appends) only its own sections of bench/RESULTS.md."""
    path = HERE / "RESULTS.md"
    if not path.exists():
        return
    text = path.read_text()
    head, _, body = text.partition("\n## ")
    parts = {}
    for chunk in ("## " + body).split("\n## ") if body else []:
        chunk = chunk if chunk.startswith("## ") else "## " + chunk
        parts[chunk.split("\n", 1)[0][3:].strip()] = chunk.rstrip() + "\n"
    for name, section in zip(names, sections, strict=True):
        stamp = f"(re-run alone on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n"
        parts[name] = section.rstrip() + "\n\n" + stamp
    path.write_text(head.rstrip() + "\n\n" + "\n".join(parts.values()))


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    main()
