"""Fleet-efficiency analysis (issue #4): one store read, five analyses, one JSON-ready result.

Modules: data (the store read, per-deployment numpy views), curves (power-vs-throughput fit,
J/token, knee), idle (idle W per GPU type learned from the fleet; idle attribution), rightsize
(fewest GPUs that hold the model), consolidate (scale to zero, co-location on MIG or
time-sliced GPUs), frontier (frontier-model comparison, legacy or physics-derived), report
(`analyze`), plots (chart series for the web view), render (rich tables for the CLI), options
(thresholds and assumptions, sourced in defaults.toml).
"""

from wattlens.analysis.curves import (
    EfficiencyCurve,
    fit_efficiency_curve,
    format_joules_per_token,
)
from wattlens.analysis.frontier import compare_to_frontier, resolve_frontier
from wattlens.analysis.idle import IdlePower, attribute_idle, learn_idle_power
from wattlens.analysis.options import AnalysisOptions
from wattlens.analysis.report import DEFAULT_RANGE_S, analyze
from wattlens.analysis.rightsize import RightSizing, min_gpus, right_size

__all__ = [
    "DEFAULT_RANGE_S",
    "AnalysisOptions",
    "EfficiencyCurve",
    "IdlePower",
    "RightSizing",
    "analyze",
    "attribute_idle",
    "compare_to_frontier",
    "fit_efficiency_curve",
    "format_joules_per_token",
    "learn_idle_power",
    "min_gpus",
    "resolve_frontier",
    "right_size",
]
