"""Sweet-spot data: (n_in, n_out, energy) rows read from a CSV, checked line by line.

Columns: `n_in`, `n_out` and either `energy_joules` (per request) or `joules_per_output_token`;
optional `concurrency` (or `batch`) when the rows cover several serving settings. Every error
names the line and the column, so a user can fix the file.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from wattlens.core.errors import InputError

F64 = NDArray[np.float64]
MAX_ROWS = 1_000_000
ENERGY_COLUMNS = ("energy_joules", "joules_per_output_token")
SETTING_COLUMNS = ("concurrency", "batch")


@dataclass(frozen=True, slots=True)
class SweetSpotData:
    """Measured points: prompt and output lengths and energy per output token (1-D, one length)."""

    n_in: F64
    n_out: F64
    joules_per_output_token: F64
    setting_column: str | None = None  # "concurrency" or "batch" when the file had one
    setting: float | None = None  # the value kept (rows of other settings are dropped)
    dropped_rows: int = 0

    @property
    def size(self) -> int:
        """Number of points."""
        return int(self.n_in.size)


def _number(text: str, column: str, line: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(
            f"data line {line}: column {column} {text.strip()!r} is not a number", field="data"
        ) from None
    if not math.isfinite(value):
        raise InputError(f"data line {line}: column {column} {text!r} is not finite", field="data")
    return value


def parse_sweetspot_csv(
    text: str, *, setting: float | None = None, source: str = "data"
) -> SweetSpotData:
    """Points from CSV text; `setting` picks one concurrency/batch value when there are several.

    Raises InputError (field `data`, or `concurrency`) naming the line and column of a problem.
    """
    # newline="": a lone CR inside a cell is data, not a csv.Error traceback (issue 14 fuzz)
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, list[str]]] = []
    for line_no, cells in enumerate(reader, start=1):
        if not cells or all(not c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        if header is None:
            header, header_line = [c.strip().lower() for c in cells], line_no
            continue
        rows.append((line_no, cells))
        if len(rows) > MAX_ROWS:
            raise InputError(f"{source}: more than {MAX_ROWS} rows", field="data")
    if header is None:
        raise InputError(f"{source}: empty file; expected a header line n_in,n_out,energy_joules",
                         field="data")  # fmt: skip
    missing = [c for c in ("n_in", "n_out") if c not in header]
    energy_col = next((c for c in ENERGY_COLUMNS if c in header), None)
    if missing or energy_col is None:
        need = missing + ([] if energy_col else ["energy_joules (or joules_per_output_token)"])
        raise InputError(
            f"{source} line {header_line}: missing column(s) {', '.join(need)}; found "
            f"{', '.join(header) or 'none'}; expected n_in, n_out, energy_joules or "
            "joules_per_output_token, and optionally concurrency or batch",
            field="data",
        )
    set_col = next((c for c in SETTING_COLUMNS if c in header), None)
    idx = {c: header.index(c) for c in ("n_in", "n_out", energy_col, set_col) if c}
    values: list[tuple[float, float, float, float]] = []
    for line_no, cells in rows:
        if len(cells) < len(header):
            raise InputError(
                f"{source} line {line_no}: {len(cells)} fields, expected {len(header)} "
                f"({', '.join(header)})",
                field="data",
            )
        n_in = _number(cells[idx["n_in"]], "n_in", line_no)
        n_out = _number(cells[idx["n_out"]], "n_out", line_no)
        energy = _number(cells[idx[energy_col]], energy_col, line_no)
        if n_in < 1 or n_out < 1:
            col = "n_in" if n_in < 1 else "n_out"
            raise InputError(
                f"{source} line {line_no}: column {col} must be at least 1 token", field="data"
            )
        if energy <= 0:
            raise InputError(
                f"{source} line {line_no}: column {energy_col} must be positive", field="data"
            )
        s = _number(cells[idx[set_col]], set_col, line_no) if set_col else math.nan
        values.append((n_in, n_out, energy, s))
    if not values:
        raise InputError(f"{source}: no data rows after the header", field="data")
    arr = np.asarray(values, dtype=np.float64)
    kept, chosen, dropped = _pick_setting(arr[:, 3], set_col, setting)
    arr = arr[kept]
    jpt = arr[:, 2] / arr[:, 1] if energy_col == "energy_joules" else arr[:, 2]
    return SweetSpotData(arr[:, 0], arr[:, 1], jpt, set_col, chosen, dropped)


def _pick_setting(
    col: F64, name: str | None, setting: float | None
) -> tuple[NDArray[np.bool_], float | None, int]:
    """(rows to keep, the setting kept, rows dropped) for the concurrency/batch column."""
    everything = np.ones(col.size, dtype=bool)
    if name is None:
        if setting is not None:
            raise InputError(
                f"concurrency {setting:g}: the data has no concurrency or batch column",
                field="concurrency",
            )
        return everything, None, 0
    distinct = sorted(set(col.tolist()))
    if setting is None:
        if len(distinct) > 1:
            raise InputError(
                f"concurrency: the data holds {len(distinct)} {name} values "
                f"({', '.join(f'{v:g}' for v in distinct[:10])}); the model is fitted per "
                "serving setting, so choose one",
                field="concurrency",
            )
        return everything, distinct[0], 0
    keep = col == float(setting)
    if not keep.any():
        raise InputError(
            f"concurrency {setting:g}: no rows with that {name}; the data has "
            f"{', '.join(f'{v:g}' for v in distinct[:10])}",
            field="concurrency",
        )
    return keep, float(setting), int((~keep).sum())


def read_sweetspot_csv(path: str | Path, *, setting: float | None = None) -> SweetSpotData:
    """`parse_sweetspot_csv` over a file (InputError if it cannot be read)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"data {str(p)!r}: cannot read ({e})", field="data") from e
    return parse_sweetspot_csv(text, setting=setting, source=str(p))


__all__ = [
    "ENERGY_COLUMNS",
    "SETTING_COLUMNS",
    "SweetSpotData",
    "parse_sweetspot_csv",
    "read_sweetspot_csv",
]
