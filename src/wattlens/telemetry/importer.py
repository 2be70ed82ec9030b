"""Import a telemetry file, whatever its format: saved API JSON or OpenMetrics text.

The OpenMetrics reader (with pyarrow.compute and prometheus_client's parser) is imported when a
file needs it: a service reading a Prometheus API imports this module but never reads a file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from wattlens.core.errors import InputError
from wattlens.telemetry.rangejson import read_range_json
from wattlens.telemetry.records import SeriesSet

__all__ = ["detect_format", "iter_telemetry_file", "read_telemetry_file"]


def detect_format(path: Path) -> str:
    """'json' when the first non-blank byte opens a JSON value, else 'openmetrics'."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096).lstrip()
    except FileNotFoundError as e:
        raise InputError(f"{path}: no such file; check the path") from e
    except IsADirectoryError as e:
        raise InputError(f"{path}: is a directory; expected a telemetry file") from e
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from e
    if not head:
        raise InputError(f"{path}: file is empty; expected OpenMetrics text or Prometheus JSON")
    return "json" if head[:1] in (b"{", b"[") else "openmetrics"


def read_telemetry_file(
    path: Path | str,
    *,
    wanted: frozenset[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> SeriesSet:
    """Read an OpenMetrics file or a saved query/query_range JSON answer into a `SeriesSet`.

    Args:
        wanted: metric names to keep (OpenMetrics only skips others while reading).
        progress: OpenMetrics only: called with the samples read so far.
    """
    path = Path(path)
    if detect_format(path) == "json":
        series = read_range_json(path)
        if wanted is not None:
            series = SeriesSet({k: v for k, v in series.series.items() if k.name in wanted})
        return series
    from wattlens.telemetry.openmetrics import read_openmetrics

    return read_openmetrics(path, wanted=wanted, progress=progress)


def iter_telemetry_file(
    path: Path | str,
    *,
    wanted: frozenset[str] | None = None,
    progress: Callable[[int], None] | None = None,
    max_samples: int = 1_000_000,
) -> Iterator[SeriesSet]:
    """Like `read_telemetry_file`, as parts of complete series (bounded memory for big files)."""
    path = Path(path)
    if detect_format(path) == "json":
        yield read_telemetry_file(path, wanted=wanted)
        return
    from wattlens.telemetry.openmetrics import iter_openmetrics

    yield from iter_openmetrics(path, wanted=wanted, progress=progress, max_samples=max_samples)
