"""Prometheus recording and alert rules from the definitions the Python code uses.

Recorded series (per deployment: labels `namespace`, `workload`, `deployment`):
`wattlens:deployment_<metric>` for every metric of `core.metrics` (same names, units and cut-off
rule: per-token ratios only above `thresholds.min_tokens_per_s_for_ratio`), plus
`wattlens:deployment_idle_power_watts` (power while tokens/s <= `thresholds.active_tokens_per_s`),
`wattlens:grid_intensity_grams_per_kwh` (one series per region: the carbon model's table, with
vintage, year and kind) and `wattlens:node_grid_region_info` (node -> region, `region_source`
`default` for a node no rule matched).

Each recording rule reads raw exporter series only (see `integrations.promql`), so the file can
be backfilled with `promtool tsdb create-blocks-from rules` in one pass. Alerts read the recorded
series.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from wattlens.config import Config
from wattlens.core.durations import parse_duration
from wattlens.core.errors import InputError
from wattlens.core.metrics import BY_NAME, NAMES
from wattlens.core.units import joules_from_millijoules
from wattlens.derive.carbon import CarbonModel
from wattlens.integrations import promql as q
from wattlens.telemetry.metrics import Quantity
from wattlens.telemetry.recorded import PREFIX  # one home: the collector reads these names

IDLE_POWER = "wattlens:deployment_idle_power_watts"
INTENSITY = "wattlens:grid_intensity_grams_per_kwh"
NODE_REGION = "wattlens:node_grid_region_info"


@cache
def alert_defaults() -> dict[str, Any]:
    """The alert thresholds in `alerts.toml` (policy defaults, overridable)."""
    text = resources.files("wattlens.integrations").joinpath("alerts.toml").read_text()
    return tomllib.loads(text)


@dataclass(frozen=True, slots=True)
class RuleOptions:
    """What the rules depend on: carbon model, thresholds, labels, windows and alert policy."""

    carbon: CarbonModel = field(default_factory=CarbonModel)
    min_tokens_per_s: float = 5.0
    active_tokens_per_s: float = 0.1
    labels: q.LabelOptions = field(default_factory=q.LabelOptions)
    rate_window: str = "2m"
    interval: str = "1m"
    idle_watts: float = field(default_factory=lambda: alert_defaults()["idle_burn"]["watts"])
    idle_for: str = field(default_factory=lambda: alert_defaults()["idle_burn"]["for"])
    regression_ratio: float = field(
        default_factory=lambda: alert_defaults()["joules_per_token_regression"]["ratio"]
    )
    baseline: str = field(
        default_factory=lambda: alert_defaults()["joules_per_token_regression"]["baseline"]
    )
    otel_names: bool = False  # also record the draft OpenTelemetry gen_ai energy names

    def __post_init__(self) -> None:
        for name in ("rate_window", "interval", "idle_for", "baseline"):
            value = getattr(self, name)
            if not parse_duration(value, what=name):
                raise InputError(f"{name} {value!r}: expected a duration such as 2m", field=name)
        if not self.idle_watts > 0 or not self.regression_ratio > 1:
            raise InputError(
                "idle watts must be > 0 and the regression ratio > 1", field="idle_watts"
            )


def options_from_config(cfg: Config, **overrides: Any) -> RuleOptions:
    """RuleOptions from a loaded config (carbon model, thresholds, labels), then overrides."""
    from wattlens.app.settings import carbon_model

    labels = q.LabelOptions(
        deployment_label=cfg.labels.deployment_label or None,
        host_label=cfg.labels.host_label or None,
        namespaces=tuple(cfg.backend.namespaces),
    )
    base = {
        "carbon": carbon_model(cfg),
        "min_tokens_per_s": cfg.thresholds.min_tokens_per_s_for_ratio,
        "active_tokens_per_s": cfg.thresholds.active_tokens_per_s,
        "labels": labels,
    }
    return RuleOptions(**{**base, **{k: v for k, v in overrides.items() if v is not None}})


def _gpu(opts: RuleOptions, *, region: bool = False, source: bool = False) -> str:
    """Per-GPU power in W (energy counter where present, else the power gauge), labelled with
    namespace/workload/node (and region/region_source: only where CO2 needs them, since the
    rule chain is the costliest part of the expression)."""
    mj = joules_from_millijoules(1.0)
    energy = f"({q.gpu_rate(Quantity.GPU_ENERGY_MILLIJOULES_TOTAL, opts.rate_window)}) * {mj!r}"
    power = f"({energy}) or ({q.gpu_gauge(Quantity.GPU_POWER_WATTS)})"
    node = q.with_node(q.with_deployment(power, opts.labels), opts.labels)
    return q.with_region(node, opts.carbon, source=source) if region else node


def _engine(quantity: Quantity, opts: RuleOptions) -> str:
    return q.by_deployment(
        q.with_deployment(q.engine_rate(quantity, opts.rate_window), opts.labels)
    )


def rate_inputs(opts: RuleOptions) -> dict[str, str]:
    """Per-deployment PromQL rate of each `core.metrics` total (per second; CO2 in g/h)."""
    gpu = _gpu(opts)
    pue_per_kw = opts.carbon.pue / 1000.0  # W x g/kWh / 1000 = g/h
    located = _gpu(opts, region=True)
    intensity = q.intensity_vector(opts.carbon)
    co2 = q.by_deployment(f"({located}) * on(region) group_left() ({intensity})")
    co2 = f"{co2} * {pue_per_kw!r}"
    return {
        "energy_joules": q.by_deployment(gpu),
        "co2_grams_per_hour": co2,
        "prompt_tokens": _engine(Quantity.PROMPT_TOKENS_TOTAL, opts),
        "generation_tokens": _engine(Quantity.GENERATION_TOKENS_TOTAL, opts),
        "cached_prompt_tokens": _engine(Quantity.CACHED_PROMPT_TOKENS_TOTAL, opts),
        "requests_finished": _engine(Quantity.REQUESTS_FINISHED_TOTAL, opts),
        "itl_seconds_sum": _engine(Quantity.ITL_SECONDS_SUM_TOTAL, opts),
    }


Formula = Callable[[dict[str, str]], str]
# core.metrics formulas in PromQL over per-deployment rates (homogeneous in time: seconds = 1).


def _TOKENS(r: dict[str, str]) -> str:  # noqa: N802 - reads like the formulas around it
    """(prompt + generation) tokens/s; one side missing counts as 0, as in core.metrics."""
    p, g = r["prompt_tokens"], r["generation_tokens"]
    return f"(({p}) + ({g}) or ({p}) or ({g}))"


FORMULAS: dict[str, Formula] = {
    "power_watts": lambda r: r["energy_joules"],
    "prompt_tokens_per_s": lambda r: r["prompt_tokens"],
    "generation_tokens_per_s": lambda r: r["generation_tokens"],
    "tokens_per_s": _TOKENS,
    "requests_per_s": lambda r: r["requests_finished"],
    "energy_wh_per_request": lambda r: (
        f"({r['energy_joules']}) / ({r['requests_finished']}) / 3600"
    ),
    "decode_tokens_per_s": lambda r: f"({r['generation_tokens']}) / ({r['itl_seconds_sum']})",
    "joules_per_token": lambda r: f"({r['energy_joules']}) / {_TOKENS(r)}",
    "joules_per_output_token": lambda r: f"({r['energy_joules']}) / ({r['generation_tokens']})",
    "cached_prompt_tokens_per_s": lambda r: r["cached_prompt_tokens"],
    "joules_per_computed_token": lambda r: (
        f"({r['energy_joules']}) / ({_TOKENS(r)} - ({r['cached_prompt_tokens']}))"
    ),
    "co2_grams_per_hour": lambda r: r["co2_grams_per_hour"],
    "co2_mg_per_token": lambda r: (
        f"({r['co2_grams_per_hour']}) * {1000.0 / 3600.0!r} / {_TOKENS(r)}"
    ),
}


def metric_expr(name: str, opts: RuleOptions, rates: dict[str, str] | None = None) -> str:
    """The PromQL of one vocabulary metric per deployment, cut-off rule included."""
    r = rates or rate_inputs(opts)
    expr = FORMULAS[name](r)
    if BY_NAME[name].per_token:  # same rule as core.metrics.compute_arrays
        expr = f"({expr}) and ({_TOKENS(r)} > {opts.min_tokens_per_s!r})"
    return expr


def unrecorded() -> list[str]:
    """Vocabulary metrics without a PromQL formula yet (a test keeps this empty)."""
    return [n for n in NAMES if n not in FORMULAS]


def _rule(record: str, expr: str, **labels: str) -> dict[str, Any]:
    return {"record": record, "expr": expr, **({"labels": labels} if labels else {})}


def recording_rules(opts: RuleOptions) -> list[dict[str, Any]]:
    """Recording rules: the vocabulary per deployment, idle power, grid intensity and regions."""
    rates = rate_inputs(opts)
    rules = [_rule(PREFIX + n, metric_expr(n, opts, rates)) for n in NAMES if n in FORMULAS]
    idle = f"({rates['energy_joules']}) and ({_TOKENS(rates)} <= {opts.active_tokens_per_s!r})"
    rules.append(_rule(IDLE_POWER, idle))
    carbon = opts.carbon
    for code in q.region_codes(carbon):
        year = "".join(ch for ch in carbon.vintage if ch.isdigit())
        rules.append(_rule(INTENSITY, repr(q.intensity_grams_per_kwh(carbon, code)), region=code,
                           vintage=carbon.vintage, year=year, kind="average"))  # fmt: skip
    rules.append(
        _rule(
            NODE_REGION,
            f"group by (node, region, region_source) ({_gpu(opts, region=True, source=True)})",
        )
    )
    return rules


def alert_rules(opts: RuleOptions) -> list[dict[str, Any]]:
    """Alerts over the recorded series, each with a summary, description and runbook."""
    stale = alert_defaults()["stale_telemetry"]
    dep = "{{ $labels.deployment }}"
    return [
        {
            "alert": "WattlensIdleDeploymentBurning",
            "expr": f"{IDLE_POWER} > {opts.idle_watts!r}",
            "for": opts.idle_for,
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": f"{dep} idle at {{{{ $value | humanize }}}}W for {opts.idle_for}",
                "description": "The deployment served no tokens but its GPUs drew power.",
                "runbook": "Check the deployment's traffic (router, ingress); scale it to zero "
                "or consolidate onto fewer GPUs (`wattlens analyze` right-sizing); if it must "
                "stay warm, lower its GPU power limit.",
            },
        },
        {
            "alert": "WattlensJoulesPerTokenRegression",
            "expr": f"{PREFIX}joules_per_token > {opts.regression_ratio!r} * "
            f"avg_over_time({PREFIX}joules_per_token[{opts.baseline}])",
            "for": "1h",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": f"{dep} J/token {{{{ $value | humanize }}}} above "
                f"{opts.regression_ratio}x its {opts.baseline} average",
                "description": "Energy per token rose against the deployment's own baseline.",
                "runbook": "Compare batch size and KV-cache use with the baseline period; look "
                "for a model or engine version change, a lost prefix cache, throttling GPUs "
                "(dcgm clocks, temperature), or traffic too low to batch.",
            },
        },
        {
            "alert": "WattlensTelemetryStale",
            "expr": f"max by (namespace, workload, deployment) (max_over_time("
            f"{PREFIX}power_watts[{stale['lookback']}])) unless on(namespace, workload) "
            f"{PREFIX}power_watts",
            "for": stale["for"],
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": f"{dep}: no GPU power telemetry",
                "description": "Power for this deployment was recorded within "
                f"{stale['lookback']} but is missing now.",
                "runbook": "Check the dcgm-exporter pod on the deployment's nodes and its "
                "Prometheus target (up == 0?); check the pod-label mapping (kubelet "
                "pod-resources socket mounted in dcgm-exporter). If the deployment was "
                "removed, the alert resolves after the lookback.",
            },
        },
    ]


@cache
def otel_names() -> dict[str, Any]:
    """The draft OpenTelemetry gen_ai energy names and their wattlens sources (otel_names.toml)."""
    text = resources.files("wattlens.integrations").joinpath("otel_names.toml").read_text()
    return tomllib.loads(text)


def otel_rules(opts: RuleOptions) -> list[dict[str, Any]]:
    """The recorded series again under the draft OTel names (label k8s_namespace_name added).

    They read the wattlens series, so backfill them in a second promtool pass."""
    rules = []
    for m in otel_names()["metric"]:
        if m["wattlens"] == "idle":
            expr = f"{PREFIX}tokens_per_s <= bool {opts.active_tokens_per_s!r}"
        else:
            expr = PREFIX + m["wattlens"]
        expr = f'label_replace({expr}, "k8s_namespace_name", "$1", "namespace", "(.*)")'
        rules.append(_rule(m["prometheus"], expr))
    return rules


def rule_groups(opts: RuleOptions) -> dict[str, Any]:
    """The rules file as a dict: one recording group, one alerting group (and OTel names)."""
    groups = [
        {"name": "wattlens-recording", "interval": opts.interval, "rules": recording_rules(opts)},
        {"name": "wattlens-alerts", "interval": opts.interval, "rules": alert_rules(opts)},
    ]
    if opts.otel_names:
        groups.append({"name": "wattlens-otel-gen-ai", "interval": opts.interval,
                       "rules": otel_rules(opts)})  # fmt: skip
    return {"groups": groups}


def render_rules(opts: RuleOptions) -> str:
    """The rules file as YAML, with a header naming its inputs."""
    c = opts.carbon
    head = (
        "# Generated by `wattlens rules`; regenerate instead of editing.\n"
        f"# grid: {c.vintage}, default region {c.default_region}, PUE {c.pue}; "
        f"ratios above {opts.min_tokens_per_s} tokens/s; rate window {opts.rate_window}.\n"
    )
    return head + yaml.safe_dump(rule_groups(opts), sort_keys=False, width=10_000)


__all__ = [
    "FORMULAS",
    "IDLE_POWER",
    "INTENSITY",
    "NODE_REGION",
    "PREFIX",
    "RuleOptions",
    "alert_defaults",
    "alert_rules",
    "metric_expr",
    "options_from_config",
    "otel_names",
    "otel_rules",
    "rate_inputs",
    "recording_rules",
    "render_rules",
    "rule_groups",
    "unrecorded",
]
