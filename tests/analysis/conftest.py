"""Fixtures: emulator scenarios turned into real DuckDB stores through the real importer.

Each scenario's history is written as OpenMetrics by the emulator, imported with
`wattlens.app.ops.import_file` (derivation, counter resets, gaps) and kept for the session.
The planted truth comes from the emulator's own model (`wattlens.emulator.truth`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from wattlens.app.ops import import_file
from wattlens.derive.engine import DeriveOptions
from wattlens.emulator import Scenario, Truth, load_scenario, truth, write_openmetrics_history
from wattlens.store import Store

DATA = Path(__file__).parent / "data"
START_S = 1_774_915_200.0  # 2026-03-31T00:00:00Z
STEP_S = 30.0


@dataclass(frozen=True)
class Emulated:
    """A scenario, its store file and the planted truth over the stored window."""

    scenario: Scenario
    db_path: Path
    start_s: float
    end_s: float
    truth: dict[str, Truth]

    def open(self) -> Store:
        """The store, read-only."""
        return Store.open(self.db_path, read_only=True)


@pytest.fixture(scope="session")
def emulated(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Emulated]:
    """Factory: scenario name or path -> `Emulated` (built once per session)."""
    cache: dict[str, Emulated] = {}

    def build(name: str) -> Emulated:
        if name in cache:
            return cache[name]
        local = DATA / f"{name}.toml"
        scenario = load_scenario(local if local.exists() else name)
        root = tmp_path_factory.mktemp(f"emu-{name}")
        end = START_S + scenario.duration_s
        om = root / "history.om"
        write_openmetrics_history(scenario, om, start_s=START_S, end_s=end, step_s=STEP_S)
        db = root / "wattlens.duckdb"
        with Store.open(db) as store:
            import_file(store, om, options=DeriveOptions(step_s=STEP_S))
        om.unlink()  # hundreds of MB; the store is what the tests read
        planted = truth(scenario, START_S, end, start_of_scenario_s=START_S)
        cache[name] = Emulated(scenario, db, START_S, end, planted)
        return cache[name]

    return build
