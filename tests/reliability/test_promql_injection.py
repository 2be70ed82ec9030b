"""PromQL injection (issue 14): every label value wattlens puts into a query goes through
`selector()`, checked here against a real Prometheus holding series whose label values are the
attacks themselves. A value selects exactly the series carrying it, and nothing else: never a
`vector(1)`, never another series, never a parse error."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servers import Server, start_prometheus
from wattlens.telemetry.omwrite import write_openmetrics
from wattlens.telemetry.promapi import PrometheusClient, selector
from wattlens.telemetry.records import SeriesKey, SeriesSet, make_labels

from .procs import FUZZ_EXAMPLES

pytestmark = pytest.mark.integration

PLANTED = [
    '"} or vector(1) or {"',
    '"} or up or {x="',
    "a'b\"c",
    "back\\slash\\",
    '\\"} or vector(1) or {x=\\"',
    '{x=~".*"}',
    "new\nline",
    "ünï\u202ecödé ✓",
    "plain",
]


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, float]]:
    root = tmp_path_factory.mktemp("promql")
    t = math.floor(time.time() / 60.0) * 60.0 - 600.0
    series = SeriesSet()
    for i, value in enumerate(PLANTED):
        key = SeriesKey("wl_probe", make_labels({"x": value}))
        series.series[key] = (np.array([t - 60.0, t]), np.array([float(i), float(i)]))
    path = root / "probe.om"
    write_openmetrics(series, path)
    with start_prometheus(root, backfill_openmetrics=path) as server:
        yield server, t


def _select(client: PrometheusClient, value: str, t: float) -> list[tuple[dict[str, str], float]]:
    return [(labels, v) for labels, _, v in client.instant(selector("wl_probe", x=value), t)]


def test_planted_attacks_select_only_themselves(prom: tuple[Server, float]) -> None:
    server, t = prom
    with PrometheusClient(server.url, environ={}) as client:
        for i, value in enumerate(PLANTED):
            got = _select(client, value, t)
            assert got == [({"__name__": "wl_probe", "x": value}, float(i))], value


@settings(max_examples=min(FUZZ_EXAMPLES, 5000), deadline=None, database=None, derandomize=True)
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_any_value_selects_nothing_it_should_not(value: str) -> None:
    server, t = _PROM[0]
    with PrometheusClient(server.url, environ={}) as client:
        got = _select(client, value, t)
    want = [({"__name__": "wl_probe", "x": value}, float(PLANTED.index(value)))] if (
        value in PLANTED) else []  # fmt: skip
    assert got == want


_PROM: list[tuple[Server, float]] = []


@pytest.fixture(autouse=True)
def _share(prom: tuple[Server, float]) -> None:
    _PROM[:] = [prom]


def test_written_file_is_what_prometheus_stores(prom: tuple[Server, float], tmp_path: Path) -> None:
    """The probe series went through OpenMetrics and promtool unchanged (the check above would
    pass vacuously if promtool had rewritten the label values)."""
    server, t = prom
    with PrometheusClient(server.url, environ={}) as client:
        values = {labels["x"] for labels, _, _ in client.instant('{__name__="wl_probe"}', t)}
    assert values == set(PLANTED)
