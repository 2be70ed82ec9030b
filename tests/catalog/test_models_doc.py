"""docs/models.md's coverage table names exactly the models the catalog has (#10)."""

from __future__ import annotations

import re
from pathlib import Path

from wattlens.catalog import all_models

DOC = Path(__file__).parents[2] / "docs" / "models.md"


def test_every_id_in_the_coverage_table_is_in_the_catalog() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("### Coverage of the families", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    listed = {i for row in rows[1:] for i in re.findall(r"`([a-z0-9.\-]+)`", row.split("|")[2])}
    ids = {m.id for m in all_models()}
    assert listed == ids, (sorted(listed - ids), sorted(ids - listed))
