"""Shared fixtures: bundled scenarios started at a fixed instant."""

from __future__ import annotations

import pytest

from wattlens.emulator import FleetModel, Scenario, load_scenario

START_S = 1775001600.0  # 2026-04-01T00:00:00Z
DAY_S = 86400.0


@pytest.fixture(scope="session")
def events() -> Scenario:
    """The planted-events scenario."""
    return load_scenario("test-events")


@pytest.fixture(scope="session")
def nrp() -> Scenario:
    """The default demo scenario."""
    return load_scenario("nrp")


@pytest.fixture(scope="session")
def events_model(events: Scenario) -> FleetModel:
    """The events scenario started at START_S (shared: the model is a pure function)."""
    return FleetModel(events, START_S)
