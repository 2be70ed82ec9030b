"""Frontier comparison specs."""

from __future__ import annotations

import pytest

from wattlens.catalog import all_frontiers, get_frontier, get_gpu
from wattlens.core.errors import CatalogError


def test_nrp_2026_reproduces_the_methodology_example() -> None:
    # NRP methodology page (2026): Qwen3.5-397B on 8x A100 measured 783 W at 3 prompt and
    # 15 generation tok/s -> 5,400 + 1.5 + 90 = 5,491.5 W -> 7.0x.
    f = get_frontier("nrp-2026")
    assert f.legacy
    watts = f.idle_floor_watts + 3 * f.prompt_joules_per_token + 15 * f.generation_joules_per_token
    assert watts == pytest.approx(5491.5)
    assert round(watts / 783, 1) == 7.0


def test_physics_derived_spec_leaves_marginals_open() -> None:
    f = get_frontier("FRONTIER-MOE-1.5T")
    assert (f.prompt_joules_per_token, f.generation_joules_per_token) == (None, None)
    assert f.idle_watts_per_gpu is None
    assert f.idle_floor_watts == 24 * get_gpu("H100-SXM").idle_watts
    assert (f.total_params, f.active_params, f.dtype_bytes) == (1.5e12, 300e9, 1.0)
    assert not f.legacy


def test_every_frontier_gpu_is_in_the_catalog() -> None:
    for f in all_frontiers():
        assert get_gpu(f.gpu).id == f.gpu


def test_unknown_frontier() -> None:
    with pytest.raises(CatalogError, match="nrp-2026"):
        get_frontier("nrp-2025")
