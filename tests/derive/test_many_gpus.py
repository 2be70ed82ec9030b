"""Distinct GPUs and replicas per bucket stay exact for deployments far past 64 members."""

from __future__ import annotations

import math

import numpy as np
import pytest

from wattlens.derive import DeriveOptions, Deriver
from wattlens.telemetry.records import SeriesKey, SeriesSet, make_labels

STEP = 30.0
N_GPUS = 130  # more than two uint64 words of members
N_REPLICAS = 100
T = np.arange(10.0, 900.0 + 1, 10.0)


def _gpu_key(i: int) -> SeriesKey:
    labels = {
        "gpu": str(i % 8),
        "UUID": f"GPU-{i:04d}",
        "modelName": "NVIDIA H100 80GB HBM3",
        "Hostname": f"node-{i // 8:02d}",
        "namespace": "llm",
        "pod": f"big-{i // 8}",  # a StatefulSet pod per node: workload "big"
        "container": "vllm",
    }
    return SeriesKey("DCGM_FI_DEV_POWER_USAGE", make_labels(labels))


def _running_key(j: int) -> SeriesKey:
    labels = {"model_name": "m", "engine": "0", "namespace": "llm", "pod": f"big-{j}"}
    return SeriesKey("vllm:num_requests_running", make_labels({**labels, "container": "vllm"}))


def _planted() -> tuple[SeriesSet, dict[int, set[int]]]:
    """Each GPU reports at a random ~60% of the scrapes; returns the series and, per bucket id,
    the set of GPUs that reported in it (the truth the derivation must count)."""
    rng = np.random.default_rng(7)
    ss = SeriesSet()
    truth: dict[int, set[int]] = {}
    for i in range(N_GPUS):
        keep = rng.random(T.size) < 0.6
        t = T[keep]
        ss.add(_gpu_key(i), t, np.full(t.size, 400.0))
        for ts in t.tolist():
            truth.setdefault(math.ceil(ts / STEP), set()).add(i)
    for j in range(N_REPLICAS):
        ss.add(_running_key(j), T, np.full(T.size, 2.0))
    return ss, truth


def _by_bucket(records) -> dict[int, object]:
    assert {r.deployment_id for r in records} == {"llm/big"}
    return {round(r.ts_end_s / STEP): r for r in records}


@pytest.mark.parametrize("how", ["whole", "grouped", "per-scrape"])
def test_distinct_gpu_count_is_exact_past_64_gpus(how: str) -> None:
    ss, truth = _planted()
    d = Deriver(DeriveOptions(step_s=STEP))
    if how == "whole":
        d.feed(ss)
    elif how == "grouped":
        d.feed(ss, max_samples=40)  # members of one bucket arrive in many groups
    else:
        for ts in T.tolist():  # one scrape at a time: bit sets OR-ed across batches
            one = SeriesSet()
            for key, (t, v) in ss.series.items():
                sel = t == ts
                if sel.any():
                    one.add(key, t[sel], v[sel])
            d.feed(one)
    infos, records = d.drain()
    got = _by_bucket(records)
    assert set(got) == set(truth)
    assert max(len(s) for s in truth.values()) > 64  # the planted truth needs more than a word
    for bucket, members in truth.items():
        assert got[bucket].gpu_count == len(members), bucket
    # 100 replicas each running 2 requests: the deployment runs 200.
    assert {got[b].requests_running for b in truth} == {2.0 * N_REPLICAS}
    (info,) = infos
    assert info.gpu_count == N_GPUS
