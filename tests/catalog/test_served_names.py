"""Acceptance (#10): real served-model names resolve to the right architecture.

The expected values in data/served_names.csv were written from the models' public config.json
files (layers, KV heads) and model cards (parameters), not from the code under test.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from wattlens.catalog import ModelResolver

_ROWS = [
    row
    for row in csv.DictReader(
        line
        for line in (Path(__file__).parent / "data" / "served_names.csv").open(encoding="utf-8")
        if not line.startswith("#")
    )
]
RESOLVER = ModelResolver(hub_enabled=False, environ={})


def test_the_list_holds_at_least_100_names() -> None:
    assert len(_ROWS) >= 100


@pytest.mark.parametrize("row", _ROWS, ids=[r["served_name"] for r in _ROWS])
def test_served_name_resolves(row: dict[str, str]) -> None:
    m = RESOLVER.resolve(row["served_name"])
    assert m is not None
    assert m.source in ("catalog", "catalog_hf_config"), m.source
    assert m.spec.layers == int(row["layers"])
    assert m.spec.kv_heads == int(row["kv_heads"])
    assert m.spec.total_params == pytest.approx(float(row["params_b"]) * 1e9, rel=0.02)
    if row["dtype"]:
        assert m.dtype == row["dtype"]
    assert m.spec.sources and m.matched_by in ("exact", "core_name", "squashed_name")
