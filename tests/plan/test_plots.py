"""Charts: PNG files and self-contained HTML (inline SVG, no external URL)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wattlens.core.errors import InputError
from wattlens.plan import compare_fleets, plan_tokw
from wattlens.plan.plots import plot_fleet, plot_tokw


@pytest.fixture(scope="module")
def results() -> list:
    return [
        plan_tokw("llama-3.1-70b", "H100-SXM", profile="paper", convention="paper"),
        plan_tokw("llama-3.1-70b", "B200", profile="paper", convention="paper"),
    ]


def test_tokw_png_and_html(tmp_path: Path, results: list) -> None:
    png = plot_tokw(results, tmp_path / "t.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = plot_tokw(results, tmp_path / "sub" / "t.html").read_text()
    assert page.count("<svg") == 1 and "1/W reference" in page
    assert re.search(r"https?://", page) is None and "<script" not in page
    with pytest.raises(InputError, match="^plot '.*t.pdf': expected"):
        plot_tokw(results, tmp_path / "t.pdf")


def test_fleet_bar_chart(tmp_path: Path) -> None:
    c = compare_fleets("llama-3.1-70b", ["H100-SXM"], rate_rps=100, profile="paper",
                       split_tokens=4096, gamma=2.0)  # fmt: skip
    assert plot_fleet(c, tmp_path / "f.png").stat().st_size > 1000
    page = plot_fleet(c, tmp_path / "f.html").read_text()
    assert "<svg" in page and re.search(r"https?://", page) is None
