"""Read a saved Prometheus API answer (`/api/v1/query_range` or `/api/v1/query`) from a file.

Accepts the whole response (`{"status": "success", "data": {"resultType": ..., "result": [...]}}`),
its `data` object, or the bare `result` list. Matrix items carry `values: [[t, "v"], ...]`,
vector items `value: [t, "v"]`.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from hashlib import blake2b
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np

from wattlens.core.errors import InputError
from wattlens.telemetry.records import Labels, SeriesKey, SeriesSet, make_labels

__all__ = [
    "Matrix",
    "matrix_columns",
    "matrix_items",
    "matrix_rows",
    "read_export_lines",
    "read_range_json",
    "series_from_result",
    "series_keys",
]

_MATRIX_HEAD_B = b'{"status":"success","data":{"resultType":"matrix","result":['
_TO_LINES = bytes.maketrans(b",", b"\n")
# From this many numbers in one answer on, they are parsed with Arrow's CSV reader (about 45 ns a
# number against Python's float at about 150 ns; measured on this tree, 2-CPU machine). Below it,
# and until Arrow is loaded, with float(): the service's live answers (about 62,000 numbers a cycle
# for 200 deployments, bench backfill_cpu) then never load pyarrow, whose library pages stayed in
# its RSS (~59 MB, issue #11), while the backfill child's 12 h chunks (up to ~860,000 numbers per
# metric name) load it at their first large answer. Both parsers round correctly, so the numbers
# are the same bit for bit (tests/telemetry/test_rangejson_numbers.py).
ARROW_MIN_NUMBERS = 1 << 18
# One (name, value) pair object for every series that has it: a fleet's series share most of
# their labels (a deployment's metrics and histogram buckets all but `le` and the name), and a
# json.loads per series made new strings for each (200 deployments, 10,400 series: the keys took
# ~22 MB of the service's heap, ~5 MB shared). Cleared when it outgrows this many pairs (series
# gone); keys made before stay valid, they only share less.
_PAIRS_MAX = 1_000_000
_pairs: dict[tuple[str, str], tuple[str, str]] = {}


class Matrix(NamedTuple):
    """A matrix answer as columns: each series' `metric` object as its JSON text, and the
    samples of every series one after another in two arrays (`counts` per series)."""

    metrics: list[bytes]
    counts: np.ndarray
    t: np.ndarray
    v: np.ndarray


def series_keys(
    metrics: list[bytes], fallback_name: str, known: dict[bytes, SeriesKey] | None = None
) -> list[SeriesKey]:
    """The key of each `metric` JSON text; `known` remembers them across answers, so a series
    read again (the next backfill chunk, the next cycle) is not decoded again. It holds them by
    a 128-bit BLAKE2b digest of the text, not the text (~280 bytes a series: 200 deployments'
    10,400 series kept ~3 MB in the service; issue #11), at ~0.5 us a series."""
    known = {} if known is None else known
    out = []
    for text in metrics:
        digest = blake2b(text, digest_size=16).digest()
        key = known.get(digest)
        if key is None:
            metric = json.loads(text)
            name = metric.get("__name__", fallback_name)
            key = SeriesKey(sys.intern(name) if type(name) is str else name, _shared_labels(metric))
            if "__name__" in metric:  # else the key depends on the fallback
                known[digest] = key
        out.append(key)
    return out


def _shared_labels(metric: dict[str, str]) -> Labels:
    """`make_labels(metric)` made of shared pair objects (see _PAIRS_MAX)."""
    if len(_pairs) > _PAIRS_MAX:
        _pairs.clear()
    pair = _pairs.setdefault
    return tuple(pair(p, p) for p in sorted(metric.items()) if p[0] != "__name__")


def matrix_rows(
    result: list[Any] | Matrix, fallback_name: str, known: dict[bytes, SeriesKey] | None = None
) -> Iterator[tuple[SeriesKey, np.ndarray, np.ndarray]]:
    """(key, times, values) per matrix item: parsed JSON objects, `matrix_items` tuples or a
    `Matrix` (`known`: see `series_keys`)."""
    if isinstance(result, Matrix):
        ends = np.cumsum(result.counts)
        keys = series_keys(result.metrics, fallback_name, known)
        for key, lo, hi in zip(keys, (ends - result.counts).tolist(), ends.tolist(), strict=True):
            yield key, result.t[lo:hi], result.v[lo:hi]
        return
    for item in result:
        if isinstance(item, tuple):  # already split by `matrix_items`
            metric, t, v = item
            yield SeriesKey(metric.get("__name__", fallback_name), make_labels(metric)), t, v
            continue
        metric = item.get("metric", {})
        values = item.get("values") or []
        key = SeriesKey(metric.get("__name__", fallback_name), make_labels(metric))
        n = len(values)
        times, texts = zip(*values, strict=True) if n else ((), ())  # [[t, "v"], ...]
        t = np.fromiter(times, dtype=np.float64, count=n)
        yield key, t, np.fromiter(map(float, texts), dtype=np.float64, count=n)


def matrix_items(body: bytes) -> list[tuple[dict[str, Any], np.ndarray, np.ndarray]] | None:
    """(metric, times, values) per series of a successful matrix answer (see `matrix_columns`),
    or None when the body is not laid out as Prometheus writes it."""
    m = matrix_columns(body)
    if m is None:
        return None
    out, at = [], 0
    for text, n in zip(m.metrics, m.counts.tolist(), strict=True):
        try:
            metric = json.loads(text)
        except ValueError:
            return None
        if not isinstance(metric, dict):
            return None
        out.append((metric, m.t[at : at + n], m.v[at : at + n]))
        at += n
    return out


def matrix_columns(body: bytes) -> Matrix | None:
    """A successful matrix answer as a `Matrix`, without a Python object per sample: the
    numbers of every series are parsed together in one pass of Arrow's CSV reader over the
    body's bytes (backfill CPU, issue #11; numpy's text parser cost about 0.5 us a number), and
    the `metric` objects are left as JSON text. None when the body is not laid out as Prometheus
    writes it (compact, `metric` before `values`): the caller then decodes it as JSON.
    """
    if not body.startswith(_MATRIX_HEAD_B):
        return None
    i, metrics, counts, blocks = len(_MATRIX_HEAD_B), [], [], []
    view = memoryview(body)  # blocks are views: the numbers are copied once, when joined
    while body.startswith(b'{"metric":{', i):
        # '},"values":' cannot occur inside a JSON string (its quote would be escaped)
        j = body.find(b'},"values":', i)
        if j < 0:
            return None
        if body.startswith(b'},"values":[]}', j):
            n, k = 0, j + 14
        elif body.startswith(b'},"values":[[', j) and (k := body.find(b"]]}", j)) > 0:
            # [t,"v"],[t,"v"]: numbers and quoted numbers only
            n = body.count(b"[", j + 12, k + 1)
            blocks.append(view[j + 12 : k + 1])
            k += 3
        else:
            return None
        metrics.append(body[i + 10 : j + 1])
        counts.append(n)
        i = k + body.startswith(b",", k)
    if not body.startswith(b"]", i):
        return None
    n_numbers = 2 * sum(counts)
    nums = _numbers(b",".join(blocks), n_numbers) if blocks else np.empty(0)
    if nums is None or nums.size != n_numbers:
        return None
    return Matrix(metrics, np.array(counts, dtype=np.int64), nums[0::2], nums[1::2])


def _numbers(text: bytes, n_numbers: int) -> np.ndarray | None:
    """The numbers of `[t,"v"],[t,"v"]...` in order, or None; `n_numbers`: how many there
    should be (which parser: see ARROW_MIN_NUMBERS)."""
    lines = text.translate(_TO_LINES, b'["]')  # ',' -> newline; brackets and quotes dropped
    if n_numbers >= ARROW_MIN_NUMBERS or "pyarrow.csv" in sys.modules:
        return _numbers_arrow(lines)
    return _numbers_float(lines, n_numbers)


def _numbers_float(lines: bytes, n_numbers: int) -> np.ndarray | None:
    """The numbers of `lines` (one a line) with Python's float, or None. Where a value is not
    as Prometheus writes it, this reads what the JSON path would (float() of the text), except
    '1_000', which float() alone takes: None, so the caller decodes the body as JSON."""
    words = lines.split()
    if len(words) != n_numbers or b"_" in lines:
        return None
    try:
        return np.fromiter(map(float, words), dtype=np.float64, count=n_numbers)
    except ValueError:
        return None


def _numbers_arrow(lines: bytes) -> np.ndarray | None:
    """The numbers of `lines` (one a line) with Arrow's CSV reader, or None."""
    import pyarrow as pa  # here: the service's live path never loads it (ARROW_MIN_NUMBERS)
    import pyarrow.csv as pacsv

    try:
        table = pacsv.read_csv(
            io.BytesIO(lines),
            read_options=pacsv.ReadOptions(column_names=["x"], use_threads=False),
            parse_options=pacsv.ParseOptions(ignore_empty_lines=True),
            # no null spellings: "NaN" is a number here, and any other text an error
            convert_options=pacsv.ConvertOptions(
                column_types={"x": pa.float64()}, null_values=[], strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, ValueError):
        return None
    # The value buffers as they are: Arrow's to_numpy imports pandas on first use (0.2 CPU-s).
    chunks = table.column(0).chunks
    if any(c.null_count for c in chunks):
        return None
    parts = [np.frombuffer(c.buffers()[1], np.float64, len(c), c.offset * 8) for c in chunks]
    return parts[0] if len(parts) == 1 else np.concatenate([np.empty(0), *parts])


def _bad(name: str, path: str, what: str) -> InputError:
    return InputError(
        f"{name}: {path} {what}; expected a Prometheus API answer "
        '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{...},'
        '"values":[[t,"v"],...]}]}}'
    )


def _points(name: str, path: str, points: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(points, list):
        raise _bad(name, path, f'is {type(points).__name__}, not a list of [t, "v"] pairs')
    try:
        t = np.array([float(p[0]) for p in points], dtype=np.float64)
        v = np.array([float(p[1]) for p in points], dtype=np.float64)
    except (TypeError, ValueError, IndexError, KeyError) as e:
        i = next(i for i, p in enumerate(points) if not _is_point(p))
        raise _bad(name, f"{path}[{i}]", f'is {points[i]!r}, not a [t, "v"] pair') from e
    return t, v


def _is_point(p: Any) -> bool:
    try:
        float(p[0]), float(p[1])
    except (TypeError, ValueError, IndexError, KeyError):
        return False
    return isinstance(p, list) and len(p) == 2


def series_from_result(result: Any, name: str = "<json>", path: str = "$.data.result") -> SeriesSet:
    """`SeriesSet` from a parsed `result` list (matrix or vector items)."""
    if not isinstance(result, list):
        raise _bad(name, path, f"is {type(result).__name__}, not a list")
    out = SeriesSet()
    for i, item in enumerate(result):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            raise _bad(name, where, f"is {type(item).__name__}, not an object")
        metric = item.get("metric")
        if not isinstance(metric, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metric.items()
        ):
            raise _bad(name, f"{where}.metric", "is missing or not a map of strings")
        if "values" in item:
            t, v = _points(name, f"{where}.values", item["values"])
        elif "value" in item:
            t, v = _points(name, f"{where}.value", [item["value"]])
        else:
            raise _bad(name, where, "has neither 'values' nor 'value'")
        out.add(SeriesKey(metric.get("__name__", ""), make_labels(metric)), t, v)
    return out


def read_export_lines(text: str, name: str = "<json>") -> SeriesSet:
    """VictoriaMetrics `/api/v1/export` output: one JSON object per line,
    `{"metric": {...}, "values": [v, ...], "timestamps": [ms, ...]}`."""
    out = SeriesSet()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"line {n}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{name}: {where} is not JSON ({e.msg})") from e
        metric, values, stamps = (item.get(k) if isinstance(item, dict) else None
                                  for k in ("metric", "values", "timestamps"))  # fmt: skip
        if (
            not isinstance(metric, dict)
            or not isinstance(values, list)
            or not (isinstance(stamps, list) and len(stamps) == len(values))
        ):
            raise InputError(
                f"{name}: {where} is not an export line; expected "
                '{"metric":{...},"values":[...],"timestamps":[ms,...]} (same lengths)'
            )
        try:
            t = np.asarray(stamps, dtype=np.float64) / 1000.0
            v = np.asarray([float(x) for x in values], dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise InputError(f"{name}: {where} has a value that is not a number ({e})") from e
        order = np.argsort(t, kind="stable")
        labels = {str(k): str(val) for k, val in metric.items()}
        out.add(SeriesKey(labels.get("__name__", ""), make_labels(labels)), t[order], v[order])
    return out


def read_range_json(source: Path | str | IO[str]) -> SeriesSet:
    """Read a saved query / query_range response (or its `result` list) from a file."""
    if isinstance(source, (str, Path)):
        name = str(source)
        try:
            text = Path(source).read_text()
        except OSError as e:
            raise InputError(f"{name}: cannot read ({e.strerror}); check the path") from e
    else:
        name = str(getattr(source, "name", "<stream>"))
        text = source.read()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        if e.msg == "Extra data":  # several JSON values: VictoriaMetrics /api/v1/export lines
            return read_export_lines(text, name)
        raise InputError(f"{name}: not JSON ({e.msg} at line {e.lineno})") from e
    if isinstance(doc, dict) and "timestamps" in doc:
        return read_export_lines(text, name)
    if isinstance(doc, list):
        return series_from_result(doc, name, "$")
    if not isinstance(doc, dict):
        raise _bad(name, "$", f"is {type(doc).__name__}")
    path = "$"
    if "status" in doc:
        if doc["status"] != "success":
            raise _bad(name, "$.status", f"is {doc['status']!r} ({doc.get('error', '')})")
        doc, path = doc.get("data"), "$.data"
        if not isinstance(doc, dict):
            raise _bad(name, path, "is missing or not an object")
    kind = doc.get("resultType")
    if kind not in ("matrix", "vector"):
        raise _bad(name, f"{path}.resultType", f"is {kind!r}, not 'matrix' or 'vector'")
    return series_from_result(doc.get("result"), name, f"{path}.result")
