"""Live grid intensity against a recorded-response server on loopback.

The fake server replays the providers' documented response shapes (tests/integrations/data/
gridlive) over real HTTP, checks the auth each provider requires, and counts requests. The
expected CO2 is computed by hand from the planted hourly values.
"""

from __future__ import annotations

import pytest
from tests.integrations.gridfake import T0, Fake

from wattlens.catalog import grid
from wattlens.derive.hourly_carbon import co2_hourly
from wattlens.telemetry.gridlive import ElectricityMaps, LiveIntensity, WattTime

KWH = 3.6e6


def test_electricity_maps_past_range_hourly_and_auth_header(fake: tuple[Fake, str]) -> None:
    state, url = fake
    em = ElectricityMaps("em-secret", base_url=url, clock=lambda: T0 + 30 * 86400)
    live = LiveIntensity(em)
    s = live.series("US-CAL-CISO", "CAMX", T0, T0 + 3 * 3600)
    assert s.hourly() == {T0: 300.0, T0 + 3600: 200.0, T0 + 7200: 400.0}
    assert s.describe() == {"zone": "US-CAL-CISO", "source": "electricitymaps",
                            "kind": "average", "year": 2026, "fallback": None}  # fmt: skip
    path, query, _ = state.requests[0]
    assert path == "/v4/carbon-intensity/past-range"
    assert query == {"zone": ["US-CAL-CISO"], "start": ["2026-01-10T00:00:00Z"],
                     "end": ["2026-01-10T03:00:00Z"]}  # fmt: skip


def test_hourly_intensity_multiplies_hourly_energy(fake: tuple[Fake, str]) -> None:
    _, url = fake
    s = LiveIntensity(ElectricityMaps("em-secret", base_url=url, clock=lambda: T0 + 30 * 86400))
    hourly = s.series("US-CAL-CISO", "CAMX", T0, T0 + 3 * 3600).hourly()
    energy = {T0: 1.0 * KWH, T0 + 3600: 2.0 * KWH, T0 + 7200: 0.5 * KWH}
    got = co2_hourly(energy, hourly, pue=1.2)
    # by hand: 1.2 x (1 x 300 + 2 x 200 + 0.5 x 400) = 1.2 x 900 = 1080 g; a daily mean
    # (300 g/kWh) would give 1.2 x 3.5 x 300 = 1260 g
    assert got.co2_grams == pytest.approx(1080.0)
    assert got.hours == 3 and got.hours_without_intensity == 0


def test_electricity_maps_latest_history_and_missing_token(fake: tuple[Fake, str]) -> None:
    state, url = fake
    em = ElectricityMaps("em-secret", base_url=url, clock=lambda: T0 + 3 * 3600)
    assert em.latest("US-CAL-CISO").grams_per_kwh == 400.0
    points = em.history("US-CAL-CISO", T0, T0 + 3 * 3600)  # within the last 24 h: /history
    assert [p.grams_per_kwh for p in points] == [300.0, 200.0, 400.0]
    assert state.requests[-1][0] == "/v4/carbon-intensity/history"
    wrong = LiveIntensity(ElectricityMaps("nope", base_url=url))
    s = wrong.series("US-CAL-CISO", "CAMX", T0, T0 + 3600)
    assert s.source == "egrid2024 (static)" and "HTTP 401" in (s.fallback or "")


def test_watttime_login_bearer_units_and_hourly_means(fake: tuple[Fake, str]) -> None:
    state, url = fake
    wt = WattTime("alice", "pw", base_url=url)
    s = LiveIntensity(wt).series("CAISO_NORTH", "CAMX", T0, T0 + 2 * 3600)
    lb = 0.45359237  # kg per lb (exact, by definition); 1 lb/MWh = 0.45359237 g/kWh
    assert s.hourly() == {T0: pytest.approx(1000 * lb), T0 + 3600: pytest.approx(500 * lb)}
    assert (s.source, s.kind, s.year) == ("watttime", "marginal", 2026)
    assert [r[0] for r in state.requests] == ["/login", "/v3/historical"]
    assert state.requests[1][1]["signal_type"] == ["co2_moer"]
    assert wt.latest("CAISO_NORTH").grams_per_kwh == pytest.approx(850 * lb)


def test_watttime_logs_in_again_when_the_token_expires(fake: tuple[Fake, str]) -> None:
    state, url = fake
    wt = WattTime("alice", "pw", base_url=url)
    wt.latest("CAISO_NORTH")
    state.expired.add("wt-token-1")
    state.tokens.append("wt-token-2")
    wt.latest("CAISO_NORTH")
    assert [r[0] for r in state.requests] == ["/login", "/v3/forecast", "/v3/forecast",
                                               "/login", "/v3/forecast"]  # fmt: skip


def test_cache_then_refetch_after_ttl(fake: tuple[Fake, str]) -> None:
    state, url = fake
    now = [T0 + 30 * 86400]
    em = ElectricityMaps("em-secret", base_url=url, clock=lambda: now[0])
    live = LiveIntensity(em, ttl_s=300, clock=lambda: now[0])
    for _ in range(3):
        live.series("US-CAL-CISO", "CAMX", T0, T0 + 3 * 3600)
    assert len(state.requests) == 1
    now[0] += 301
    live.series("US-CAL-CISO", "CAMX", T0, T0 + 3 * 3600)
    assert len(state.requests) == 2


def test_server_error_falls_back_to_the_static_table(fake: tuple[Fake, str]) -> None:
    state, url = fake
    state.fail_status = 500
    live = LiveIntensity(ElectricityMaps("em-secret", base_url=url), vintage="egrid2024")
    s = live.series("US-CAL-CISO", "CAMX", T0, T0 + 2 * 3600)
    camx = grid.get_region("CAMX", "egrid2024").intensity_kg_per_kwh * 1000
    assert s.hourly() == {T0: pytest.approx(camx), T0 + 3600: pytest.approx(camx)}
    assert (s.source, s.kind, s.year) == ("egrid2024 (static)", "average", 2024)
    assert "HTTP 500" in (s.fallback or "")


def test_timeout_falls_back_without_waiting_for_the_server(fake: tuple[Fake, str]) -> None:
    state, url = fake
    state.hanging = True
    live = LiveIntensity(WattTime("alice", "pw", base_url=url, timeout_s=0.2))
    s = live.series("CAISO_NORTH", "CAMX", T0, T0 + 3600)
    assert s.source == "egrid2024 (static)" and "Timeout" in (s.fallback or "")


def test_country_table_outside_the_us_matches_the_cited_figures() -> None:
    """shared/reference/carbon.md s2.3 cites OWID via CodeCarbon: USA 369.473 g/kWh (2023),
    FRA 56.0, DEU 381.0, IND 713.4, CHN 582.3."""
    from wattlens.catalog.grid_countries import country_year, get_country, licence

    cited = {"USA": 369.473, "FRA": 56.0, "DEU": 381.0, "IND": 713.4, "CHN": 582.3}
    for code, g in cited.items():
        assert get_country(code).intensity_kg_per_kwh * 1000 == pytest.approx(g, abs=0.06), code
    assert country_year("USA") == 2023 and "CC BY 4.0" in licence()


def test_static_fallback_for_a_country_states_owid_and_year() -> None:
    s = LiveIntensity(None).series("FR", "FRA", T0, T0 + 3600)
    assert (s.source, s.kind, s.year) == ("owid (static)", "average", 2023)
    assert s.hourly() == {T0: pytest.approx(56.039)}
