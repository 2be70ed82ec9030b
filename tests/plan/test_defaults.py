"""One answer per question: the CLI, the web API and the planning page default to one profile."""

from __future__ import annotations

import inspect
from importlib import resources
from pathlib import Path

from fastapi.testclient import TestClient

from wattlens.cli.plan import fleet, tokw
from wattlens.config import load_config
from wattlens.plan.options import DEFAULT_PROFILE, PROFILES
from wattlens.store import Store
from wattlens.web import create_app


def test_cli_defaults_to_the_calibrated_profile() -> None:
    assert DEFAULT_PROFILE == "calibrated" and DEFAULT_PROFILE in PROFILES
    for command in (tokw, fleet):
        assert inspect.signature(command).parameters["profile"].default == DEFAULT_PROFILE


def test_web_api_and_page_offer_and_default_to_it(tmp_path: Path) -> None:
    config = load_config(None, environ={})
    with Store.open(tmp_path / "w.duckdb") as store:
        client = TestClient(create_app(store=store, config=config))
        q = {"model": "llama-3.1-8b", "gpu": "H100-SXM", "context": "8192"}
        body = client.get("/api/v2/plan/tokw", params=q).json()
        assert body["profile"] == DEFAULT_PROFILE
        assert body["results"][0]["profile"].startswith(f"{DEFAULT_PROFILE}:")
        for name in PROFILES:  # every profile is a valid choice (paper: 70B TP 8 fp16 only)
            paper = (
                {"model": "llama-3.1-70b", "tp": "8", "dtype": "fp16"} if name == "paper" else {}
            )
            r = client.get("/api/v2/plan/tokw", params={**q, **paper, "profile": name})
            assert r.status_code == 200, r.text
    page = (resources.files("wattlens.web") / "templates" / "plan.html").read_text()
    for select in page.split('<select name="profile">')[1:]:
        options = select.split("</select>")[0]
        assert f'<option value="{DEFAULT_PROFILE}" selected>' in options
        assert all(f'value="{p}"' in options for p in PROFILES)
