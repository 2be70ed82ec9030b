"""The collector reads the recorded series of `wattlens rules` (issue 15, `use_recorded`).

Six hours of the `rules-fleet` emulator history are backfilled into a real Prometheus; promtool
evaluates the generated power and token-rate rules against it (Prometheus's own numbers), and a
second Prometheus holds the raw history plus those recorded series. The collector backfills one
store from it with `use_recorded = "never"` (raw DCGM/vLLM series) and one with `"auto"`
(recorded series); per-deployment energy and tokens agree within 1%.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from tests.integrations.conftest import DATA, STEP_S
from tests.integrations.promtools import evaluate_rules

from servers import start_prometheus
from wattlens.app.collector import PrometheusSource
from wattlens.app.runner import build_collector
from wattlens.config import load_config
from wattlens.core.errors import ConfigError
from wattlens.emulator import load_scenario, write_history
from wattlens.integrations.rules import RuleOptions, rule_groups
from wattlens.store import Store
from wattlens.telemetry.metrics import WANTED_METRICS
from wattlens.telemetry.recorded import NEEDED, PREFIX, RecordedSource

pytestmark = [pytest.mark.integration]
HOURS = 6
END_S = math.floor((time.time() - 600.0) / 300.0) * 300.0  # within detection's 1 h look-back
START_S = END_S - HOURS * 3600.0
EVAL_FROM_S = START_S + 1800.0


def _recorded_openmetrics(series: Any) -> list[str]:
    """The evaluated rules' samples as OpenMetrics families (one TYPE line each)."""
    by_name: dict[str, list[str]] = {}
    for key, samples in series.items():
        labels = dict(key)
        name = labels.pop("__name__")
        text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        by_name.setdefault(name, []).extend(f"{name}{{{text}}} {v!r} {t:.3f}" for t, v in samples)
    out = []
    for name, lines in sorted(by_name.items()):
        out += [f"# TYPE {name} gauge", *lines]
    return out


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("recorded-collector")
    raw = root / "raw.om"
    write_history(load_scenario(DATA / "rules-fleet.toml"), raw, start_s=START_S, end_s=END_S,
                  step_s=STEP_S, wanted=WANTED_METRICS)  # fmt: skip
    opts = RuleOptions(interval="5m", rate_window="10m")
    recording = rule_groups(opts)["groups"][0]
    recording["rules"] = [r for r in recording["rules"] if r["record"] in
                          {PREFIX + n for n in NEEDED}]  # fmt: skip
    rules = root / "needed-rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": [recording]}, width=10_000))
    with start_prometheus(root, backfill_openmetrics=raw) as prom:
        series = evaluate_rules(prom.url, rules, root / "blocks", EVAL_FROM_S, END_S)
        cfg = _cfg(root, prom.url, "always")
        with Store.open(root / "always.duckdb") as store, pytest.raises(ConfigError) as refused:
            build_collector(cfg, store, prometheus=None, scrape=[], sd=None)
    both = root / "both.om"
    lines = [ln for ln in raw.read_text().splitlines() if ln != "# EOF"]
    both.write_text("\n".join([*lines, *_recorded_openmetrics(series), "# EOF"]) + "\n")
    with start_prometheus(root, backfill_openmetrics=both) as prom2:
        yield prom2.url, root, str(refused.value)


def _cfg(root: Path, url: str, mode: str) -> Any:
    path = root / f"{mode}.toml"
    path.write_text(f'[backend]\nprometheus_url = "{url}"\nuse_recorded = "{mode}"\n'
                    'backfill_max = "12h"\n[collect]\nstep = 150\n')  # fmt: skip
    return load_config(path, environ={})


def _collect(root: Path, url: str, mode: str) -> tuple[Any, dict[str, dict[str, float]]]:
    with Store.open(root / f"{mode}.duckdb") as store:
        collector = build_collector(_cfg(root, url, mode), store, prometheus=None, scrape=[],
                                    sd=None)  # fmt: skip
        collector.flush()
        since, until = EVAL_FROM_S + 1800.0, END_S - 1800.0
        totals = {}
        for dep in store.deployments():
            dep_id = dep.info.deployment_id
            cols = store.intervals(dep_id, since, until)
            totals[dep_id] = {k: float(np.nansum(cols[k])) for k in
                              ("energy_joules", "prompt_tokens", "generation_tokens")}  # fmt: skip
    return collector.source, totals


def test_always_without_recorded_series_is_refused(backend: Any) -> None:
    assert 'use_recorded = "always"' in backend[2]
    assert "holds no wattlens recorded series" in backend[2]


def test_recorded_path_equals_the_raw_path_within_1_percent(
    backend: Any, caplog: pytest.LogCaptureFixture
) -> None:
    url, root, _ = backend
    raw_source, raw = _collect(root, url, "never")
    with caplog.at_level(logging.INFO, logger="wattlens.app.collector"):
        rec_source, rec = _collect(root, url, "auto")
    assert isinstance(raw_source, PrometheusSource) and isinstance(rec_source, RecordedSource)
    assert "reading the wattlens recorded series" in caplog.text
    assert set(rec) <= set(raw)
    assert {"llm/llama-8b", "sdsc-llm/olmo", "training/finetune"} <= set(rec)
    for dep, got in rec.items():
        want = raw[dep]
        assert want["energy_joules"] > 0
        assert got["energy_joules"] == pytest.approx(want["energy_joules"], rel=0.01), dep
        for k in ("prompt_tokens", "generation_tokens"):
            assert got[k] == pytest.approx(want[k], rel=0.01, abs=1.0), (dep, k)
    assert raw["llm/llama-8b"]["generation_tokens"] > 0
