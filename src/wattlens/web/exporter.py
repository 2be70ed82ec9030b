"""`/metrics`: derived per-deployment gauges, read from the store at scrape time.

A prometheus_client custom `Collector` whose `collect()` reads the shared snapshot, so a scrape
costs no more than one dashboard refresh. Gauges carry `deployment`, `namespace`, `model_name`
and `gpu_type` labels; a gauge whose value is unknown (no data, or traffic below the ratio
threshold) is left out for that deployment rather than exported as 0.

`[exporter] names` chooses the names: `wattlens` (the `wattlens_*` gauges), `otel` (the draft
OpenTelemetry `gen_ai.infrastructure.*` energy names in their Prometheus spelling, from
`integrations/otel_names.toml`, with the `k8s_namespace_name` label as `wattlens rules
--otel-names` records them) or `both`. `wattlens_data_age_seconds` is always exported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from wattlens.config import Config
from wattlens.integrations.rules import otel_names
from wattlens.web.snapshot import Freshness, Snapshot
from wattlens.web.views import intensity_of

LABELS = ("deployment", "namespace", "model_name", "gpu_type")
OTEL_LABELS = (*LABELS, "k8s_namespace_name")

# (metric name, help, key in the live row); values are SI with the unit in the name
GAUGES: tuple[tuple[str, str, str], ...] = (
    ("wattlens_power_watts", "Mean GPU power over the live window (W).", "power_watts"),
    (
        "wattlens_joules_per_token",
        "Energy per prompt+generation token over the live window (J); absent at low traffic.",
        "joules_per_token",
    ),
    (
        "wattlens_co2_grams_per_hour",
        "CO2 rate: power x grid intensity x PUE (g/h).",
        "co2_grams_per_hour",
    ),
    (
        "wattlens_co2_mg_per_token",
        "CO2 per prompt+generation token (mg); absent at low traffic.",
        "co2_mg_per_token",
    ),
    ("wattlens_tokens_per_second", "Prompt+generation tokens per second.", "tokens_per_s"),
)


class StoreCollector(Collector):
    """Yields the wattlens gauges from `snapshot()` (and freshness from `freshness()`)."""

    def __init__(
        self,
        snapshot: Callable[[], Snapshot],
        config: Config,
        freshness: Callable[[], Freshness] | None = None,
    ) -> None:
        self._snapshot = snapshot
        self._config = config
        self._freshness = freshness

    def describe(self) -> list[Any]:
        """Nothing up front: describing would read the store at registration."""
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One family per gauge, one sample per deployment with a known value."""
        snap = self._snapshot()
        families = {
            name: GaugeMetricFamily(name, help_, labels=LABELS) for name, help_, _ in GAUGES
        }
        intensity = GaugeMetricFamily(
            "wattlens_carbon_intensity_kg_per_kwh",
            "Grid carbon intensity applied to the deployment (kg CO2/kWh).",
            labels=LABELS,
        )
        names = self._config.exporter.names
        otel = {m["prometheus"]: m for m in otel_names()["metric"]}
        otel_families = {
            name: GaugeMetricFamily(name, f"{m['otel']} (OpenTelemetry draft, "
                                    f"{otel_names()['stability']}): wattlens {m['wattlens']}.",
                                    labels=OTEL_LABELS)
            for name, m in otel.items()
        }  # fmt: skip
        active_cutoff = self._config.thresholds.active_tokens_per_s
        for dep in snap.deployments:
            info = dep.info
            labels = [
                info.deployment_id,
                info.namespace,
                info.model_name or "",
                info.gpu_type or "",
            ]
            live = snap.live.get(info.deployment_id) or {}
            for name, _, key in GAUGES:
                value = live.get(key)
                if value is not None:
                    families[name].add_metric(labels, float(value))
            ci = intensity_of(info, snap, self._config)
            if ci is not None:
                intensity.add_metric(labels, ci)
            for name, m in otel.items():
                value = _otel_value(live, m["wattlens"], active_cutoff)
                if value is not None:
                    otel_families[name].add_metric([*labels, info.namespace], value)
        if names in ("wattlens", "both"):
            yield from families.values()
            yield intensity
        if names in ("otel", "both"):
            yield from otel_families.values()
        if self._freshness is not None:
            f = self._freshness()
            age = GaugeMetricFamily(
                "wattlens_data_age_seconds", "Seconds since the last good sample."
            )
            if f.age_s is not None:
                age.add_metric([], f.age_s)
            yield age


def _otel_value(live: dict[str, Any], key: str, active_tokens_per_s: float) -> float | None:
    """A live row's value for an OTel name; `idle` is 1 at or below the activity cut-off."""
    if key == "idle":
        rate = live.get("tokens_per_s")
        return None if rate is None else float(rate <= active_tokens_per_s)
    value = live.get(key)
    return None if value is None else float(value)


def make_registry(collector: StoreCollector) -> CollectorRegistry:
    """A private registry holding only `collector` (no process or platform collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


__all__ = ["GAUGES", "LABELS", "OTEL_LABELS", "StoreCollector", "make_registry"]
