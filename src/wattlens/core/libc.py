"""The C library's functions that the service tunes itself with (glibc's mallopt and
malloc_trim, Linux's prctl), or None where the C library lacks them (musl, macOS)."""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache
from typing import Any

# mallopt parameter numbers, from glibc's malloc.h
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


@cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None


def libc_function(name: str) -> Callable[..., Any] | None:
    """`name` from the C library, or None where there is no such function."""
    lib = _libc()
    return getattr(lib, name, None) if lib is not None else None


__all__ = ["M_ARENA_MAX", "M_MMAP_THRESHOLD", "M_TRIM_THRESHOLD", "libc_function"]
