"""The notebook API: `wattlens.open(db)` and pandas DataFrames over the stored history.

    import wattlens
    fleet = wattlens.open("fleet.duckdb")
    fleet.deployments()                    # one row per deployment
    fleet.report(range="7d")               # totals and ratios per deployment over a period
    fleet.series(["power_watts", "joules_per_token"], step="1h")   # time series, long format
    fleet.analyze(range="7d")              # efficiency analysis, one row per deployment

The same library functions as the CLI compute every number (`app.ops.report`, `analysis`,
`store.series_many`), so a notebook and `wattlens report` agree.
"""

from __future__ import annotations

import math
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from wattlens.config import Config, load_config
from wattlens.core.durations import parse_duration
from wattlens.core.errors import InputError
from wattlens.store import Store

if TYPE_CHECKING:
    import pandas as pd


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as e:  # pandas is a dependency; a broken install should say so
        raise InputError("the notebook API needs pandas: pip install pandas") from e
    return pandas


def _seconds(value: str | float, what: str) -> float:
    s = parse_duration(value, what=what)
    if not s or not math.isfinite(s):
        raise InputError(f"{what} {value!r}: expected a positive duration such as 1h", field=what)
    return float(s)


class Fleet:
    """A read-only view of one store file; close it (or use `with`) when done."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.close()

    def close(self) -> None:
        """Release the DuckDB file."""
        self.store.close()

    @property
    def _min_tokens_per_s(self) -> float:
        return float(self.config.thresholds.min_tokens_per_s_for_ratio)

    def deployments(self) -> pd.DataFrame:
        """One row per stored deployment (identity, model, GPUs, node, grid region)."""
        rows = [asdict(d.info) for d in self.store.deployments()]
        return _pandas().DataFrame(rows).set_index("deployment_id").sort_index()

    def _period(self, since: str | None, until: str | None, range: str | None
                ) -> tuple[float | None, float | None]:  # fmt: skip
        from wattlens.app.ops import period

        now = self.store.last_ts() or time.time()
        return period(since, until, range, now)

    def report(self, *, since: str | None = None, until: str | None = None,
               range: str | None = None) -> pd.DataFrame:  # fmt: skip
        """`wattlens report` as a DataFrame (one row per deployment; `attrs["fleet"]`)."""
        from wattlens.app.ops import report

        since_s, until_s = self._period(since, until, range)
        body = report(self.store, since_s=since_s, until_s=until_s,
                      min_tokens_per_s=self._min_tokens_per_s)  # fmt: skip
        df = _pandas().DataFrame(body["deployments"]).set_index("deployment")
        df.attrs["fleet"] = body["fleet"]
        return df

    def series(self, metrics: str | list[str] = "power_watts", *,
               deployment: str | list[str] | None = None, since: str | None = None,
               until: str | None = None, range: str | None = None, step: str = "1h",
               ) -> pd.DataFrame:  # fmt: skip
        """Bucketed rates in long format: time (UTC), deployment, one column per metric."""
        pd = _pandas()
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        step_s = _seconds(step, "step")
        since_s, until_s = self._period(since, until, range)
        wanted = [deployment] if isinstance(deployment, str) else deployment
        ids = wanted or [d.info.deployment_id for d in self.store.deployments()]
        frames = []
        for dep in ids:
            cols = self.store.series_many(names, dep, since_s, until_s, step_s,
                                          min_tokens_per_s=self._min_tokens_per_s)  # fmt: skip
            frame = pd.DataFrame({k: cols[k] for k in ("ts_end_s", *names)})
            frame.insert(0, "deployment", dep)
            frames.append(frame)
        if not frames:
            return pd.DataFrame(columns=["time", "deployment", *names])
        out = pd.concat(frames, ignore_index=True)
        out.insert(0, "time", pd.to_datetime(out.pop("ts_end_s"), unit="s", utc=True))
        return out

    def analyze(self, *, range: str = "7d") -> pd.DataFrame:
        """`wattlens analyze` per deployment (`attrs` holds fleet, idle power, plans)."""
        from wattlens.analysis import AnalysisOptions, analyze

        result = analyze(self.store, range_s=_seconds(range, "range"),
                         options=AnalysisOptions.from_config(self.config))  # fmt: skip
        df = _pandas().DataFrame(result["deployments"])
        if not df.empty:
            df = df.set_index("deployment_id")
        df.attrs.update({k: v for k, v in result.items() if k != "deployments"})
        return df


def open_fleet(db: str | Path, *, config: str | Path | None = None) -> Fleet:
    """Open a store file read-only for analysis in Python (`wattlens.open`)."""
    cfg = load_config(config) if config is not None else load_config(None, environ={})
    return Fleet(Store.open(Path(db), read_only=True), cfg)


def build_demo_store(db: str | Path, *, scenario: str = "nrp", days: float = 1.0,
                     step_s: float = 150.0, end_s: float | None = None) -> Path:  # fmt: skip
    """Write `days` of the emulator's demo fleet ending at `end_s` (default: the last full
    hour) into a store file, as `wattlens import` would; returns the path."""
    from wattlens.app.ops import import_file
    from wattlens.derive.engine import DeriveOptions
    from wattlens.emulator import load_scenario, write_history
    from wattlens.telemetry.metrics import WANTED_METRICS

    end = end_s if end_s is not None else math.floor(time.time() / 3600.0) * 3600.0
    start = end - days * 86400.0
    with tempfile.TemporaryDirectory() as tmp:
        history = Path(tmp) / "history.om"
        write_history(load_scenario(scenario), history, start_s=start, end_s=end,
                      step_s=step_s, wanted=WANTED_METRICS)  # fmt: skip
        with Store.open(Path(db)) as store:
            import_file(store, history, options=DeriveOptions(step_s=step_s))
    return Path(db)


__all__ = ["Fleet", "build_demo_store", "open_fleet"]
