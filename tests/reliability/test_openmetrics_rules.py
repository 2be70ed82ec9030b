"""OpenMetrics import (issue 14): valid files are read in full; files that break the family rules
are refused with the line and the rule, or imported with a warning where refusing would lose
history. Expected values are written by hand from the example lines."""

from __future__ import annotations

import io

import numpy as np
import pytest

from wattlens.core.errors import InputError
from wattlens.telemetry.openmetrics import read_openmetrics
from wattlens.telemetry.records import SeriesSet


def read(text: str) -> tuple[SeriesSet, list[str]]:
    warnings: list[str] = []
    out = read_openmetrics(io.BytesIO(text.encode()), on_warning=warnings.append)
    return out, warnings


def values(s: SeriesSet) -> dict[tuple[str, tuple[tuple[str, str], ...]], list[list[float]]]:
    return {(k.name, k.labels): [t.tolist(), v.tolist()] for k, (t, v) in s.series.items()}


VALID = {
    "exemplars": (
        '# TYPE a counter\n# HELP a Requests.\na_total 0 123 # {a="b"} 0.5\n'
        'a_total 2 124 # {trace_id="x"} 0.5 123.5\n# EOF\n',
        {("a_total", ()): [[123.0, 124.0], [0.0, 2.0]]},
    ),
    "one exemplar, no exemplar timestamp": (
        '# TYPE a counter\na_total 0 123 # {a="b"} 0.5\n# EOF\n',
        {("a_total", ()): [[123.0], [0.0]]},
    ),
    "escapes": (
        'a{x="q\\"b\\\\s\\nn"} 1 2\n# EOF\n',
        {("a", (("x", 'q"b\\s\nn'),)): [[2.0], [1.0]]},
    ),
    "hash in label values": (
        'a{x="# not a comment",y="v # {z} 1"} 1 2\n# EOF\n',
        {("a", (("x", "# not a comment"), ("y", "v # {z} 1"))): [[2.0], [1.0]]},
    ),
    "units": (
        "# TYPE energy_joules counter\n# UNIT energy_joules joules\n"
        "energy_joules_total 10 1\nenergy_joules_total 25 2\n# EOF\n",
        {("energy_joules_total", ()): [[1.0, 2.0], [10.0, 25.0]]},
    ),
    "_created series": (
        "# TYPE r counter\nr_total 3 10\nr_created 5 10\n# EOF\n",
        {("r_total", ()): [[10.0], [3.0]], ("r_created", ()): [[10.0], [5.0]]},
    ),
    "histogram family": (
        '# TYPE h histogram\nh_bucket{le="1"} 1 5\nh_bucket{le="+Inf"} 2 5\n'
        "h_count 2 5\nh_sum 1.5 5\nh_created 1 5\n# EOF\n",
        {
            ("h_bucket", (("le", "1"),)): [[5.0], [1.0]],
            ("h_bucket", (("le", "+Inf"),)): [[5.0], [2.0]],
            ("h_count", ()): [[5.0], [2.0]],
            ("h_sum", ()): [[5.0], [1.5]],
            ("h_created", ()): [[5.0], [1.0]],
        },
    ),
}


@pytest.mark.parametrize("name", VALID)
def test_valid_files_are_read_in_full(name: str) -> None:
    text, want = VALID[name]
    got, warnings = read(text)
    assert values(got) == want
    assert warnings == []


def test_nan_and_inf_values_are_kept() -> None:
    got, _ = read("a 1 1\na NaN 2\na +Inf 3\na -Inf 4\n# EOF\n")
    (t, v) = next(iter(got.series.values()))
    assert t.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert v[0] == 1.0 and np.isnan(v[1]) and v[2] == np.inf and v[3] == -np.inf


INVALID = {
    "unknown type": ("# TYPE a meter\na 1 1\n# EOF\n", 1, "not one of"),
    "type twice": ("# TYPE a gauge\n# TYPE a gauge\na 1 1\n# EOF\n", 2, "second '# TYPE'"),
    "help twice": ("# HELP a x\n# HELP a y\na 1 1\n# EOF\n", 2, "second '# HELP'"),
    "metadata after samples": ("a 1 1\n# TYPE a gauge\n# EOF\n", 2, "after its samples"),
    "type after its _total samples": (
        "a_total 1 1\n# TYPE a counter\n# EOF\n",
        2,
        "after its samples",
    ),
    "unit not in the name": ("# TYPE a gauge\n# UNIT a seconds\na 1 1\n# EOF\n", 2, "_seconds"),
    "unit on an info family": (
        "# TYPE a_bytes info\n# UNIT a_bytes bytes\na_bytes_info 1 1\n# EOF\n",
        2,
        "no unit",
    ),
    "counter without _total": ("# TYPE a counter\na 1 1\n# EOF\n", 2, "not a sample of counter"),
    "gauge with a _total sample": (
        "# TYPE a gauge\na_total 1 1\n# EOF\n",
        2,
        "not a sample of gauge",
    ),
    "name clash": ("# TYPE a counter\n# TYPE a_total gauge\n# EOF\n", 2, "clashes"),
    "histogram clash": ("# TYPE h_count gauge\n# TYPE h histogram\n# EOF\n", 2, "clashes"),
    "free comment": ("# just a note\na 1 1\n# EOF\n", 1, "must be '# TYPE'"),
    "bad metric name in TYPE": ("# TYPE 1a gauge\n# EOF\n", 1, "not a metric name"),
    "no timestamp": ("a 1\n# EOF\n", 1, "missing value or timestamp"),
    "bad value": ("a one 1\n# EOF\n", 1, "bad value"),
    "no EOF": ("a 1 1\n", None, "no '# EOF'"),
    "content after EOF": ("a 1 1\n# EOF\na 2 2\n", 3, "after '# EOF'"),
}


@pytest.mark.parametrize("name", INVALID)
def test_invalid_files_are_refused_with_line_and_rule(name: str) -> None:
    text, line, rule = INVALID[name]
    with pytest.raises(InputError) as err:
        read(text)
    msg = str(err.value)
    assert rule in msg
    if line is not None:
        assert msg.startswith(f"<stream>:{line}:"), msg


def test_interleaved_families_import_grouped_with_a_warning() -> None:
    got, warnings = read("# TYPE a gauge\n# TYPE b gauge\na 1 1\nb 5 1\na 2 2\nb 6 2\n# EOF\n")
    assert values(got) == {("a", ()): [[1.0, 2.0], [1.0, 2.0]], ("b", ()): [[1.0, 2.0], [5.0, 6.0]]}
    assert len(warnings) == 1 and "<stream>:5:" in warnings[0] and "'a'" in warnings[0]


def test_out_of_order_and_repeated_timestamps_import_sorted_with_a_warning() -> None:
    # A counter written out of order: sorted by time its increments are 5 then 5, never -5.
    got, warnings = read("c_total 10 2\nc_total 5 1\nc_total 15 3\nc_total 99 3\n# EOF\n")
    assert values(got) == {("c_total", ()): [[1.0, 2.0, 3.0], [5.0, 10.0, 15.0]]}
    (note,) = warnings
    assert "1 sample(s) out of time order" in note and "c_total" in note
    assert "1 repeated timestamp(s) (1 with a different value" in note and "first value" in note
