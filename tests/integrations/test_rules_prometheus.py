"""Recording rules evaluated by a real Prometheus agree with `wattlens report` within 1%.

Three days of the `rules-fleet` history are backfilled into Prometheus with promtool; promtool
then backfills the generated recording rules (Prometheus answers their range queries), and the
recorded series are integrated over a window and compared with the DuckDB store that
`wattlens import` builds from the same file, reported over the same window.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from tests.integrations.conftest import STEP_S, FleetHistory
from tests.integrations.promtools import by_name, check_rules, evaluate_rules

from servers import start_prometheus
from wattlens.app.ops import import_file, report
from wattlens.derive.carbon import CarbonModel
from wattlens.derive.engine import DeriveOptions
from wattlens.integrations.rules import PREFIX, RuleOptions, render_rules, rule_groups
from wattlens.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.slow]
INTERVAL_S = 300.0
# The rules the comparison reads, evaluated as generated (the whole file is checked by promtool;
# evaluating all of it over three days would take minutes on a small CI machine).
COMPARED = ("power_watts", "tokens_per_s", "co2_grams_per_hour")


def _integral(samples: list[tuple[float, float]], since_s: float, until_s: float) -> float:
    """Sum of rate x interval over the evaluations in (since, until]."""
    return sum(v for t, v in samples if since_s < t <= until_s) * INTERVAL_S


@pytest.fixture(scope="module")
def evaluated(fleet_history: FleetHistory, tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("rules-eval")
    opts = RuleOptions(carbon=CarbonModel(pue=1.2), interval="5m", rate_window="10m")
    rules = root / "wattlens-rules.yaml"
    rules.write_text(render_rules(opts))
    groups = rule_groups(opts)
    recording = groups["groups"][0]
    recording["rules"] = [r for r in recording["rules"] if r["record"] in
                          {PREFIX + n for n in COMPARED}]  # fmt: skip
    compared = root / "compared-rules.yaml"
    compared.write_text(yaml.safe_dump({"groups": [recording]}, width=10_000))
    since_s, until_s = fleet_history.start_s + 7200.0, fleet_history.end_s - 7200.0
    with start_prometheus(root, backfill_openmetrics=fleet_history.path) as prom:
        series = evaluate_rules(prom.url, compared, root / "blocks", since_s - 600, until_s)
    with Store.open(root / "w.duckdb") as store:
        import_file(store, fleet_history.path, options=DeriveOptions(step_s=STEP_S),
                    carbon=opts.carbon)  # fmt: skip
        body = report(store, since_s=since_s, until_s=until_s, min_tokens_per_s=5.0)
    return series, body, since_s, until_s, rules


def test_generated_rules_pass_promtool_check(evaluated: Any) -> None:
    assert "SUCCESS" in check_rules(evaluated[4])


def test_energy_joules_per_token_and_co2_match_report_within_1_percent(evaluated: Any) -> None:
    series, body, since_s, until_s, _ = evaluated
    power = by_name(series, PREFIX + "power_watts", "deployment")
    tokens = by_name(series, PREFIX + "tokens_per_s", "deployment")
    co2 = by_name(series, PREFIX + "co2_grams_per_hour", "deployment")
    rows = {r["deployment"]: r for r in body["deployments"]}
    assert set(power) == set(rows) == {"llm/llama-8b", "sdsc-llm/olmo", "training/finetune"}
    for dep, row in rows.items():
        energy_j = _integral(power[dep], since_s, until_s)
        assert energy_j == pytest.approx(row["energy_kwh"] * 3.6e6, rel=0.01), dep
        co2_g = _integral(co2[dep], since_s, until_s) / 3600.0
        assert co2_g == pytest.approx(row["co2_kg"] * 1000.0, rel=0.01), dep
        if row["joules_per_token"] is not None:
            tok = _integral(tokens[dep], since_s, until_s)
            assert energy_j / tok == pytest.approx(row["joules_per_token"], rel=0.01), dep
    assert rows["llm/llama-8b"]["joules_per_token"] is not None  # the busy one is compared
