"""Grid regions from node names: a matched rule, the default region (said so) or an override."""

from __future__ import annotations

import pytest

from wattlens.catalog import grid
from wattlens.derive.carbon import CarbonModel


def test_unmatched_node_uses_the_default_region_and_says_so() -> None:
    model = CarbonModel(default_region="CAMX")
    region, intensity = model.lookup("gpu-7.unknown-site.example.org", "llm")
    assert region == "CAMX"
    assert intensity == pytest.approx(grid.get_region("CAMX", "egrid2024").intensity_kg_per_kwh)
    assert model.region_source("gpu-7.unknown-site.example.org", "llm") == "default"


def test_rule_and_override_sources() -> None:
    rule = grid.GridRule(pattern=".sdsc.", region="CAMX", field="host", match="substring", note="")
    model = CarbonModel(rules=(rule,), default_region="RFCE")
    assert model.lookup("k8s-gpu-1.sdsc.edu", None)[0] == "CAMX"
    assert model.region_source("k8s-gpu-1.sdsc.edu", None) == "rule"
    assert model.lookup("k8s-gpu-1.umich.edu", None)[0] == "RFCE"
    assert model.region_source("k8s-gpu-1.umich.edu", None) == "default"
    over = CarbonModel(intensity_override_kg_per_kwh=0.4)
    assert over.lookup("any", None) == (None, 0.4)
    assert over.region_source("any", None) == "override"


def test_answers_are_remembered_per_model_not_shared_between_models() -> None:
    """The same unmatched node asked of two models with different default regions (CAMX, RFCE)
    gets each model's own region, in either order and when asked again."""
    camx, rfce = CarbonModel(default_region="CAMX"), CarbonModel(default_region="RFCE")
    host = "gpu-7.unknown-site.example.org"
    for _ in range(2):
        assert camx.lookup(host, "llm")[0] == "CAMX"
        assert rfce.lookup(host, "llm")[0] == "RFCE"
    assert camx == CarbonModel(default_region="CAMX")  # what it remembers is no field
