"""Open intervals cut to the span energy and tokens both cover (`emit.align_open`)."""

from __future__ import annotations

import numpy as np
import pytest

from wattlens.derive.buckets import pack
from wattlens.derive.emit import align_open

STEP = 30.0


def _cols(n: int, energy: float, tokens: float, e_cov: float) -> dict[str, np.ndarray]:
    nan = np.full(n, np.nan)
    return {
        "ts_end_s": np.full(n, 60.0),  # bucket (30, 60]
        "interval_s": np.full(n, e_cov),
        "energy_joules": np.full(n, energy),
        "co2_grams": np.full(n, energy / 10.0),
        "prompt_tokens": np.full(n, tokens / 2),
        "generation_tokens": np.full(n, tokens / 2),
        "requests_finished": nan.copy(),
        "itl_seconds_sum": nan.copy(),
        "cached_prompt_tokens": nan.copy(),
    }


def test_energy_and_tokens_are_cut_to_the_common_span() -> None:
    # Four deployments, one open row each: GPU read 10 s into the bucket (500 J: 50 W) and
    # 200 tokens since the bucket start, read at 35 s, 45 s, long ago, and exactly at the start.
    keys = pack(np.arange(4), np.full(4, 2))
    ends = {0: [35.0], 1: [45.0, 45.0], 2: [-100.0], 3: [30.0]}
    out = align_open(_cols(4, 500.0, 200.0, 10.0), keys, ends, STEP)
    # dep 0: tokens cover 5 s, energy 10 s -> both over 5 s: 250 J, 200 tokens
    # dep 1: tokens cover 15 s -> both over 10 s: 500 J, 200 x 10/15 tokens
    # dep 2: no recent token reading -> energy kept, tokens unknown
    # dep 3: tokens cover 0 s -> nothing in common: left out
    assert out["interval_s"].tolist() == [5.0, 10.0, 10.0]
    assert out["energy_joules"].tolist() == [250.0, 500.0, 500.0]
    assert out["co2_grams"].tolist() == [25.0, 50.0, 50.0]
    tokens = out["prompt_tokens"] + out["generation_tokens"]
    assert tokens[:2] == pytest.approx([200.0, 200.0 * 10 / 15])
    assert np.isnan(tokens[2])
    power = out["energy_joules"] / out["interval_s"]
    assert power.tolist() == [50.0, 50.0, 50.0]  # power is unchanged by the cut


def test_rows_without_an_engine_keep_their_energy_span() -> None:
    cols = _cols(1, 300.0, np.nan, 12.0)
    out = align_open(cols, pack(np.array([0]), np.array([2])), {}, STEP)
    assert out["interval_s"].tolist() == [12.0] and out["energy_joules"].tolist() == [300.0]
