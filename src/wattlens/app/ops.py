"""Library functions behind the CLI commands: import, status, report. No rendering here."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wattlens.app.gridcarbon import GridHook, apply_grid
from wattlens.app.lengths import attach
from wattlens.app.views import report_rows, snapshot_rows
from wattlens.catalog import gpu_id_for_dcgm_name
from wattlens.core.durations import iso, parse_duration, parse_time
from wattlens.core.errors import InputError, NotFoundError
from wattlens.derive.carbon import CarbonModel
from wattlens.derive.engine import DeriveOptions, Deriver
from wattlens.derive.histograms import LengthHistograms
from wattlens.store import Store, StoreReader
from wattlens.store.lengths import length_distribution, write_length_buckets
from wattlens.telemetry.importer import iter_telemetry_file
from wattlens.telemetry.metrics import COLLECTED_METRICS

_WRITE_CHUNK_ROWS = 50_000


@dataclass(frozen=True)
class ImportStats:
    """What an import did."""

    samples_read: int
    samples_used: int
    series: int
    records_written: int
    deployments: int
    first_s: float | None
    last_s: float | None


def make_deriver(options: DeriveOptions, carbon: CarbonModel | None = None) -> Deriver:
    """A Deriver wired to the catalog (GPU names) and a carbon model."""

    return Deriver(options, carbon=carbon or CarbonModel(), gpu_type_of=gpu_id_for_dcgm_name)


def import_file(
    store: Store,
    path: Path,
    *,
    options: DeriveOptions,
    carbon: CarbonModel | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportStats:
    """Read an OpenMetrics or range-JSON file and store its per-deployment intervals.

    Idempotent: importing the same file again rewrites identical rows.
    """

    deriver = make_deriver(options, carbon)
    lengths = LengthHistograms(options.step_s)
    n_samples = n_series = used = 0
    lo, hi = math.inf, -math.inf
    # Parts of complete series: memory stays bounded by the part, not the file.
    for part in iter_telemetry_file(path, wanted=COLLECTED_METRICS, progress=progress):
        span = part.time_range()
        if span:
            lo, hi = min(lo, span[0]), max(hi, span[1])
        n_samples += part.sample_count()
        n_series += len(part)
        used += deriver.feed(part) + lengths.feed(part)
    infos, columns = deriver.drain_columns(math.inf)
    n_records = len(columns["ts_end_s"])
    with store.transaction():
        if infos:
            store.upsert_deployments(infos, hi if math.isfinite(hi) else 0.0)
        for lo_row in range(0, n_records, _WRITE_CHUNK_ROWS):  # bounded insert buffers
            rows = slice(lo_row, lo_row + _WRITE_CHUNK_ROWS)
            # one row per (deployment, bucket) by construction
            store.write_intervals_columns(
                {k: v[rows] for k, v in columns.items()}, unique_keys=True
            )
        write_length_buckets(store, lengths.drain())
    store.rollup_pending()
    return ImportStats(
        samples_read=n_samples,
        samples_used=used,
        series=n_series,
        records_written=n_records,
        deployments=len(infos),
        first_s=lo if math.isfinite(lo) else None,
        last_s=hi if math.isfinite(hi) else None,
    )


def status(
    store: StoreReader,
    *,
    window_s: float,
    min_tokens_per_s: float,
    carbon: CarbonModel | None = None,
) -> list[dict[str, Any]]:
    """Latest snapshot per deployment: rates over the last `window_s` of stored intervals."""
    return snapshot_rows(
        [d.info for d in store.deployments()],
        store.latest(window_s),
        min_tokens_per_s=min_tokens_per_s,
        carbon=carbon,
    )


def period(
    since: str | None, until: str | None, range_: str | None, now_s: float
) -> tuple[float | None, float | None]:
    """(since_s, until_s) from ISO times, epoch seconds or durations ago; `range_` is the last
    period before `until` (or now). An empty or reversed period is an InputError."""
    if range_ and since:
        raise InputError("range and since cannot be combined; give one of them", field="range")
    since_s = parse_time(since, now_s=now_s, what="since") if since else None
    until_s = parse_time(until, now_s=now_s, what="until") if until else None
    if range_:
        length = float(parse_duration(range_, what="range") or 0.0)
        if length <= 0:
            raise InputError(f"range {range_!r}: expected a positive duration such as 24h or 7d",
                             field="range")  # fmt: skip
        since_s = (until_s or now_s) - length
    if since_s is not None and since_s >= (now_s if until_s is None else until_s):
        end = "now" if until_s is None else f"until {iso(until_s)}"
        raise InputError(f"since {iso(since_s)} is not before {end}: the period is empty",
                         field="since")  # fmt: skip
    return since_s, until_s


def report(
    store: StoreReader,
    *,
    since_s: float | None,
    until_s: float | None,
    min_tokens_per_s: float,
    grid: GridHook | None = None,
) -> dict[str, Any]:
    """`{"deployments", "fleet"}` totals over (since, until]; None bounds = everything.

    With `grid` every row states its intensity source, kind and year, and a live provider's
    hourly intensity replaces the stored CO2 (`app.gridcarbon`)."""
    totals = store.totals(since_s, until_s, active_min_tokens_per_s=min_tokens_per_s)
    if not totals:
        raise NotFoundError(_no_data(store, since_s, until_s))
    body = report_rows(
        [d.info for d in store.deployments()], totals, min_tokens_per_s=min_tokens_per_s
    )
    body = attach(body, length_distribution(store, since_s, until_s))
    return body if grid is None else apply_grid(store, body, grid, since_s=since_s, until_s=until_s)


def _no_data(store: StoreReader, since_s: float | None, until_s: float | None) -> str:
    first, last = store.first_ts(), store.last_ts()
    held = "the store is empty" if last is None else f"the store holds {iso(first)} to {iso(last)}"
    start, end = iso(since_s) or "the start", iso(until_s) or "now"
    return f"no stored data between {start} and {end}; {held}"


__all__ = ["ImportStats", "import_file", "make_deriver", "period", "report", "status"]
