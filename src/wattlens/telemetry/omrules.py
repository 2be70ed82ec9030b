"""OpenMetrics family rules for the importer: metadata, units, name clashes, grouping.

OpenMetrics 1.0 (https://prometheus.io/docs/specs/om/open_metrics_spec/) says: a family's
`# TYPE`, `# HELP` and `# UNIT` come once each, before its samples; a family with a unit has a
name ending in `_<unit>`; each type has its sample names (a counter's are `NAME_total` and
`NAME_created`); no two families share a sample name; and a family's samples are not
interleaved with another family's. Breaking the metadata rules makes the file ambiguous (which
type, which family a sample counts for), so the reader refuses it, naming the line and the rule.
Interleaved families lose no data once samples are grouped by series, so those files are
imported with a warning saying so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from wattlens.core.errors import InputError

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
# The sample-name suffixes each type allows ("" is the family name itself).
SUFFIXES: dict[str, tuple[str, ...]] = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "unknown": ("",),
    "stateset": ("",),
    "info": ("_info",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "summary": ("", "_count", "_sum", "_created"),
}
_ALL_SUFFIXES = sorted({s for v in SUFFIXES.values() for s in v if s}, key=len, reverse=True)
SPEC = "OpenMetrics 1.0"


class FamilyRules:
    """Checks metadata lines and the order of families, line by line, across a whole file."""

    def __init__(self, warn: Callable[[str], None]) -> None:
        self._warn = warn
        self.types: dict[str, str] = {}  # family -> declared type
        self._meta_seen: set[tuple[str, str]] = set()  # (family, TYPE|HELP|UNIT)
        self._units: dict[str, tuple[str, str]] = {}  # family -> (unit, where)
        self._owner: dict[str, str] = {}  # sample name -> family declaring it
        self._started: set[str] = set()  # families whose samples have begun
        self._current: str | None = None
        self._family_of: dict[str, str] = {}  # sample name -> family (cache)
        self.interleaved = False  # a family's samples resumed after another family's

    def comment(self, text: str, where: str) -> None:
        """One `#` line: `# TYPE`, `# HELP`, `# UNIT` are checked; other comments refused."""
        parts = text.split(" ", 3)
        kind = parts[1] if len(parts) > 1 else ""
        if parts[0] != "#" or kind not in ("TYPE", "HELP", "UNIT") or len(parts) < 3:
            raise _refuse(where, text, "a comment line must be '# TYPE', '# HELP' or '# UNIT'")
        family = parts[2]
        if not _NAME.match(family):
            raise _refuse(where, text, f"{family!r} is not a metric name")
        if (family, kind) in self._meta_seen:
            raise _refuse(where, text, f"a second '# {kind}' for family {family!r}")
        arg = parts[3] if len(parts) > 3 else ""
        if family in self._started or (kind == "TYPE" and self._started & _names(family, arg)):
            raise _refuse(where, text, f"'# {kind}' for {family!r} after its samples began")
        self._meta_seen.add((family, kind))
        if kind == "TYPE":
            self._declare(family, arg, where, text)
        elif kind == "UNIT":
            self._unit(family, arg, where, text)

    def _declare(self, family: str, kind: str, where: str, text: str) -> None:
        if kind not in SUFFIXES:
            raise _refuse(where, text, f"type {kind!r} is not one of {sorted(SUFFIXES)}")
        names = [family + s for s in SUFFIXES[kind]]
        for name in names:
            other = self._owner.get(name)
            if other is not None:
                raise _refuse(
                    where, text, f"sample name {name!r} of family {family!r} clashes with family "
                    f"{other!r}",
                )  # fmt: skip
        for other, other_kind in self.types.items():
            if other in names or family in [other + s for s in SUFFIXES[other_kind]]:
                raise _refuse(where, text, f"family {family!r} clashes with family {other!r}")
        self.types[family] = kind
        self._owner.update(dict.fromkeys(names, family))
        self._family_of.clear()
        unit = self._units.get(family)
        if unit is not None and kind in ("info", "stateset") and unit[0]:
            raise _refuse(where, text, f"an {kind} family has no unit ({unit[1]} gives one)")

    def _unit(self, family: str, unit: str, where: str, text: str) -> None:
        if unit and not family.endswith("_" + unit):
            raise _refuse(where, text, f"a family with unit {unit!r} is named '*_{unit}'")
        if unit and self.types.get(family) in ("info", "stateset"):
            raise _refuse(where, text, f"an {self.types[family]} family has no unit")
        self._units[family] = (unit, where)

    def family_of(self, sample_name: str, where: str, line: str) -> str:
        """The family a sample name belongs to; refuses names its declared type forbids."""
        found = self._family_of.get(sample_name)
        if found is not None:
            return found
        family = self._owner.get(sample_name)
        if family is None:
            for suffix in ["", *_ALL_SUFFIXES]:
                base = sample_name[: len(sample_name) - len(suffix)]
                if sample_name.endswith(suffix) and base in self.types:
                    kind = self.types[base]
                    raise _refuse(
                        where, line, f"{sample_name!r} is not a sample of {kind} family "
                        f"{base!r} (its samples are {[base + s for s in SUFFIXES[kind]]})",
                    )  # fmt: skip
            family = sample_name  # no metadata: a family of type unknown
        self._family_of[sample_name] = family
        return family

    def samples_of(self, family: str, where: str) -> None:
        """A run of samples of `family` begins at `where`."""
        if family == self._current:
            return
        if family in self._started and not self.interleaved:
            self.interleaved = True
            self._warn(
                f"{where}: samples of family {family!r} resume after another family's "
                f"({SPEC} keeps each family together); imported with every series' samples "
                "grouped and sorted by time"
            )
        self._started.add(family)
        self._current = family


def strip_exemplar(line: str) -> str:
    """The sample line without its exemplar (` # {labels} value [timestamp]` after the value);
    a `#` inside a quoted label value is not one."""
    brace, space = line.find("{"), line.find(" ")
    end = space if space != -1 else len(line)
    if brace != -1 and brace < end:  # skip the label set, honouring quotes and escapes
        j, quoted = brace + 1, False
        while j < len(line):
            c = line[j]
            if quoted and c == "\\":
                j += 1
            elif c == '"':
                quoted = not quoted
            elif c == "}" and not quoted:
                break
            j += 1
        end = j + 1
    cut = line.find(" # ", end)
    return line if cut == -1 else line[:cut]


def free_delimiter(data: Any, name: str) -> str:
    """An ASCII control character absent from `data` (bytes or mmap), to split lines on; ""
    when `data` holds a carriage return (valid in label values, a line end to pyarrow)."""
    if data.find(b"\r") != -1:
        return ""
    for code in (0x1F, 0x1E, 0x1D, 0x1C, *range(1, 9), 0x0B, 0x0C, *range(0x0E, 0x1C)):
        if data.find(bytes([code])) == -1:
            return chr(code)
    raise InputError(f"{name}: holds every ASCII control character; not OpenMetrics text")


def lf_batches(stream: Any, name: str, lines_per_batch: int = 50_000) -> Iterator[Any]:
    """Record batches of one `line` column, split on LF only (a trailing CR is dropped)."""
    try:
        text = stream.read().decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{name}: not UTF-8 text ({e})") from e
    lines = [x[:-1] if x.endswith("\r") else x for x in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    for i in range(0, len(lines), lines_per_batch):
        yield pa.record_batch([pa.array(lines[i : i + lines_per_batch], pa.string())], ["line"])


def _names(family: str, kind: str) -> set[str]:
    return {family + s for s in SUFFIXES.get(kind, ("",))}


def order_warning(name: Callable[[int], str], gids: Any, ts: Any, vals: Any) -> str | None:
    """What sorting (gids, ts, vals), grouped by series, changes: samples out of time order
    and repeated timestamps (the first value is kept), naming the first series; else None."""
    same = gids[1:] == gids[:-1]
    back = np.flatnonzero(same & (ts[1:] < ts[:-1]))
    dup = np.flatnonzero(same & (ts[1:] == ts[:-1]))
    order = np.lexsort((ts, gids))
    g, t, v = gids[order], ts[order], vals[order]
    same_sorted = (g[1:] == g[:-1]) & (t[1:] == t[:-1])
    differ = np.flatnonzero(
        same_sorted & ~((v[1:] == v[:-1]) | (np.isnan(v[1:]) & np.isnan(v[:-1])))
    )
    notes = []
    if back.size:
        i = int(back[0]) + 1
        notes.append(f"{back.size} sample(s) out of time order (first in {name(int(gids[i]))} "
                     f"at t={float(ts[i])!r}); sorted by time")  # fmt: skip
    if dup.size:
        what = f"{differ.size} with a different value, " if differ.size else ""
        notes.append(f"{dup.size} repeated timestamp(s) ({what}first in "
                     f"{name(int(gids[int(dup[0]) + 1]))}); the first value kept")  # fmt: skip
    if not notes:
        return None
    return f"{'; '.join(notes)} ({SPEC} wants each series' timestamps increasing)"


def _refuse(where: str, line: str, rule: str) -> InputError:
    shown = line if len(line) <= 200 else line[:200] + "..."
    return InputError(f"{where}: {rule} ({SPEC}): {shown!r}")


__all__ = [
    "SPEC",
    "SUFFIXES",
    "FamilyRules",
    "free_delimiter",
    "lf_batches",
    "order_warning",
    "strip_exemplar",
]
