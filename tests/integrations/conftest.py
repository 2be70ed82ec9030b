"""The rules-test fleet: three days of history as Prometheus would have scraped it."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from tests.integrations.gridfake import fake  # noqa: F401 - the grid-provider fake, a fixture

from wattlens.emulator import load_scenario, write_history
from wattlens.telemetry.metrics import WANTED_METRICS

DATA = Path(__file__).parent / "data"
STEP_S = 150.0
DAYS = 3


class FleetHistory:
    """`rules-fleet` over three days ending two hours ago, 150 s scrapes (divides 300 s)."""

    def __init__(self, root: Path) -> None:
        self.scenario = load_scenario(DATA / "rules-fleet.toml")
        hour = 3600.0
        self.start_s = math.floor((time.time() - DAYS * 86400.0 - 2 * hour) / hour) * hour
        self.end_s = self.start_s + DAYS * 86400.0
        self.path = root / "rules-fleet.om"
        write_history(self.scenario, self.path, start_s=self.start_s, end_s=self.end_s,
                      step_s=STEP_S, wanted=WANTED_METRICS)  # fmt: skip


@pytest.fixture(scope="session")
def fleet_history(tmp_path_factory: pytest.TempPathFactory) -> FleetHistory:
    return FleetHistory(tmp_path_factory.mktemp("rules-fleet"))
