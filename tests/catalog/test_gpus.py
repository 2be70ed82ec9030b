"""GPU catalog: lookups and datasheet spot checks."""

from __future__ import annotations

import re

import pytest

from wattlens.catalog import all_gpus, get_gpu, gpu_id_for_dcgm_name
from wattlens.core.errors import CatalogError

GIB = 2**30

REQUIRED_IDS = {
    "V100-SXM2-32GB", "A100-40GB", "A100-80GB", "RTX-A6000", "L40S", "H100-SXM", "H100-PCIe",
    "H200", "B200", "GB200", "GB10", "A10G", "L4",
}  # fmt: skip

# Exact DCGM modelName label values (dcgm-exporter) -> catalog id.
DCGM_NAMES = {
    "NVIDIA H100 80GB HBM3": "H100-SXM",
    "NVIDIA A100-SXM4-80GB": "A100-80GB",
    "NVIDIA A100-SXM4-40GB": "A100-40GB",
    "NVIDIA A100 80GB PCIe": "A100-80GB-PCIe",
    "NVIDIA RTX A6000": "RTX-A6000",
    "NVIDIA L40S": "L40S",
    "Tesla V100-SXM2-32GB": "V100-SXM2-32GB",
    "NVIDIA H200": "H200",
    "NVIDIA B200": "B200",
    "NVIDIA GB200": "GB200",
    "NVIDIA GB10": "GB10",
    "NVIDIA H100 PCIe": "H100-PCIe",
    "NVIDIA A10G": "A10G",
    "NVIDIA L4": "L4",
}


def test_required_gpus_present() -> None:
    assert {g.id for g in all_gpus()} >= REQUIRED_IDS


@pytest.mark.parametrize(("dcgm", "gpu_id"), DCGM_NAMES.items())
def test_dcgm_model_names_resolve(dcgm: str, gpu_id: str) -> None:
    assert gpu_id_for_dcgm_name(dcgm) == gpu_id
    assert get_gpu(dcgm).id == gpu_id


@pytest.mark.parametrize(
    ("spelling", "gpu_id"),
    [
        ("h100", "H100-SXM"),
        ("H100 SXM", "H100-SXM"),
        ("h100-sxm", "H100-SXM"),
        ("a100 80gb", "A100-80GB"),
        ("A100", "A100-80GB"),
        ("a6000", "RTX-A6000"),
        ("RTX A6000", "RTX-A6000"),
        ("gb10", "GB10"),
        ("NVIDIA H100 SXM5 80GB", "H100-SXM"),
        ("  nvidia l40s ", "L40S"),
    ],
)
def test_tolerant_spellings(spelling: str, gpu_id: str) -> None:
    assert get_gpu(spelling).id == gpu_id


def test_unknown_gpu_raises_with_suggestion() -> None:
    with pytest.raises(CatalogError, match="H100-SXM") as exc:
        get_gpu("H10")
    assert "'H10'" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_unknown_dcgm_name_is_none() -> None:
    assert gpu_id_for_dcgm_name("NVIDIA Quantum 9000") is None
    assert gpu_id_for_dcgm_name("") is None
    assert gpu_id_for_dcgm_name(None) is None


def test_h100_sxm_datasheet() -> None:
    # NVIDIA H100 datasheet (2023): 80 GB, 3.35 TB/s, FP16 1,979 TF and FP8 3,958 TF with
    # sparsity (dense = half), up to 700 W. NRP methodology (2026): 225 W measured idle.
    h = get_gpu("H100-SXM")
    assert h.memory_bytes == 80 * GIB
    assert h.memory_bandwidth_bytes_per_s == pytest.approx(3.35e12)
    assert h.fp16_flops == pytest.approx(1979e12 / 2, rel=1e-3)
    assert h.fp8_flops == pytest.approx(3958e12 / 2, rel=1e-3)
    assert h.tdp_watts == 700
    assert h.idle_watts == 225
    assert h.generation == "Hopper"
    assert "7g.80gb" in h.mig_profiles


def test_other_datasheet_values() -> None:
    # A100 datasheet (2021): 80 GB SXM 2,039 GB/s, 40 GB 1,555 GB/s, 312 TF FP16 dense, 400 W.
    assert get_gpu("A100-80GB").memory_bandwidth_bytes_per_s == pytest.approx(2039e9)
    assert get_gpu("A100-40GB").memory_bandwidth_bytes_per_s == pytest.approx(1555e9)
    assert get_gpu("A100-80GB").fp16_flops == pytest.approx(312e12)
    assert get_gpu("A100-80GB").fp8_flops is None  # Ampere has no FP8 tensor cores
    # RTX A6000 datasheet (2021): 48 GB, 768 GB/s, 309.7 TF sparse tensor, 300 W.
    a6000 = get_gpu("RTX-A6000")
    assert (a6000.memory_bytes, a6000.memory_bandwidth_bytes_per_s) == (48 * GIB, 768e9)
    assert a6000.fp16_flops == pytest.approx(309.7e12 / 2, rel=1e-3)
    # H200 datasheet (2024): 141 GB, 4.8 TB/s, 700 W. B200 (2024): 180 GB, 8 TB/s, 1,000 W.
    assert get_gpu("H200").memory_bytes == 141 * GIB
    assert get_gpu("H200").memory_bandwidth_bytes_per_s == pytest.approx(4.8e12)
    assert (get_gpu("B200").memory_bytes, get_gpu("B200").tdp_watts) == (180 * GIB, 1000)
    # 1/W-law catalog (2026): B200 2250/4500 TF, GB200 2500/5000 TF, GB200 1200 W.
    assert get_gpu("B200").fp8_flops == pytest.approx(4500e12)
    assert get_gpu("GB200").fp16_flops == pytest.approx(2500e12)
    assert get_gpu("GB200").tdp_watts == 1200
    # V100 datasheet (2020): 900 GB/s, 125 TF tensor, no FP8.
    v100 = get_gpu("V100-SXM2-32GB")
    assert (v100.memory_bandwidth_bytes_per_s, v100.fp16_flops, v100.fp8_flops) == (
        900e9,
        125e12,
        None,
    )
    # DGX Spark page (2025): 128 GB unified, 273 GB/s.
    assert get_gpu("GB10").memory_bandwidth_bytes_per_s == pytest.approx(273e9)


def test_a100_idle_is_the_nrp_observation() -> None:
    # Seed issue #3 (2026): Kimi-K2.5 idle 670 W on 8x A100, MiniMax-M2.5 idle 447 W on 4x A100.
    expected = (670 + 447) / (8 + 4)
    assert get_gpu("A100-80GB").idle_watts == pytest.approx(expected, abs=0.5)


def test_estimated_idles_follow_the_stated_rule() -> None:
    # gpus.toml header: estimate = TDP x measured ratio (Hopper/Blackwell 225/700, older 93/400).
    new, old = 225 / 700, 93 / 400
    for gid in ("H100-PCIe", "H200", "B200", "GB200", "GB10"):
        g = get_gpu(gid)
        assert g.idle_watts == pytest.approx(g.tdp_watts * new, abs=1.0), gid
        assert any("estimate" in s for s in g.sources), gid
    for gid in ("RTX-A6000", "L40S", "L4", "A10G", "V100-SXM2-32GB"):
        g = get_gpu(gid)
        assert g.idle_watts == pytest.approx(g.tdp_watts * old, abs=1.0), gid
        assert any("estimate" in s for s in g.sources), gid


def test_physical_sanity() -> None:
    mig = re.compile(r"^[1-7]g\.\d+gb(\+me)?$")
    for g in all_gpus():
        assert 0 < g.idle_watts < g.tdp_watts, g.id
        assert g.fp8_flops is None or g.fp8_flops == pytest.approx(2 * g.fp16_flops, rel=0.02)
        assert all(mig.match(p) for p in g.mig_profiles), g.id
        # a profile's memory never exceeds the board's (names are in GB)
        for p in g.mig_profiles:
            assert int(p.split(".")[1].split("gb")[0]) <= g.memory_bytes / GIB + 0.5, (g.id, p)
    assert get_gpu("RTX-A6000").mig_profiles == ()
