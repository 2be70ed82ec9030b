"""Request-length bucket counters differenced a batch at a time (derive.histograms).

Expected rows are worked out by hand from the planted readings in each docstring.
"""

from __future__ import annotations

import numpy as np

from wattlens.derive.histograms import LengthHistograms
from wattlens.telemetry.records import SeriesKey, SeriesSet

PROMPT = "vllm:request_prompt_tokens_bucket"
GEN = "vllm:request_generation_tokens_bucket"


def _key(name: str, le: str, pod: str, **more: str) -> SeriesKey:
    labels = {"le": le, "namespace": "llm", "pod": pod, **more}
    return SeriesKey(name, tuple(sorted(labels.items())))


def test_many_series_in_one_batch_are_each_differenced_and_summed_per_deployment() -> None:
    """Two pods of deployment llm/qwen and one of llm/olmo, 30 s intervals.
    qwen pod a, prompt le=100: 1, 4 (t 10, 20) | 9 (t 40)   -> (0, 30]: 3; (30, 60]: 5
    qwen pod b, prompt le=100: 2, 2, 7 (t 5, 25, 35)        -> (0, 30]: 0; (30, 60]: 5
    qwen pod a, output le=10: 0, 6 (t 10, 50)               -> (30, 60]: 6
    olmo-0, prompt le=100: 5 (t 10), then a NaN and -1      -> baseline only, no rows
    Rows come out sorted by deployment, interval end, kind, le."""
    a, b = "qwen-7d4b9c8f5-x2k9p", "qwen-7d4b9c8f5-m4n7q"
    batch = SeriesSet(
        {
            _key(PROMPT, "100.0", a): (np.array([10.0, 20.0]), np.array([1.0, 4.0])),
            _key(PROMPT, "100.0", b): (np.array([5.0, 25.0, 35.0]), np.array([2.0, 2.0, 7.0])),
            _key(GEN, "10.0", a): (np.array([10.0, 50.0]), np.array([0.0, 6.0])),
            _key(PROMPT, "100.0", "olmo-0"): (
                np.array([10.0, 20.0, 30.0]),
                np.array([5.0, np.nan, -1.0]),
            ),
        }
    )
    h = LengthHistograms(30.0)
    assert h.feed(batch) == 2 + 3 + 2 + 1  # readings used, baselines included
    h.feed(SeriesSet({_key(PROMPT, "100.0", a): (np.array([40.0]), np.array([9.0]))}))
    got = h.drain()
    assert list(zip(*got.values(), strict=True)) == [
        ("llm/qwen", 30.0, "prompt", 100.0, 3.0),
        ("llm/qwen", 60.0, "generation", 10.0, 6.0),
        ("llm/qwen", 60.0, "prompt", 100.0, 10.0),
    ]


def test_series_of_one_stream_continue_each_other_within_a_batch() -> None:
    """Two series that differ only in `instance` are one stream: readings 2, 5 (t 10, 20) on
    instance x, then 9 (t 40) on instance y: increments 3 into (0, 30] and 4 into (30, 60]."""
    pod = "qwen-7d4b9c8f5-x2k9p"
    batch = SeriesSet(
        {
            _key(PROMPT, "+Inf", pod, instance="x"): (np.array([10.0, 20.0]), np.array([2.0, 5.0])),
            _key(PROMPT, "+Inf", pod, instance="y"): (np.array([40.0]), np.array([9.0])),
        }
    )
    h = LengthHistograms(30.0)
    h.feed(batch)
    got = h.drain()
    assert got["ts_end_s"] == [30.0, 60.0] and got["count"] == [3.0, 4.0]
    assert got["le"] == [float("inf")] * 2


def test_drain_keeps_open_intervals_and_adds_later_readings_to_them() -> None:
    """Readings 0, 1 (t 10, 20), drain up to 0: nothing; then 3 (t 25), drain up to 30:
    (0, 30] holds 1 + 2 = 3, once; a second drain has nothing left."""
    key = _key(PROMPT, "1.0", "llm-0")
    h = LengthHistograms(30.0)
    h.feed(SeriesSet({key: (np.array([10.0, 20.0]), np.array([0.0, 1.0]))}))
    assert h.drain(0.0)["count"] == []
    h.feed(SeriesSet({key: (np.array([25.0]), np.array([3.0]))}))
    assert h.drain(30.0)["count"] == [3.0]
    assert h.drain()["count"] == []
