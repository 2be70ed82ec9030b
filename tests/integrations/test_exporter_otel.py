"""`/metrics` under the draft OpenTelemetry gen_ai names (`[exporter] names`), on a real serve.

The planted fleet (tests/web/plant.py) is written to a real DuckDB file and served by uvicorn;
expected values are plain arithmetic over the planted records of the live window (5 minutes):
power = Σ energy / Σ seconds, energy per output token = Σ energy / Σ generation tokens (only
above the 5 tokens/s ratio cut-off), idle = 1 when tokens/s <= thresholds.active_tokens_per_s.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.web.conftest import Served, make_config, serve
from tests.web.plant import END_S, PlantedFleet, default_specs, plant, window

from wattlens.store import Store


@pytest.fixture()
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, PlantedFleet]]:
    store, fleet = plant(tmp_path_factory.mktemp("otel") / "w.duckdb", default_specs(), days=0.1)
    yield store, fleet  # the server closes the store when it stops


def _families(served: Served) -> dict[str, list]:
    r = served.get("/metrics")
    assert r.status_code == 200
    return {f.name: f.samples for f in text_string_to_metric_families(r.text)}


def _expect(fleet: PlantedFleet, dep: str) -> tuple[float, float | None, float | None]:
    rs = window(fleet.of(dep), END_S - 300, END_S)
    secs = sum(r.interval_s for r in rs)
    energy = sum(r.energy_joules or 0.0 for r in rs)
    if rs[0].prompt_tokens is None:
        return energy / secs, None, None
    gen = sum(r.generation_tokens or 0.0 for r in rs)
    tps = sum((r.prompt_tokens or 0.0) + (r.generation_tokens or 0.0) for r in rs) / secs
    return energy / secs, (energy / gen if tps > 5 else None), float(tps <= 0.1)


def test_both_names_on_a_real_serve(tmp_path: Path, planted: tuple[Store, PlantedFleet]) -> None:
    store, fleet = planted
    served = serve(store, fleet, make_config(tmp_path, '[exporter]\nnames = "both"\n'))
    try:
        fams = _families(served)
    finally:
        served.close()
    assert "wattlens_power_watts" in fams
    power = {s.labels["deployment"]: s for s in fams["gen_ai_infrastructure_power_watts"]}
    jpt = {s.labels["deployment"]: s.value
           for s in fams["gen_ai_infrastructure_energy_per_token_joules"]}  # fmt: skip
    idle = {s.labels["deployment"]: s.value for s in fams["gen_ai_infrastructure_idle_ratio"]}
    for spec in fleet.specs:
        dep = spec.info.deployment_id
        watts, per_token, idle_value = _expect(fleet, dep)
        assert power[dep].value == pytest.approx(watts)
        assert power[dep].labels["k8s_namespace_name"] == spec.info.namespace
        if per_token is None:
            assert dep not in jpt  # below the cut-off: absent, not 0
        else:
            assert jpt[dep] == pytest.approx(per_token)
        assert idle.get(dep) == idle_value
    assert 1.0 in idle.values() and 0.0 in idle.values()  # the fleet has an idle deployment


def test_otel_only_leaves_out_the_wattlens_names(
    tmp_path: Path, planted: tuple[Store, PlantedFleet]
) -> None:
    store, fleet = planted
    served = serve(store, fleet, make_config(tmp_path, '[exporter]\nnames = "otel"\n'))
    try:
        fams = _families(served)
    finally:
        served.close()
    assert "gen_ai_infrastructure_power_watts" in fams
    assert not [n for n in fams if n.startswith("wattlens_") and n != "wattlens_data_age_seconds"]


def test_default_is_wattlens_names_only(
    tmp_path: Path, planted: tuple[Store, PlantedFleet]
) -> None:
    store, fleet = planted
    served = serve(store, fleet, make_config(tmp_path))
    try:
        fams = _families(served)
    finally:
        served.close()
    assert "wattlens_power_watts" in fams
    assert not [n for n in fams if n.startswith("gen_ai_")]
