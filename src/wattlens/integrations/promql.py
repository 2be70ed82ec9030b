"""PromQL building blocks: the same label resolution and grid rules the Python derivation uses.

wattlens resolves label variants (`telemetry.labels`), pod names to workloads, dcgm-exporter's
own pod (an unallocated GPU) and node -> grid region rules (`catalog.grid`) in Python. Here the
same rules are spelled as PromQL so that a Prometheus-compatible backend can do the arithmetic:

- label variants: `label_replace` chains into temporary `wattlens_*` labels, lowest priority
  first, so the first non-empty label in `telemetry.labels`' order wins;
- workloads: the pod-name suffix patterns of `telemetry.labels.workload_of_pod`, in RE2;
- grid region: the rules in reverse order (first match wins), after the default region, with a
  `region_source` label (`rule`, `default` or `override`) so an unmatched node shows as such.

Every expression is self-contained (raw exporter series only, no recorded series), because
`promtool tsdb create-blocks-from rules` cannot backfill rules that read other rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from wattlens.catalog import grid
from wattlens.derive.carbon import CarbonModel
from wattlens.telemetry.metrics import METRIC_ALIASES, PREFERRED_NAMES, Quantity

# Label priorities as in telemetry.labels (first non-empty wins).
NAMESPACE_LABELS = ("exported_namespace", "namespace", "pod_namespace", "kubernetes_namespace")
POD_LABELS = ("exported_pod", "pod", "pod_name", "kubernetes_pod_name")
HOST_LABELS = ("Hostname", "hostname", "kubernetes_node", "exported_node", "node")
# Kubernetes name-suffix alphabet (k8s.io/apimachinery rand.SafeEncodeString), as in labels.py.
_SAFE = "[bcdfghjklmnpqrstvwxz2456789]"
# Lowest priority first: a later match overrides an earlier one (labels.workload_of_pod order).
_WORKLOAD_PATTERNS = (r"(.+)-\d+", rf"(.+)-{_SAFE}{{5}}", rf"(.+?)-{_SAFE}{{4,10}}-{_SAFE}{{5}}")
DEPLOYMENT_LABELS = ("namespace", "workload", "deployment")


@dataclass(frozen=True, slots=True)
class LabelOptions:
    """Which labels name deployments and hosts, and which namespaces to keep (config [labels])."""

    deployment_label: str | None = None
    host_label: str | None = None
    namespaces: tuple[str, ...] = ()


def raw(text: str) -> str:
    """A PromQL raw string literal (backticks: no escape processing, for regexes)."""
    if "`" in text:
        raise ValueError(f"cannot quote {text!r} as a PromQL raw string")
    return f"`{text}`"


def names_for(quantity: Quantity) -> list[str]:
    """Exposed metric names of a quantity, preferred names first (as derive prefers them)."""
    names = [n for n, q in METRIC_ALIASES.items() if q == quantity]
    first = [n for n in PREFERRED_NAMES.get(quantity, ()) if n in names]
    return first + [n for n in names if n not in first]


def _selector(name: str, matchers: str = "") -> str:
    extra = {
        "vllm:prompt_tokens_by_source_total": 'source="local_cache_hit"',
        **{n: 'tp_rank=~"0|"' for n in METRIC_ALIASES if n.startswith("sglang:")},
    }.get(name, "")
    parts = ", ".join(p for p in (f'__name__="{name}"', matchers, extra) if p)
    return "{" + parts + "}"


# GPU series that name a workload: an exported pod (Prometheus renamed the GPU's pod labels), or
# a pod that is not the dcgm-exporter itself (resolve._is_exporter_itself), or old-style labels.
_GPU_MATCHERS = (
    'exported_pod!=""',
    'exported_pod="", pod!="", pod!~".*dcgm-exporter.*", container!~".*dcgm-exporter.*"',
    'exported_pod="", pod="", pod_name!=""',
)


def gpu_rate(quantity: Quantity, window: str) -> str:
    """Per-GPU per-second increase of a GPU counter, over every exposed name and label style."""
    return " or ".join(
        f"rate({_selector(n, m)}[{window}])" for n in names_for(quantity) for m in _GPU_MATCHERS
    )


def gpu_gauge(quantity: Quantity) -> str:
    """Per-GPU gauge series over every exposed name and label style."""
    return " or ".join(_selector(n, m) for n in names_for(quantity) for m in _GPU_MATCHERS)


def engine_rate(quantity: Quantity, window: str) -> str:
    """Per-pod per-second increase of an engine counter; the preferred name wins per pod."""
    return " or ".join(f"rate({_selector(n)}[{window}])" for n in names_for(quantity))


def _first_of(expr: str, dst: str, sources: Sequence[str]) -> str:
    for src in reversed(sources):  # lowest priority first: the last match wins
        expr = f'label_replace({expr}, "{dst}", "$1", "{src}", "(.+)")'
    return expr


def _copy(expr: str, dst: str, src: str) -> str:
    return f'label_replace({expr}, "{dst}", "$1", "{src}", "(.*)")'


def with_deployment(expr: str, opts: LabelOptions) -> str:
    """Add `namespace` and `workload` (namespace/workload, as derive keys deployments)."""
    expr = _first_of(expr, "wattlens_ns", NAMESPACE_LABELS)
    expr = _first_of(expr, "wattlens_pod", POD_LABELS)
    expr = _copy(_copy(expr, "namespace", "wattlens_ns"), "workload", "wattlens_pod")
    for pattern in _WORKLOAD_PATTERNS:
        expr = f'label_replace({expr}, "workload", "$1", "wattlens_pod", {raw(pattern)})'
    if opts.deployment_label:
        expr = _first_of(expr, "workload", (opts.deployment_label,))
    if opts.namespaces:
        allowed = " or ".join(_constant(1.0, namespace=ns) for ns in opts.namespaces)
        expr = f"({expr}) and on(namespace) ({allowed})"
    return expr


def with_node(expr: str, opts: LabelOptions) -> str:
    """Add `node`: the first non-empty host label (or the configured host label)."""
    sources = ((opts.host_label,) if opts.host_label else ()) + HOST_LABELS
    return _copy(_first_of(expr, "wattlens_node", sources), "node", "wattlens_node")


def _rule_regex(rule: grid.GridRule) -> str:
    if rule.match == "regex":
        return f"(?i).*(?:{rule.pattern}).*"
    if rule.match == "exact":
        return f"(?i){re.escape(rule.pattern)}"
    return f"(?i).*{re.escape(rule.pattern)}.*"


def with_region(expr: str, carbon: CarbonModel, *, source: bool = True) -> str:
    """Add `region` and `region_source` from the carbon model's rules (first match wins).

    Needs `node` and `namespace` on `expr`. With an intensity override every node gets
    region `override`. `source=False` leaves out `region_source` (half the chain).
    """
    if carbon.intensity_override_kg_per_kwh is not None:
        expr = f'label_replace({expr}, "region", "override", "__name__", ".*")'
        return f'label_replace({expr}, "region_source", "override", "__name__", ".*")'
    expr = f'label_replace({expr}, "region", "{carbon.default_region}", "__name__", ".*")'
    expr = f'label_replace({expr}, "region_source", "default", "__name__", ".*")'
    for rule in reversed(list(carbon.rules or ())):
        src = "node" if rule.field == "host" else "namespace"
        regex = raw(_rule_regex(rule))
        code = grid.get_region(rule.region, carbon.vintage).code
        expr = f'label_replace({expr}, "region", "{code}", "{src}", {regex})'
        if source:
            expr = f'label_replace({expr}, "region_source", "rule", "{src}", {regex})'
    return expr


def _constant(value: float, **labels: str) -> str:
    expr = f"vector({value!r})"
    for name, val in labels.items():
        expr = f'label_replace({expr}, "{name}", "{val}", "__name__", ".*")'
    return expr


def region_codes(carbon: CarbonModel) -> list[str]:
    """Regions the rules can produce: the default first, then each rule's region once."""
    if carbon.intensity_override_kg_per_kwh is not None:
        return ["override"]
    codes = [grid.get_region(carbon.default_region, carbon.vintage).code]
    for rule in carbon.rules or ():
        code = grid.get_region(rule.region, carbon.vintage).code
        if code not in codes:
            codes.append(code)
    return codes


def intensity_grams_per_kwh(carbon: CarbonModel, code: str) -> float:
    """Grid intensity of a region code (or the override) in g CO2/kWh, PUE not included."""
    if code == "override" and carbon.intensity_override_kg_per_kwh is not None:
        return carbon.intensity_override_kg_per_kwh * 1000.0
    return grid.get_region(code, carbon.vintage).intensity_kg_per_kwh * 1000.0


def intensity_vector(carbon: CarbonModel) -> str:
    """An instant vector with one series per region: its intensity in g/kWh (label `region`)."""
    return " or ".join(
        _constant(intensity_grams_per_kwh(carbon, c), region=c) for c in region_codes(carbon)
    )


def by_deployment(expr: str) -> str:
    """Sum per deployment and add `deployment` = "namespace/workload"."""
    summed = f"sum by (namespace, workload) ({expr})"
    return f'label_join({summed}, "deployment", "/", "namespace", "workload")'


__all__ = [
    "DEPLOYMENT_LABELS",
    "HOST_LABELS",
    "NAMESPACE_LABELS",
    "POD_LABELS",
    "LabelOptions",
    "by_deployment",
    "engine_rate",
    "gpu_gauge",
    "gpu_rate",
    "intensity_grams_per_kwh",
    "intensity_vector",
    "names_for",
    "raw",
    "region_codes",
    "with_deployment",
    "with_node",
    "with_region",
]
