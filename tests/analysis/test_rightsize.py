"""Right-sizing memory arithmetic against hand calculations from model cards and datasheets."""

from __future__ import annotations

import numpy as np
import pytest

from wattlens.analysis import AnalysisOptions, min_gpus, right_size
from wattlens.analysis.data import Series
from wattlens.analysis.rightsize import memory_per_gpu_bytes, served_dtype, tp_sizes
from wattlens.catalog import get_gpu, get_model

OPTS = AnalysisOptions.default()
GIB = 2.0**30


def test_llama_70b_kv_and_weights_by_hand() -> None:
    # Llama-3.1-70B: 80 layers, 8 KV heads of 128, bf16 -> 2*80*8*128*2 = 327,680 B/token; at
    # TP 2 each GPU holds 4 heads: 163,840 B/token; 8,192 tokens = 512 blocks of 16.
    m = get_model("llama-3.1-70b")
    mem = memory_per_gpu_bytes(m, 2, "bf16", 1, OPTS)
    assert mem["kv_per_token"] == 163_840
    assert mem["kv"] == 163_840 * 8192
    assert mem["weights"] == pytest.approx(70.6e9)  # 141.2 GB / 2
    assert mem["overhead"] == 2 * GIB + 392 * 2**20


@pytest.mark.parametrize(
    ("model", "gpu", "dtype", "concurrency", "want"),
    [
        ("llama-3.1-70b", "H100-SXM", "bf16", 1, 2),  # 70.6 + 1.3 + 2.6 GB <= 77.3 GB
        ("llama-3.1-70b", "A100-80GB", "bf16", 14, 4),  # TP 2: 70.6 + 18.8 + 2.6 GB > 77.3
        ("llama-3.1-8b", "H100-SXM", "bf16", 25, 1),  # 16.1 + 26.8 + 2.1 GB
        ("llama-3.1-8b", "RTX-A6000", "bf16", 1, 1),  # 16.1 + 1.1 + 2.1 GB <= 46.4 GB
        ("qwen3-32b", "A100-80GB", "bf16", 1, 1),  # 65.6 + 2.1 + 2.1 GB
        ("llama-3.1-70b", "H100-SXM", "fp8", 1, 1),  # 70.6 + 1.3 (fp8 KV) + 2.1 GB
    ],
)
def test_min_gpus(model: str, gpu: str, dtype: str, concurrency: int, want: int) -> None:
    assert min_gpus(get_model(model), get_gpu(gpu), dtype, concurrency, OPTS) == want


def test_tp_sizes_divide_the_heads() -> None:
    assert tp_sizes(get_model("olmo-2-32b")) == [1, 2, 4, 8]  # 40 heads: 16 and 32 do not divide
    assert 64 in tp_sizes(get_model("llama-3.1-405b"))


@pytest.mark.parametrize(
    ("name", "dtype"),
    [
        ("Qwen/Qwen3-235B-A22B-FP8", "fp8"),
        ("hugging-quants/Meta-Llama-3.1-70B-Instruct-AWQ-INT4", "int4"),
        ("meta-llama/Llama-3.1-70B-Instruct", "bf16"),
    ],
)
def test_served_dtype_from_name(name: str, dtype: str) -> None:
    from wattlens.catalog import find_model

    assert served_dtype(find_model(name), name)[0] == dtype


def _series(n_gpu: int, watts: float, tok_s: float, running: float, n: int = 120) -> Series:
    dt = np.full(n, 30.0)
    e = np.full(n, watts * 30.0)
    return Series("ns/x", 1e9 + 30 * np.arange(n), dt, e, np.full(n, tok_s * 15),
                  np.full(n, tok_s * 15), np.full(n, running), np.full(n, 1.0),
                  np.full(n, float(n_gpu)), e / 3.6e6 * 200.0)  # fmt: skip


def test_projection_and_savings_arithmetic() -> None:
    # 8 H100 at 800 W serving 20 tok/s; idle 95 W/GPU -> 2 GPUs: saves 6 x 95 = 570 W.
    s = _series(8, 800.0, 20.0, 0.3)
    rs = right_size(s, get_model("llama-3.1-70b"), "H100-SXM", "meta-llama/Llama-3.1-70B", 95.0,
                    OPTS)  # fmt: skip
    assert rs.flagged and rs.recommended_gpu_count == 2
    assert rs.saving_watts == pytest.approx(570.0)
    assert rs.projected_power_watts == pytest.approx(230.0)
    assert rs.projected_joules_per_token == pytest.approx(230.0 / 20.0)
    assert rs.saving_kwh_per_day == pytest.approx(570 * 24 / 1000)
    # 200 g/kWh (co2 column) x 570 W x 8760 h
    assert rs.saving_kg_co2_per_year == pytest.approx(570 * 8760 / 1000 * 0.200)


def test_small_saving_is_not_flagged() -> None:
    # qwen3-32b on 2 A100 drawing 600 W: 1 GPU would do, saving 65 W (11 %, < 200 W).
    s = _series(2, 600.0, 500.0, 2.0)
    rs = right_size(s, get_model("qwen3-32b"), "A100-80GB", "Qwen/Qwen3-32B", 65.0, OPTS)
    assert rs.recommended_gpu_count == 1 and not rs.flagged and rs.status == "right_sized"


def test_catalog_dtype_that_does_not_fit_is_replaced_by_one_that_does() -> None:
    # Qwen3.5-397B bf16 is 794 GB, more than 8 x 77.3 GB; NRP serves it on 8 A100, so smaller.
    s = _series(8, 783.0, 18.0, 0.5)
    rs = right_size(s, get_model("qwen3.5-397b-a17b"), "A100-80GB", "Qwen/Qwen3.5-397B-A17B",
                    88.0, OPTS)  # fmt: skip
    assert rs.assumptions["dtype"] == "fp8"
    assert rs.assumptions["dtype_source"].startswith("inferred")
    assert rs.recommended_gpu_count == 8  # 397 GB of fp8 weights still need TP 8 (49.6 GB/GPU)


def test_peak_concurrency_p99_on_raw_and_max_on_buckets() -> None:
    from wattlens.analysis.rightsize import peak_concurrency

    running = np.concatenate([np.full(990, 2.0), np.full(10, 9.5)])  # 1 % of intervals at 9.5
    raw = _series(1, 100.0, 10.0, 0.0, n=1000)
    raw = Series(**{**{f: getattr(raw, f) for f in raw.__slots__}, "requests_running": running})
    assert peak_concurrency(raw, 0.99) == 3  # the p99 lies between 2 and 9.5: ceil -> 3
    hourly = Series(**{**{f: getattr(raw, f) for f in raw.__slots__},
                       "interval_s": np.full(1000, 3600.0)})  # fmt: skip
    assert peak_concurrency(hourly, 0.99) == 10  # bucket means smooth peaks: take the largest


def test_tier_follows_the_range() -> None:
    from wattlens.analysis.data import tier_for_range

    assert [tier_for_range(d * 86400.0) for d in (1, 3, 7, 14, 30)] == [
        "auto", "auto", "5m", "5m", "1h",
    ]  # fmt: skip


def test_alternative_gpu_type_uses_its_catalog_idle() -> None:
    s = _series(8, 800.0, 20.0, 0.3)
    opts = OPTS.with_(alternative_gpu_types=("H200",))
    rs = right_size(s, get_model("llama-3.1-70b"), "H100-SXM", None, 95.0, opts)
    (alt,) = rs.alternatives
    # H200: 141 GiB x 0.90 = 136 GB holds 141.2 GB of bf16 weights only at TP 2
    assert alt["gpu_type"] == "H200" and alt["gpu_count"] == 2
    assert alt["projected_power_watts"] == pytest.approx(800 - 8 * 95 + 2 * 225)
