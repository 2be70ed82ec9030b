"""Integrations with the operators' stack: Prometheus rules, Grafana dashboards, notebooks.

- `promql`: label resolution, workloads and grid rules spelled as PromQL;
- `rules`: recording and alert rules from `core.metrics` and the carbon model;
- `grafana`: a dashboard over the recorded series.
"""
