"""Published parameters of the four planning papers, as nested dicts with a `source` per group."""

from __future__ import annotations

import copy
from typing import Any

from wattlens.catalog._load import load_toml, suggestion
from wattlens.core.errors import CatalogError

_FILE = "papers.toml"


def paper_ids() -> list[str]:
    """Ids of the papers in papers.toml: samsi2023, oviedo2025, sweetspot2026, oneoverw2026."""
    return list(load_toml(_FILE)["papers"])


def paper_params(paper_id: str) -> dict[str, Any]:
    """A copy of one paper's parameters: citation, year, one sub-dict (with `source`) per group."""
    papers = load_toml(_FILE)["papers"]
    if paper_id not in papers:
        raise CatalogError(
            f"unknown paper {paper_id!r}: expected one of {', '.join(papers)}."
            f"{suggestion(str(paper_id), papers, {})}"
        )
    return copy.deepcopy(papers[paper_id])


__all__ = ["paper_ids", "paper_params"]
