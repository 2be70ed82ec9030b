"""Through a real Prometheus (promtool backfill) and a real VictoriaMetrics (import), wattlens's
per-deployment energy and tokens match the emulator's planted truth within 1%.

The `test-events` scenario plants a DCGM counter reset, a two-hour exporter gap, two pod
restarts, a GPU-only job without engine metrics, two models sharing namespace and container name,
and two unallocated GPUs that Prometheus relabels with the exporter pod's own labels.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.integration.conftest import History, assert_matches_truth, collect_via_api

from servers import start_prometheus, start_victoria_metrics

pytestmark = pytest.mark.integration


def test_prometheus_promtool_backfill_matches_truth(history: History, tmp_path: Path) -> None:
    with start_prometheus(tmp_path, backfill_openmetrics=history.path) as prom:
        got = collect_via_api(prom.url, tmp_path / "w.duckdb", now_s=history.end_s + 600)
    assert_matches_truth(got, history.truth)


def test_victoria_metrics_import_matches_truth(history: History, tmp_path: Path) -> None:
    with start_victoria_metrics(tmp_path, import_openmetrics=history.path) as vm:
        got = collect_via_api(vm.url, tmp_path / "w.duckdb", now_s=history.end_s + 600)
    assert_matches_truth(got, history.truth)


def test_file_import_matches_truth_and_is_idempotent(history: History, tmp_path: Path) -> None:
    from wattlens.app.ops import import_file
    from wattlens.derive.engine import DeriveOptions
    from wattlens.store import Store

    db = tmp_path / "w.duckdb"
    with Store.open(db) as store:
        import_file(store, history.path, options=DeriveOptions(step_s=30.0))
        first = {t["deployment_id"]: t for t in store.totals()}
        infos = {d.info.deployment_id: d.info for d in store.deployments()}
        import_file(store, history.path, options=DeriveOptions(step_s=30.0))
        second = {t["deployment_id"]: t for t in store.totals()}
    assert_matches_truth({k: {**v, "info": infos[k]} for k, v in first.items()}, history.truth)
    for key, t in first.items():  # re-importing the same file changes no totals
        for field in ("energy_joules", "prompt_tokens", "generation_tokens", "co2_grams"):
            if t[field] is None:  # GPU-only job: tokens unknown both times
                assert second[key][field] is None, (key, field)
            else:
                assert second[key][field] == pytest.approx(t[field], rel=1e-12), (key, field)
        assert second[key]["interval_count"] == t["interval_count"]


def test_victoria_metrics_export_file_imports_to_truth(history: History, tmp_path: Path) -> None:
    """docs/getting-data.md: `curl VM/api/v1/export` to a file, then `wattlens import` it."""
    import httpx

    from wattlens.app.ops import import_file
    from wattlens.derive.engine import DeriveOptions
    from wattlens.store import Store
    from wattlens.telemetry.metrics import WANTED_METRICS

    names = "|".join(sorted(n.replace(".", r"\.") for n in WANTED_METRICS))
    path = tmp_path / "history.jsonl"
    with start_victoria_metrics(tmp_path, import_openmetrics=history.path) as vm:
        resp = httpx.get(f"{vm.url}/api/v1/export", timeout=120,
                         params={"match[]": f'{{__name__=~"{names}"}}',
                                 "start": str(int(history.start_s) - 60),
                                 "end": str(int(history.end_s) + 60)})  # fmt: skip
        resp.raise_for_status()
        path.write_bytes(resp.content)
    with Store.open(tmp_path / "w.duckdb") as store:
        import_file(store, path, options=DeriveOptions(step_s=30.0))
        got = {t["deployment_id"]: t for t in store.totals()}
        infos = {d.info.deployment_id: d.info for d in store.deployments()}
    assert_matches_truth({k: {**v, "info": infos[k]} for k, v in got.items()}, history.truth)
