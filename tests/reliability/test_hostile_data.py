"""Hostile telemetry (issue 14): NaN/Inf and negative power, counters going backwards, repeated
timestamps, a stream 10 minutes skewed, 10 kB label values and 100k series. The reader and the
derivation give data or a clean error, never a crash; energy is never negative or infinite, and
corrupting a stream never inflates the fleet beyond its planted truth."""

from __future__ import annotations

import io
import math
import time

import numpy as np
import pytest

from wattlens.app.ops import make_deriver
from wattlens.derive.engine import DeriveOptions
from wattlens.emulator import history_series, load_scenario, truth
from wattlens.telemetry.metrics import WANTED_METRICS
from wattlens.telemetry.openmetrics import read_openmetrics
from wattlens.telemetry.records import SeriesSet

STEP_S = 30.0


def _derive(series: SeriesSet) -> dict[str, float]:
    deriver = make_deriver(DeriveOptions(step_s=STEP_S))
    deriver.feed(series)
    _, records = deriver.drain(math.inf)
    energy: dict[str, float] = {}
    for r in records:
        e = r.energy_joules
        assert e is None or e != e or (math.isfinite(e) and e >= 0.0), (r.deployment_id, e)
        for tokens in (r.prompt_tokens, r.generation_tokens):
            assert tokens is None or tokens != tokens or tokens >= 0.0
        if e is not None and e == e:
            energy[r.deployment_id] = energy.get(r.deployment_id, 0.0) + e
    return energy


@pytest.fixture(scope="module")
def fleet() -> tuple[SeriesSet, dict[str, float]]:
    sc = load_scenario("test-events")
    start = math.floor((time.time() - 3 * 3600.0) / STEP_S) * STEP_S
    series = history_series(sc, start_s=start, end_s=start + 3600.0, step_s=STEP_S,
                            start_of_scenario_s=start, wanted=WANTED_METRICS)  # fmt: skip
    want = {k: t.energy_joules for k, t in truth(sc, start, start + 3600.0,
                                                 start_of_scenario_s=start).items()}  # fmt: skip
    return series, want


def _mutate(series: SeriesSet, name_test: object, change: object) -> SeriesSet:
    """A copy with `change(t, v)` applied to the series whose name passes `name_test`."""
    out = SeriesSet()
    for key, (t, v) in series.series.items():
        t, v = t.copy(), v.copy()
        if name_test(key.name):  # type: ignore[operator]
            t, v = change(t, v)  # type: ignore[operator]
        out.series[key] = (t, v)
    return out


def _set(index: int, value: float) -> object:
    def change(t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v[index] = value
        return t, v

    return change


def test_clean_history_matches_truth(fleet: tuple[SeriesSet, dict[str, float]]) -> None:
    series, want = fleet
    got = _derive(series)
    for key, joules in want.items():
        assert got[key] == pytest.approx(joules, rel=0.02), key


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, -250.0, 1e300])
def test_bad_power_values_never_crash_or_go_negative(
    fleet: tuple[SeriesSet, dict[str, float]], value: float
) -> None:
    series, want = fleet
    got = _derive(_mutate(series, lambda n: n == "DCGM_FI_DEV_POWER_USAGE", _set(5, value)))
    assert set(got) <= set(want)


def test_energy_counter_going_backwards_never_inflates_energy(
    fleet: tuple[SeriesSet, dict[str, float]],
) -> None:
    series, want = fleet

    def back(t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v[v.size // 2 :] -= v[v.size // 2] * 0.5
        return t, v

    got = _derive(_mutate(series, lambda n: n == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", back))
    for key, joules in want.items():
        assert got.get(key, 0.0) <= joules * 1.02, key


def test_repeated_timestamps_count_once(fleet: tuple[SeriesSet, dict[str, float]]) -> None:
    series, want = fleet

    def dup(t: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.insert(t, 2, t[2]), np.insert(v, 2, v[2])

    got = _derive(_mutate(series, lambda n: True, dup))
    for key, joules in want.items():
        assert got[key] == pytest.approx(joules, rel=0.02), key


def test_negative_counter_values_never_give_negative_tokens(
    fleet: tuple[SeriesSet, dict[str, float]],
) -> None:
    series, _ = fleet
    _derive(_mutate(series, lambda n: n.endswith("_total"), _set(10, -5.0)))


def test_infinite_energy_counter_sample_is_not_stored_as_infinite_energy(
    fleet: tuple[SeriesSet, dict[str, float]],
) -> None:
    series, _ = fleet
    _derive(_mutate(series, lambda n: n == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", _set(7, np.inf)))


def test_ten_minutes_of_clock_skew(fleet: tuple[SeriesSet, dict[str, float]]) -> None:
    """One node's exporter 10 minutes ahead: its samples land later, nothing is double-counted."""
    series, want = fleet
    skewed = SeriesSet({k: (t + (600.0 if dict(k.labels).get("Hostname", "").startswith(
        "node-a") else 0.0), v) for k, (t, v) in series.series.items()})  # fmt: skip
    got = _derive(skewed)
    for key, joules in want.items():
        assert got.get(key, 0.0) <= joules * 1.02, key


def test_100k_series_and_10kb_label_values() -> None:
    big = "x" * 10_000 + '"\\\n#{}'
    lines = [f'wl_g{{i="{i}"}} {i} 1' for i in range(100_000)]
    escaped = big.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    lines += [f'wl_big{{v="{escaped}",n="{n}"}} {n} 1' for n in range(5)]
    got = read_openmetrics(io.BytesIO(("\n".join(lines) + "\n# EOF\n").encode()))
    assert len(got) == 100_005
    bigs = [k for k in got.series if k.name == "wl_big"]
    assert len(bigs) == 5 and all(dict(k.labels)["v"] == big for k in bigs)
