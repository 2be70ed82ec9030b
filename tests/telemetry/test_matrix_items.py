"""`matrix_items` reads a Prometheus matrix answer as `json.loads` would, or declines."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wattlens.telemetry.rangejson import matrix_columns, matrix_items, matrix_rows, series_keys
from wattlens.telemetry.records import SeriesKey


def _answer(result: list) -> bytes:
    body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    return json.dumps(body, separators=(",", ":")).encode()


def test_same_as_json_including_awkward_labels_and_special_values() -> None:
    result = [
        {"metric": {"__name__": "x", "pod": 'a"]]}', "uni": "é"},
         "values": [[1700000000.125, "1.5"], [1700000060, "NaN"], [1700000120, "+Inf"]]},
        {"metric": {"__name__": "y"}, "values": []},
        {"metric": {}, "values": [[1700000000, "-Inf"], [1700000001, "2e-3"]]},
    ]  # fmt: skip
    got = matrix_items(_answer(result))
    assert got is not None and len(got) == len(result)
    for (metric, t, v), want in zip(got, result, strict=True):
        assert metric == want["metric"]
        assert t.tolist() == [float(p[0]) for p in want["values"]]
        np.testing.assert_array_equal(v, [float(p[1]) for p in want["values"]])


@pytest.mark.parametrize(
    "body",
    [
        b'{"status":"success","data":{"resultType":"vector","result":[]}}',
        b'{"status": "success", "data": {"resultType": "matrix", "result": []}}',  # not compact
        b'{"status":"success","data":{"resultType":"matrix","result":[{"values":[[1,"2"]],'
        b'"metric":{}}]}}',  # values before metric
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},'
        b'"values":[[1,"x"]]}]}}',  # not a number
        b'{"status":"error","errorType":"bad_data","error":"parse error"}',
    ],
)
def test_declines_what_it_does_not_recognise(body: bytes) -> None:
    assert matrix_items(body) is None


def test_matrix_rows_of_columns_reuse_keys_across_answers() -> None:
    result = [
        {"metric": {"__name__": "x", "pod": "p", "a": "1"}, "values": [[1.5, "2"], [3, "4"]]},
        {"metric": {"__name__": "y"}, "values": []},
        {"metric": {"pod": "q"}, "values": [[5, "6"]]},  # no name: the fallback names it
    ]
    known: dict[bytes, SeriesKey] = {}
    for _ in range(2):  # the second answer finds the named series' keys in `known`
        m = matrix_columns(_answer(result))
        assert m is not None
        got = [(k, t.tolist(), v.tolist()) for k, t, v in matrix_rows(m, "sel", known)]
        assert got == [
            (SeriesKey("x", (("a", "1"), ("pod", "p"))), [1.5, 3.0], [2.0, 4.0]),
            (SeriesKey("y", ()), [], []),
            (SeriesKey("sel", (("pod", "q"),)), [5.0], [6.0]),
        ]
        assert sorted(known.values()) == [got[0][0], got[1][0]]


def test_series_keys_share_label_pairs_and_equal_sorted_labels() -> None:
    # a fleet's series share most labels: one pair object each, not one per series (issue #11)
    texts = [
        b'{"__name__":"m","pod":"p","le":"' + le + b'","namespace":"n"}' for le in (b"1", b"2")
    ]
    a, b = series_keys(texts, "sel", {})
    assert a == SeriesKey("m", (("le", "1"), ("namespace", "n"), ("pod", "p")))
    assert b == SeriesKey("m", (("le", "2"), ("namespace", "n"), ("pod", "p")))
    assert a.labels[1] is b.labels[1] and a.labels[2] is b.labels[2]
    assert a.name is b.name
