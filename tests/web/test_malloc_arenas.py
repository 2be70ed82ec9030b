"""`serve` caps glibc's malloc arenas: threads share two heaps instead of one each."""

from __future__ import annotations

import ctypes.util
import os
import platform
import subprocess
import sys

import pytest

# Eight threads each make their first allocation while all are alive, then the heaps glibc
# reports (malloc_info's <heap nr=...> entries) are counted.
PROBE = """
import ctypes, ctypes.util, sys, tempfile, threading
if sys.argv[1] == "cap":
    from wattlens.web.server import limit_malloc_arenas
    assert limit_malloc_arenas()
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.fopen.restype = ctypes.c_void_p
start, hold = threading.Barrier(9), threading.Barrier(9)
def work():
    start.wait()
    p = libc.malloc(1024)
    hold.wait()
    libc.free(ctypes.c_void_p(p))
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
start.wait()
hold.wait()
with tempfile.NamedTemporaryFile(suffix=".xml") as f:
    fp = libc.fopen(f.name.encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(fp))
    libc.fclose(ctypes.c_void_p(fp))
    print(open(f.name).read().count("<heap nr="))
for t in threads:
    t.join()
"""

glibc_only = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc"
    or ctypes.util.find_library("c") is None,
    reason="malloc arenas are a glibc mechanism",
)  # fmt: skip


def _heaps(mode: str) -> int:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return int(out.stdout)


@glibc_only
def test_threads_share_two_arenas_once_capped() -> None:
    assert _heaps("free") > 2  # the probe sees per-thread arenas (glibc: up to 8 per core)
    assert _heaps("cap") == 2  # the main arena and one more, whatever the thread count


def test_an_arena_limit_from_the_environment_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wattlens.web.server import limit_malloc_arenas

    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")  # glibc read it at start; not overridden
    assert limit_malloc_arenas() is False
