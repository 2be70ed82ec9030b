"""The floor everything stands on: units, time parsing, the error tree, record types, metrics.

Modules: `errors` (the one error hierarchy), `units` (the only unit conversions), `durations`
(the one duration/time parser), `records` (per-deployment record types), `metrics` (the one
vocabulary of derived metrics: name, unit, formula on totals, cut-off rule).
Nothing here imports any other wattlens package.
"""
