"""One frontier spec by default for every output (issue #11: cards, Efficiency, `analyze`)."""

from __future__ import annotations

from wattlens.analysis.options import AnalysisOptions
from wattlens.catalog.frontier import default_frontier, get_frontier


def test_the_catalog_default_is_the_analysis_default() -> None:
    spec = default_frontier()
    assert spec.id == get_frontier("frontier-moe-1.5t").id
    assert AnalysisOptions.default().frontier_spec == spec.id  # analyze and /api/v2/analysis
