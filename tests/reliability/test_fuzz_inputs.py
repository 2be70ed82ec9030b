"""Hostile or broken input (issue 14): property and fuzz tests of every file/text reader.

Each reader must give correct data or a clean `WattlensError`: never another exception, never
a hang. `make test` runs a few thousand cases per target; `make reliability` sets
WATTLENS_FUZZ_EXAMPLES=100000.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattlens.config import load_config
from wattlens.core.errors import WattlensError
from wattlens.plan.sweetspot_data import parse_sweetspot_csv
from wattlens.plan.traces import load_trace
from wattlens.telemetry.omwrite import format_openmetrics
from wattlens.telemetry.openmetrics import read_openmetrics
from wattlens.telemetry.rangejson import read_range_json
from wattlens.telemetry.records import SeriesKey, SeriesSet, make_labels

from .procs import FUZZ_EXAMPLES

FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,  # the same cases on every run: a failure reproduces
    suppress_health_check=list(HealthCheck),
)

names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,20}", fullmatch=True)
label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: not n.startswith("__")
)
# Label values: any text, quotes, backslashes, '#', newlines and non-ASCII included (no NUL:
# the reader takes text files).
label_values = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                       min_size=1, max_size=40)  # fmt: skip
numbers = st.floats(allow_nan=True, allow_infinity=True)
stamps = st.floats(min_value=0, max_value=4e9, allow_nan=False)


@st.composite
def series_sets(draw: st.DrawFn) -> SeriesSet:
    out = SeriesSet()
    n = draw(st.integers(1, 4))
    for _ in range(n):
        labels = draw(st.dictionaries(label_names, label_values, max_size=3))
        key = SeriesKey(draw(names), make_labels(labels))
        ts = np.unique(np.array(draw(st.lists(stamps, min_size=1, max_size=5))))
        vals = np.array([draw(numbers) for _ in ts], dtype=np.float64)
        out.series[key] = (ts, vals)
    return out


@FUZZ
@given(series_sets())
def test_openmetrics_round_trip(series: SeriesSet) -> None:
    """What wattlens writes it reads back exactly: values (NaN, Inf), stamps, hostile labels."""
    text = format_openmetrics(series)
    got = read_openmetrics(io.BytesIO(text.encode()), on_warning=lambda _: None)
    assert set(got.series) == set(series.series)
    for key, (t, v) in series.series.items():
        gt, gv = got.series[key]
        np.testing.assert_array_equal(gt, t)
        np.testing.assert_array_equal(gv, v)  # NaN equals NaN here


om_lines = st.one_of(
    st.sampled_from(["# EOF", "# TYPE a counter", "# TYPE a gauge", "# UNIT a_s s", "# HELP a x",
                     "a_total 1 2", "a 1 2", 'a{b="c"} 1 2', "a_total 0 1 # {x=\"y\"} 1",
                     "", "#", "a{", 'a{b="} 1 2', "a 1 nan", "a NaN 1", "a 1 1e400"]),
    st.text(max_size=60),
)  # fmt: skip


@FUZZ
@given(st.lists(om_lines, max_size=12), st.booleans())
def test_openmetrics_garbage_is_refused_cleanly(lines: list[str], eof: bool) -> None:
    text = "\n".join(lines) + ("\n# EOF\n" if eof else "")
    try:
        got = read_openmetrics(io.BytesIO(text.encode()), on_warning=lambda _: None)
    except WattlensError:
        return
    for t, _ in got.series.values():  # accepted: sorted, finite stamps
        assert np.all(np.isfinite(t)) and np.all(np.diff(t) > 0)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=8,
)  # fmt: skip
json_leaves = st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10)
results = st.lists(
    st.fixed_dictionaries(
        {"metric": st.dictionaries(st.sampled_from(["__name__", "pod", "a"]), json_leaves,
                                   max_size=3),
         "values": st.lists(st.lists(json_leaves, max_size=3), max_size=4)}
    ), max_size=3,
)  # fmt: skip
documents = st.one_of(
    json_values,
    results,
    st.builds(lambda r: {"status": "success", "data": {"resultType": "matrix", "result": r}},
              results),
)  # fmt: skip


@FUZZ
@given(documents)
def test_range_json_is_data_or_a_clean_error(doc: object) -> None:
    try:
        text = json.dumps(doc)
    except ValueError:
        return
    try:
        got = read_range_json(io.StringIO(text))
    except WattlensError:
        return
    for t, v in got.series.values():
        assert t.dtype == np.float64 and v.dtype == np.float64 and t.shape == v.shape


toml_values = st.one_of(
    st.integers(-(2**40), 2**40).map(str),
    st.floats(allow_nan=True).map(lambda f: repr(f) if math.isfinite(f) else
                                  ("nan" if f != f else ("inf" if f > 0 else "-inf"))),
    st.text(max_size=20).map(json.dumps),
    st.sampled_from(["true", "[]", "[1, 2]", "{}", '"30s"', '"1h"', '"-5s"', '"http://x:9"']),
)  # fmt: skip
sections = st.sampled_from(["backend", "scrape", "collect", "carbon", "store", "web", "thresholds",
                            "retention", "bogus"])  # fmt: skip
keys = st.sampled_from(["prometheus_url", "interval", "step", "pue", "timeout", "path", "port",
                        "host", "backfill", "raw", "token", "cors_origins", "x"])  # fmt: skip


@FUZZ
@given(st.lists(st.tuples(sections, keys, toml_values), max_size=5), st.text(max_size=30),
       st.dictionaries(st.sampled_from(["WATTLENS_SCRAPE_INTERVAL", "WATTLENS_CARBON_PUE",
                                        "WATTLENS_BACKEND_TIMEOUT", "WATTLENS_WEB_PORT"]),
                       st.text(max_size=12), max_size=2))  # fmt: skip
def test_config_loader_is_config_or_a_clean_error(
    entries: list[tuple[str, str, str]], junk: str, environ: dict[str, str]
) -> None:
    body = "".join(f"[{s}]\n{k} = {v}\n" for s, k, v in entries) + junk
    path = _scratch("wattlens.toml")
    path.write_text(body, encoding="utf-8", errors="surrogatepass")
    try:
        load_config(path, environ=environ)
    except WattlensError:
        pass
    except UnicodeEncodeError:
        pass  # a lone surrogate cannot be written as UTF-8: not a file a user could have


csv_cells = st.one_of(
    st.sampled_from(["", "nan", "inf", "-1", "0", "1e308", "1e999", "#", "x", "8", "250.5"]),
    st.text(max_size=8),
)
csv_headers = st.lists(st.sampled_from(["n_in", "n_out", "energy_joules", "joules_per_output_token",
                                        "concurrency", "batch", "x"]), max_size=5)  # fmt: skip


@FUZZ
@given(csv_headers, st.lists(st.lists(csv_cells, max_size=5), max_size=8))
def test_planning_csv_is_data_or_a_clean_error(header: list[str], rows: list[list[str]]) -> None:
    text = "\n".join([",".join(header), *(",".join(r) for r in rows)])
    with contextlib.suppress(WattlensError):
        parse_sweetspot_csv(text)


@FUZZ
@given(json_values)
def test_trace_files_are_data_or_a_clean_error(doc: object) -> None:
    path = _scratch("trace.json")
    try:
        path.write_text(json.dumps(doc))
    except ValueError:
        return
    try:
        cdf = load_trace(path)
    except WattlensError:
        return
    assert np.all(np.diff(cdf.knots) > 0) and cdf.fractions[-1] <= 1.0 + 1e-9


_SCRATCH: dict[str, Path] = {}


def _scratch(name: str) -> Path:
    """One scratch file per name for the whole session (hypothesis reruns cases many times)."""
    if name not in _SCRATCH:
        import tempfile

        _SCRATCH[name] = Path(tempfile.mkdtemp(prefix="wattlens-fuzz-")) / name
    return _SCRATCH[name]
