"""The dashboard's Wh-per-request panel (`/api/v2/report/requests.svg`): bars carry the planted
figures (hand arithmetic, see tests/app/test_request_energy.py), labels are escaped text, and an
empty store gives a panel that says so instead of a broken image."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app.test_request_energy import (
    BUSY_J,
    BUSY_REQ,
    IDLE_W,
    MIXED_J,
    MIXED_REQ,
    SPECS,
    N,
    make_record,
)
from wattlens.store import Store
from web.plant import STEP_S, write_planted

from .conftest import make_config, serve

NS = "{http://www.w3.org/2000/svg}"
END_S = 1_700_006_400.0


def test_panel_bars_carry_wh_per_request(tmp_path: Path) -> None:
    store, _ = write_planted(tmp_path / "w.duckdb", SPECS, make_record, days=N * STEP_S / 86_400.0,
                             end_s=END_S, seed=1)  # fmt: skip
    s = serve(store, None, make_config(tmp_path), clock=lambda: END_S)
    try:
        r = s.get("/api/v2/report/requests.svg", params={"range": "7d"})
        page = s.get("/").text
    finally:
        s.close()
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(r.text)
    assert not list(root.iter(f"{NS}script"))
    bars = {e.get("data-deployment"): e for e in root.iter(f"{NS}rect") if e.get("data-wh")}
    assert set(bars) == {"llm/mixed", "llm/busy"}  # the GPU-only deployment counts no requests
    assert float(bars["llm/mixed"].get("data-wh")) == pytest.approx(
        MIXED_J / MIXED_REQ / 3600.0, rel=1e-5
    )
    idle_wh = IDLE_W * N * STEP_S / MIXED_REQ / 3600.0
    assert float(bars["llm/mixed"].get("data-idle-wh")) == pytest.approx(idle_wh, rel=1e-5)
    assert float(bars["llm/busy"].get("data-wh")) == pytest.approx(
        BUSY_J / BUSY_REQ / 3600.0, rel=1e-5
    )
    assert "no request counts" in r.text
    assert 'src="/api/v2/report/requests.svg?range=7d"' in page


def test_empty_store_panel_says_so(tmp_path: Path) -> None:
    s = serve(Store.open(tmp_path / "empty.duckdb"), None, make_config(tmp_path))
    try:
        r = s.get("/api/v2/report/requests.svg")
    finally:
        s.close()
    assert r.status_code == 200
    assert "store is empty" in r.text
