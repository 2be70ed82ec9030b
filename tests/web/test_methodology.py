"""The methodology is generated: numbers come from the catalog and the config, never typed."""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path

import wattlens.web.methodology as methodology_module
from wattlens.catalog.grid import regions
from wattlens.web.methodology import render_methodology_markdown

from .conftest import Served, make_config, serve
from .plant import plant

WEB = Path(methodology_module.__file__).parent


def test_no_number_typed_in_methodology_code_or_template() -> None:
    tree = ast.parse(Path(methodology_module.__file__).read_text())
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef)
        and n.body
        and isinstance(n.body[0], ast.Expr)
    }
    typed = [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant)
        and isinstance(n.value, str)
        and id(n) not in docstrings
        and re.search(r"\d", re.sub(r"(?i)co2", "", n.value))
        and not re.fullmatch(r"[a-z0-9_.-]+", n.value)  # names: utf-8, pue_oviedo_v1
    ]
    assert typed == []
    template = (WEB / "templates" / "methodology.html").read_text()
    assert re.findall(r"\d", re.sub(r"<h\d|</h\d>|&#\d+;", "", template)) == []


def test_page_shows_catalog_grid_table_and_config_values(tmp_path) -> None:
    cfg = make_config(
        tmp_path,
        "[thresholds]\nmin_tokens_per_s_for_ratio = 7.25\n[carbon]\npue = 1.35\n"
        'grid_vintage = "egrid2023"\n',
    )
    store, _ = plant(tmp_path / "w.duckdb", days=0.01)
    s = serve(store, None, cfg)
    try:
        page = html.unescape(s.get("/methodology").text)
    finally:
        s.close()
    assert "7.25 tokens/s" in page and "PUE 1.35" in page
    camx = regions("egrid2023")["CAMX"]
    assert f"{round(camx.intensity_kg_per_kwh, 4):g}" in page and camx.source in page
    assert "eGRID2023" in page
    assert "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION" in page  # the PromQL section
    # carbon.md s5: the legacy frontier spec 24 x 225 W, 0.5 and 6.0 J/token
    assert "24 x 225 + prompt tokens/s x 0.5 + generation tokens/s x 6" in page


def test_markdown_matches_page_sections(served: Served) -> None:
    md = render_methodology_markdown()
    for title in ("Formulas", "Equivalent PromQL", "Grid carbon intensity", "Limitations"):
        assert f"## {title}" in md
    assert "| CAMX |" in md
    assert served.get("/methodology.md").text.startswith("# wattlens methodology")
