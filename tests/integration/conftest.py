"""Shared pieces for the integration tests: the planted-event scenario, its history file, and a
helper that runs wattlens's own backfill path against a Prometheus-API backend into a store."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wattlens.app.backfill_worker import BackfillWorker
from wattlens.app.collector import Collector, PrometheusSource
from wattlens.app.ops import make_deriver
from wattlens.app.runner import backfill
from wattlens.derive.engine import DeriveOptions
from wattlens.emulator import load_scenario, truth, write_history
from wattlens.store import Store
from wattlens.telemetry.metrics import WANTED_METRICS
from wattlens.telemetry.promapi import PrometheusClient

STEP_S = 30.0


class History:
    """One day of the `test-events` fleet ending an hour ago, as promtool would ingest it."""

    def __init__(self, root: Path) -> None:
        self.scenario = load_scenario("test-events")
        now = time.time()
        self.start_s = math.floor((now - 86400.0 - 3600.0) / STEP_S) * STEP_S
        self.end_s = self.start_s + 86400.0
        self.path = root / "test-events.om"
        self.samples = write_history(
            self.scenario,
            self.path,
            start_s=self.start_s,
            end_s=self.end_s,
            step_s=STEP_S,
            wanted=WANTED_METRICS,
        )
        # The planted truth over the span the stored intervals cover: (first, last] sample.
        self.truth = truth(
            self.scenario, self.start_s, self.end_s, start_of_scenario_s=self.start_s
        )


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return History(tmp_path_factory.mktemp("history"))


def collect_via_api(
    url: str,
    db: Path,
    *,
    now_s: float,
    worker: BackfillWorker | None = None,
    progress: Callable[[float], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run wattlens's start-up backfill against a backend (through a forked `worker` when one is
    given, with `progress` called after each chunk); return stored totals by deployment."""
    client = PrometheusClient(url)
    with Store.open(db) as store:
        collector = Collector(
            store, make_deriver(DeriveOptions(step_s=STEP_S)), PrometheusSource(client)
        )
        backfill(collector, collector.source, client, now_s=now_s, max_back_s=3 * 86400.0,
                 progress=progress, worker=worker)  # fmt: skip
        collector.flush()
        store.rollup_pending()
        totals = {t["deployment_id"]: t for t in store.totals()}
        infos = {d.info.deployment_id: d.info for d in store.deployments()}
    client.close()
    return {k: {**v, "info": infos[k]} for k, v in totals.items()}


def assert_matches_truth(got: dict[str, dict[str, Any]], want: dict[str, Any]) -> None:
    """Energy and tokens per deployment within 1% of the emulator's planted truth."""
    assert set(got) == set(want), "deployments differ (spare GPUs must not become one)"
    for key, t in want.items():
        g = got[key]
        assert g["energy_joules"] == pytest.approx(t.energy_joules, rel=0.01), key
        if t.prompt_tokens is None:
            assert g["prompt_tokens"] is None and g["generation_tokens"] is None, key
        else:
            assert g["prompt_tokens"] == pytest.approx(t.prompt_tokens, rel=0.01), key
            assert g["generation_tokens"] == pytest.approx(t.generation_tokens, rel=0.01), key
        assert g["info"].gpu_count == t.gpu_count, key
        assert g["info"].model_name == (t.served_model_name if t.engine != "none" else None), key
