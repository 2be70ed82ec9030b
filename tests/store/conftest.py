"""Fixtures: a fresh store file per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from wattlens.store import Store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Path of a not-yet-created store file."""
    return tmp_path / "wattlens.duckdb"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """A writable store on a real DuckDB file."""
    with Store.open(db_path) as s:
        yield s
