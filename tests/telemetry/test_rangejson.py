"""Saved Prometheus API answers (query_range / query) read from files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA

from wattlens.core.errors import InputError
from wattlens.telemetry.rangejson import read_range_json

RANGE = DATA / "prometheus-2.42+query_range-power-exported.json"
VECTOR = DATA / "prometheus-2.42+query-vllm-generation.json"


def test_matrix_with_exported_labels_and_nan() -> None:
    s = read_range_json(RANGE)
    assert len(s) == 2
    gpu0 = next(k for k in s if k.label("gpu") == "0")
    assert gpu0.name == "DCGM_FI_DEV_POWER_USAGE"
    assert gpu0.label("exported_namespace") == "llm" and gpu0.label("namespace") == "gpu-operator"
    assert gpu0.label("__name__") is None
    t, v = s.series[gpu0]
    np.testing.assert_array_equal(t, [1762099200, 1762099230, 1762099260, 1762099290])
    np.testing.assert_array_equal(v, [412.53, 415.1, np.nan, 409.875])


def test_vector_answer() -> None:
    s = read_range_json(VECTOR)
    ((key, (t, v)),) = s.series.items()
    assert key.name == "vllm:generation_tokens_total" and key.label("pod").startswith("llama-8b")
    assert (t.tolist(), v.tolist()) == ([1762099290.123], [27453.0])


def test_bare_result_list_and_data_object(tmp_path: Path) -> None:
    doc = json.loads(RANGE.read_text())
    for i, body in enumerate([doc["data"]["result"], doc["data"]]):
        f = tmp_path / f"{i}.json"
        f.write_text(json.dumps(body))
        assert read_range_json(f).sample_count() == 8


BAD = [
    ("[1, 2", "not JSON"),
    ('{"status":"error","error":"boom"}', "$.status"),
    ('{"status":"success"}', "$.data"),
    ('{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}', "$.data.resultType"),
    ('{"status":"success","data":{"resultType":"matrix","result":{}}}', "$.data.result"),
    ('{"resultType":"matrix","result":[{"values":[]}]}', "$.result[0].metric"),
    ('[{"metric":{"a":1},"values":[]}]', "$[0].metric"),
    ('[{"metric":{},"values":[[1,"2"],[3]]}]', "$[0].values[1]"),
    ('[{"metric":{},"values":[[1,"x"]]}]', "$[0].values[0]"),
    ('[{"metric":{}}]', "$[0]"),
    ('[{"metric":{},"value":"7"}]', "$[0].value"),
    ('"text"', "$"),
]


@pytest.mark.parametrize(("text", "where"), BAD)
def test_bad_shapes_name_file_and_json_path(tmp_path: Path, text: str, where: str) -> None:
    f = tmp_path / "bad.json"
    f.write_text(text)
    with pytest.raises(InputError) as e:
        read_range_json(f)
    assert str(e.value).startswith(f"{f}: ") and where in str(e.value), str(e.value)
