"""Roofline decode step and prefill; references are hand calculations or the 1/W code's
comments (B200 W_s = 2.955 ms for Llama-3.1-70B TP 8, studies/.../scripts/profiles.py)."""

from __future__ import annotations

import numpy as np
import pytest

from wattlens.physics.roofline import (
    decode_step_time_s,
    kv_scan_time_s,
    moe_expert_fraction,
    prefill_flops,
    prefill_time_s,
    weight_stream_time_s,
)


def test_weight_stream_b200_llama70b_matches_paper_projection() -> None:
    # 1/W parameter count for Llama-3.1-70B (embedding once): independent arithmetic here.
    params = 128_256 * 8192 + 80 * (2 * 8192**2 + 2 * 8192 * 8 * 128) + 80 * 3 * 8192 * 28672
    w = weight_stream_time_s(params * 2 / 8, 8.0e12, 80)
    assert w == pytest.approx(2.955e-3, abs=0.001e-3)


def test_decode_step_is_weights_plus_kv_plus_overhead() -> None:
    w, kv, bw = 17.5e9, 40_960.0, 3.35e12
    got = decode_step_time_s(
        128, 4096, weight_bytes_per_gpu=w, kv_bytes_per_token_per_gpu=kv,
        bandwidth_bytes_per_s=bw, layers=80,
    )  # fmt: skip
    expected = (w + 128 * 4096 * kv) / (0.8 * bw) + 80 * 3e-6
    assert got == pytest.approx(expected)
    assert kv_scan_time_s(4096, kv, bw) == pytest.approx(4096 * kv / (0.8 * bw))


def test_compute_bound_when_flops_exceed_the_roofline() -> None:
    args = dict(
        weight_bytes_per_gpu=1e9, kv_bytes_per_token_per_gpu=0.0, bandwidth_bytes_per_s=1e12,
        layers=0, flops_per_token_per_gpu=2e10, peak_flops=1e15,
    )  # fmt: skip
    small, big = decode_step_time_s(np.array([1, 4096]), 0, **args)
    assert small == pytest.approx(1e9 / 0.8e12)  # memory-bound
    assert big == pytest.approx(4096 * 2e10 / 1e15)  # compute-bound


def test_moe_expert_fraction() -> None:
    f = moe_expert_fraction(np.array([1, 8, 10_000]), 128, 8)
    assert f[0] == pytest.approx(8 / 128)
    assert f[1] == pytest.approx(1 - (1 - 8 / 128) ** 8)
    assert f[2] == pytest.approx(1.0)
    assert moe_expert_fraction(5, 0, 0) == 1.0  # dense: every weight every step


def test_prefill_flops_and_time() -> None:
    got = prefill_flops(1000, active_params=7e9, layers=32, attention_heads=32, head_dim=128)
    assert got == 2 * 7e9 * 1000 + 2 * 32 * 32 * 128 * 1000**2
    t = prefill_time_s(
        1000, active_params=7e9, layers=32, attention_heads=32, head_dim=128, tp=1,
        peak_flops=1e15, weight_bytes_per_gpu=14e9, bandwidth_bytes_per_s=3.35e12,
        chunk_tokens=512,
    )  # fmt: skip
    memory = 2 * (14e9 / (0.8 * 3.35e12) + 32 * 3e-6)
    assert t == pytest.approx(max(got / 1e15, memory))
