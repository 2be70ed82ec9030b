"""The backfill progress bar is drawn on a terminal only (cli.render.progress_fraction)."""

from __future__ import annotations

import io
import threading

import pytest
from rich.console import Console

from wattlens.cli import render


@pytest.mark.parametrize("terminal", [False, True])
def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch, terminal: bool) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=60)
    monkeypatch.setattr(render, "err_console", console)
    before = threading.active_count()
    with render.progress_fraction("backfilling") as tick:
        tick(0.5)
        refreshing = threading.active_count() > before  # rich's refresh thread
        tick(1.0)
    # A log file gets nothing and no refresh thread runs; a terminal gets the bar (then erased).
    assert ("backfilling" in out.getvalue()) is terminal
    assert refreshing is terminal
