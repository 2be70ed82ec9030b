"""Counter-based randomness: a value is a pure function of (seed, stream, index).

The model must give the same number for tick i whether it computes ticks 0..i or only i, so it
hashes indices (splitmix64 finaliser) instead of drawing from a sequential generator.
"""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import ArrayLike, NDArray

SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery rand.SafeEncodeString

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(n) for n in (30, 27, 31, 11))


def stream_id(seed: int, *parts: object) -> int:
    """Stable 64-bit stream id from the seed and names (independent of PYTHONHASHSEED)."""
    text = "\x1f".join([str(seed), *map(str, parts)]).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    x = x + _GOLDEN
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


def uniform(stream: ArrayLike, index: ArrayLike) -> NDArray[np.float64]:
    """Uniform (0, 1) values for broadcast arrays of stream ids and integer indices."""
    s = np.asarray(stream, dtype=np.uint64)
    i = np.asarray(index).astype(np.int64).view(np.uint64)
    h = _mix(_mix(np.atleast_1d(s)) ^ np.atleast_1d(i))
    u = ((h >> _S11).astype(np.float64) + 0.5) / 9007199254740992.0  # 2**53
    return u.reshape(np.broadcast_shapes(np.shape(s), np.shape(i)))


def normal(stream: ArrayLike, index: ArrayLike) -> NDArray[np.float64]:
    """Standard normal values (Box-Muller over two derived streams)."""
    s = np.asarray(stream, dtype=np.uint64)
    u1 = uniform(s, index)
    u2 = uniform(s ^ np.uint64(0x5DEECE66D), index)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def safe_string(seed: int, length: int, *parts: object) -> str:
    """Deterministic string over the k8s safe alphabet (pod-hash style)."""
    u = uniform(np.uint64(stream_id(seed, "name", *parts)), np.arange(length))
    return "".join(SAFE_ALPHABET[int(x * len(SAFE_ALPHABET))] for x in u)


__all__ = ["SAFE_ALPHABET", "normal", "safe_string", "stream_id", "uniform"]
