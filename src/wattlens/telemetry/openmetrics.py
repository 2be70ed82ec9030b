"""Read and write OpenMetrics files with per-sample timestamps (promtool's backfill format).

Lines are `name{labels} value timestamp` with the timestamp in **seconds** (OpenMetrics, as
`promtool tsdb create-blocks-from openmetrics` reads it; Prometheus text 0.0.4 uses ms and is
not accepted here), `# HELP` / `# TYPE` / `# UNIT` lines before each family's samples (the
family rules of `omrules`: broken ones refused with the line and rule), and `# EOF` last.

Speed: pyarrow's streaming CSV reader splits the file into line blocks in C++; each block is
split from the right into key / value / timestamp and the two numeric columns are cast in bulk.
Each distinct series key text is parsed (validated) once with prometheus_client's OpenMetrics
parser and cached. Unlike promtool, which silently drops samples out of time order, samples are
sorted per series (a repeated timestamp keeps the first value) with a warning saying so.
A little longer than 400 lines: the block reader is one piece, kept together for speed.
"""

from __future__ import annotations

import logging
import mmap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from wattlens.core.errors import InputError
from wattlens.telemetry.omrules import (
    FamilyRules,
    free_delimiter,
    lf_batches,
    order_warning,
    strip_exemplar,
)
from wattlens.telemetry.omwrite import format_openmetrics, write_openmetrics
from wattlens.telemetry.records import SeriesKey, SeriesSet, make_labels

EXPECTED = "expected `name{labels} value timestamp` (timestamp in seconds)"
_BLOCK_BYTES = 1 << 20
log = logging.getLogger(__name__)

__all__ = ["format_openmetrics", "iter_openmetrics", "read_openmetrics", "write_openmetrics"]


def _open(source: Path | str | IO[bytes] | IO[str]) -> tuple[object, str, int, str]:
    """An input pyarrow can stream, the name to quote in errors, its size, and a column
    delimiter that occurs nowhere in it (label values may hold any character but newline)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{path}: no such file; check the path")
        size = path.stat().st_size
        with open(path, "rb") as f:
            view = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else None
            delimiter = free_delimiter(view if view is not None else b"", str(path))
            if view is not None:
                view.close()
        return pa.OSFile(str(path), "rb"), str(path), size, delimiter
    name = str(getattr(source, "name", "<stream>"))
    raw = source.read()
    data = raw.encode() if isinstance(raw, str) else raw
    return pa.BufferReader(data), name, len(data), free_delimiter(data, name)


def _parse_key(key: str, where: str) -> SeriesKey:
    """Validate one distinct `name{labels}` text with prometheus_client's parser."""
    try:
        fams = list(text_string_to_metric_families(f"{key} 0 0\n# EOF\n"))
        sample = fams[0].samples[0]
    except (ValueError, IndexError, KeyError, TypeError) as e:
        raise InputError(f"{where}: invalid series {key!r} ({e}) — {EXPECTED}") from e
    return SeriesKey(sample.name, make_labels({k: v for k, v in sample.labels.items() if v}))


class _Columns:
    """Growable (series id, timestamp, value) columns; few large buffers, no fragmentation."""

    def __init__(self) -> None:
        self.n = 0
        self.gids = np.empty(0, dtype=np.int32)
        self.ts = np.empty(0, dtype=np.float64)
        self.vals = np.empty(0, dtype=np.float64)

    def reserve(self, capacity: int) -> None:
        if capacity <= self.gids.size:
            return
        for name in ("gids", "ts", "vals"):
            old = getattr(self, name)
            new = np.empty(capacity, dtype=old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)

    def append(self, gids: np.ndarray, ts: np.ndarray, vals: np.ndarray) -> None:
        end = self.n + gids.size
        if end > self.gids.size:
            self.reserve(max(end, int(self.gids.size * 1.25) + 65536))
        self.gids[self.n : end] = gids
        self.ts[self.n : end] = ts
        self.vals[self.n : end] = vals
        self.n = end

    def take(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n, out = self.n, (self.gids, self.ts, self.vals)
        self.__init__()  # type: ignore[misc]
        return out[0][:n], out[1][:n], out[2][:n]


class _Reader:
    def __init__(
        self, name: str, wanted: frozenset[str] | None, size_hint: int, warn: Callable[[str], None]
    ) -> None:
        self.name = name
        self.warn = warn
        self.rules = FamilyRules(warn)  # metadata, units, clashes, grouping (refuse or warn)
        self.comments: list[tuple[int, str]] = []  # the current block's `#` lines
        self.name_ids: dict[str, int] = {}  # sample name -> id
        self.key_names: list[int] = []  # sample name id per known index
        self.wanted = wanted
        self.text_index: dict[str, int] = {}  # distinct `name{labels}` text -> known index
        self.known = pa.array([], pa.string())  # the same texts, in index order
        self.key_gids: list[int] = []  # series id per known index, -1 when not wanted
        self.id_map = np.zeros(0, dtype=np.int32)  # key_gids as an array
        self.keys: list[SeriesKey] = []
        self.cols = _Columns()
        self.size_hint = size_hint
        self.first_line = 1  # line number of the current block's first row
        self.eof_line = 0
        self.count = 0
        self.streaming = False
        self.block_gids: list[np.ndarray] = []  # series ids seen in the current block

    def _where(self, row: int) -> str:
        return f"{self.name}:{self.first_line + row}"

    def _fail_row(self, lines: pa.Array, rows: np.ndarray, what: str) -> InputError:
        row = int(rows[0])
        text = lines[row].as_py()
        return InputError(f"{self._where(row)}: {what}: {text!r} — {EXPECTED}")

    def _lookup(self, texts: pa.Array) -> np.ndarray:
        """Index of each text among the known key texts, -1 where new."""
        if len(texts) <= 64:  # series-major files: few texts per block, a dict is fastest
            get = self.text_index.get
            return np.array([get(k, -1) for k in texts.to_pylist()], dtype=np.int64)
        pos = pc.index_in(texts, value_set=self.known)  # time-major: C++ hash lookup
        return pos.fill_null(-1).to_numpy(zero_copy_only=False)

    def _register(self, text: str, first_row: int) -> None:
        """Give a new key text its series id (-1 when its name is not wanted)."""
        name = text.split("{", 1)[0]
        if self.wanted is not None and name not in self.wanted:
            gid = -1
        else:
            self.keys.append(_parse_key(text, self._where(first_row)))
            gid = len(self.keys) - 1
        self.text_index[text] = len(self.key_gids)
        self.key_gids.append(gid)
        self.key_names.append(self.name_ids.setdefault(name, len(self.name_ids)))

    def block(self, lines: pa.Array) -> None:
        self.block_gids = []
        n = len(lines)
        if self.eof_line:
            raise self._fail_row(
                lines, np.array([0]), f"content after '# EOF' (line {self.eof_line})"
            )
        eof = np.flatnonzero(pc.equal(lines, "# EOF").to_numpy(False))
        if eof.size:
            self.eof_line = self.first_line + int(eof[0])
            if eof[0] + 1 < n:
                raise self._fail_row(lines, eof[:1] + 1, "content after '# EOF'")
        comment = pc.starts_with(lines, "#")
        self.comments = []
        if pc.any(comment).as_py():
            is_comment = comment.to_numpy(zero_copy_only=False)
            rows = np.flatnonzero(~is_comment)
            data = pc.take(lines, pa.array(rows))
            at = [
                int(r) for r in np.flatnonzero(is_comment) if self.first_line + r != self.eof_line
            ]
            self.comments = list(
                zip(at, pc.take(lines, pa.array(at, pa.int64())).to_pylist(), strict=True)
            )
        else:
            rows, data = np.arange(n), lines
        if rows.size:
            self._samples(lines, rows, data)
        else:
            self._walk(lines, [])
        self.first_line += n

    def _walk(self, lines: pa.Array, runs: list[tuple[int, int]]) -> None:
        """Metadata lines and the first row of each run of one sample name, in line order."""
        names = list(self.name_ids)
        events = sorted([(r, 0, t) for r, t in self.comments] + [(r, 1, i) for r, i in runs])
        for row, kind, arg in events:
            if kind == 0:
                self.rules.comment(str(arg), self._where(row))
            else:
                line = str(lines[row].as_py())
                family = self.rules.family_of(names[int(arg)], self._where(row), line)
                self.rules.samples_of(family, self._where(row))

    def _samples(
        self, lines: pa.Array, rows: np.ndarray, data: pa.Array, stripped: bool = False
    ) -> None:
        parts = pc.split_pattern(data, " ", max_splits=2, reverse=True)
        bad = np.flatnonzero(pc.not_equal(pc.list_value_length(parts), 3).to_numpy(False))
        if bad.size:
            empty = lines[int(rows[bad[0]])].as_py() == ""
            what = "empty line (OpenMetrics has none)" if empty else "missing value or timestamp"
            raise self._fail_row(lines, rows[bad], what)
        keys = pc.list_element(parts, 0)
        enc = pc.dictionary_encode(keys)  # block-local distinct key texts
        pos = self._lookup(enc.dictionary)
        if np.any(pos < 0):
            unknown = pc.filter(enc.dictionary, pa.array(pos < 0))
            new = unknown.to_pylist()
            if not stripped and any(" #" in k for k in new):
                # Exemplars (`... # {labels} value [ts]`): rare, so strip them on this block only.
                texts = data.to_pylist()
                bare = pa.array(
                    [strip_exemplar(t) if " # " in t else t for t in texts], pa.string()
                )
                return self._samples(lines, rows, bare, stripped=True)
            idx = enc.indices.to_numpy(zero_copy_only=False)
            first = np.zeros(len(enc.dictionary), dtype=np.int64)
            first[idx[::-1]] = np.arange(idx.size - 1, -1, -1)  # first row of each text
            for k, j in zip(new, np.flatnonzero(pos < 0), strict=True):
                self._register(k, int(rows[first[j]]))
            self.id_map = np.asarray(self.key_gids, dtype=np.int32)
            self.known = pa.concat_arrays([self.known, unknown])
            pos = self._lookup(enc.dictionary)
        row_names = np.asarray(self.key_names, dtype=np.int64)[pos][enc.indices.to_numpy(False)]
        if self.rules.interleaved:  # already said: check each name once, not every run
            starts = np.sort(np.unique(row_names, return_index=True)[1])
        else:
            starts = np.flatnonzero(np.diff(row_names, prepend=-1))
        self._walk(lines, [(int(rows[i]), int(row_names[i])) for i in starts])
        try:
            values = pc.cast(pc.list_element(parts, 1), pa.float64()).to_numpy()
            stamps = pc.cast(pc.list_element(parts, 2), pa.float64()).to_numpy()
        except pa.ArrowInvalid as e:
            bad_row = rows[self._bad_numbers(parts)]
            raise self._fail_row(lines, bad_row, "bad value or timestamp") from e
        del parts, keys
        if not np.all(np.isfinite(stamps)):
            raise self._fail_row(lines, rows[~np.isfinite(stamps)], "bad timestamp")
        gids = self.id_map[pos][enc.indices.to_numpy(zero_copy_only=False)]
        self.block_gids.append(np.unique(self.id_map[pos]))
        keep = gids >= 0
        if not keep.all():
            gids, stamps, values = gids[keep], stamps[keep], values[keep]
        if self.cols.n == 0 and self.size_hint and not self.streaming:  # size buffers once
            per_line = max(1, len(data.buffers()[2] or b"")) / max(1, len(data))
            self.cols.reserve(int(self.size_hint / per_line * 1.05) + 1024)
        self.cols.append(gids, stamps, values)
        self.count += gids.size

    @staticmethod
    def _bad_numbers(parts: pa.Array) -> np.ndarray:
        for i, p in enumerate(parts.to_pylist()):
            try:
                pa.array(p[1:], pa.string()).cast(pa.float64())
            except pa.ArrowInvalid:
                return np.array([i])
        return np.array([0])  # pragma: no cover - the bulk cast failed, so one row must

    def result(self) -> SeriesSet:
        if not self.eof_line:
            raise InputError(
                f"{self.name}: no '# EOF' line at the end; the file may be truncated "
                "(OpenMetrics files end with '# EOF')"
            )
        return self._group(*self.cols.take())

    def take_closed(self) -> SeriesSet | None:
        """Series not seen in the latest block, as a SeriesSet (series-major files group each
        family's lines, so those series are complete); the rest stay buffered."""
        n = self.cols.n
        if n == 0 or not self.block_gids:
            return None
        gids, ts, vals = self.cols.gids[:n], self.cols.ts[:n], self.cols.vals[:n]
        still_open = np.isin(gids, np.concatenate(self.block_gids))
        if still_open.all():
            return None  # time-major file: every series continues; keep buffering
        closed = ~still_open
        out = self._group(gids[closed], ts[closed], vals[closed])
        keep = (gids[still_open], ts[still_open], vals[still_open])
        self.cols = _Columns()
        self.cols.append(*keep)
        return out

    def _series_name(self, gid: int) -> str:
        key = self.keys[gid]
        return key.name + "{" + ",".join(f'{k}="{v}"' for k, v in key.labels) + "}"

    def _group(self, gids: np.ndarray, ts: np.ndarray, vals: np.ndarray) -> SeriesSet:
        """Columns -> per-series sorted arrays (sorted, deduplicated per series)."""
        if gids.size == 0:
            return SeriesSet()
        if not np.all(gids[1:] >= gids[:-1]):  # time-major files: group by series
            order = np.argsort(gids, kind="stable")
            gids = gids[order]  # one column at a time keeps the peak memory down
            ts = ts[order]
            vals = vals[order]
            del order
        same = gids[1:] == gids[:-1]
        if np.any(same & (ts[1:] <= ts[:-1])):  # out of order or repeated: sort, dedupe
            note = order_warning(lambda g: self._series_name(g), gids, ts, vals)
            if note:
                self.warn(f"{self.name}: {note}")
            order = np.lexsort((ts, gids))
            gids = gids[order]
            ts = ts[order]
            vals = vals[order]
            keep = np.ones(gids.size, dtype=bool)
            keep[1:] = ~((gids[1:] == gids[:-1]) & (ts[1:] == ts[:-1]))
            gids, ts, vals = gids[keep], ts[keep], vals[keep]
        del same
        starts = np.concatenate(([0], np.flatnonzero(gids[1:] != gids[:-1]) + 1))
        ends = np.append(starts[1:], gids.size)
        return SeriesSet(
            {self.keys[gids[s]]: (ts[s:e], vals[s:e]) for s, e in zip(starts, ends, strict=True)}
        )


def read_openmetrics(
    source: Path | str | IO[bytes] | IO[str],
    *,
    wanted: frozenset[str] | None = None,
    progress: Callable[[int], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> SeriesSet:
    """Read an OpenMetrics file (path or open file) into one `SeriesSet`.

    Args:
        wanted: sample names to keep (others are skipped unparsed); None keeps all.
        progress: called with the number of samples read so far after each block.
        on_warning: told what was done to import a file that breaks a rule without losing
            data (default: logged as a warning).
    """
    out = SeriesSet()
    parts = iter_openmetrics(
        source, wanted=wanted, progress=progress, max_samples=None, on_warning=on_warning
    )
    for part in parts:
        out.series.update(part.series)  # parts hold disjoint, complete series
    return out


def iter_openmetrics(
    source: Path | str | IO[bytes] | IO[str],
    *,
    wanted: frozenset[str] | None = None,
    progress: Callable[[int], None] | None = None,
    max_samples: int | None = 1_000_000,
    on_warning: Callable[[str], None] | None = None,
) -> Iterator[SeriesSet]:
    """Read an OpenMetrics file as a stream of `SeriesSet`s of complete series.

    Once `max_samples` are buffered, series that did not appear in the latest block are handed
    out (a series-major file groups each family's lines, so they are complete); a time-major
    file, where every series continues to the end, comes out whole at the end. Memory stays
    near `max_samples` for series-major files such as promtool backfill input.
    """
    stream, name, size_hint, delimiter = _open(source)
    reader = _Reader(name, wanted, size_hint, on_warning or log.warning)
    reader.streaming = max_samples is not None
    opts = (
        pacsv.ReadOptions(column_names=["line"], block_size=_BLOCK_BYTES, use_threads=False),
        pacsv.ParseOptions(
            delimiter=delimiter or ",",
            quote_char=False,
            escape_char=False,
            ignore_empty_lines=False,
        ),
        pacsv.ConvertOptions(
            column_types={"line": pa.string()}, strings_can_be_null=False, check_utf8=True
        ),
    )
    try:
        batches = (
            pacsv.open_csv(
                stream, read_options=opts[0], parse_options=opts[1], convert_options=opts[2]
            )
            if delimiter
            else lf_batches(stream, name)
        )
        for batch in batches:
            reader.block(batch.column(0))
            if progress is not None:
                progress(reader.count)
            if max_samples is not None and reader.cols.n >= max_samples:
                part = reader.take_closed()
                if part is not None and len(part):
                    yield part
    except pa.ArrowInvalid as e:
        raise InputError(f"{name}: not OpenMetrics text ({e}) — {EXPECTED}") from e
    finally:
        stream.close()  # type: ignore[attr-defined]
    last = reader.result()
    if len(last):
        yield last
