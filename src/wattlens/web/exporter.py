"""`/metrics`: derived per-deployment gauges, read from the store at scrape time.

A prometheus_client custom `Collector` whose `collect()` reads the shared snapshot, so a scrape
costs no more than one dashboard refresh. Gauges carry `deployment`, `namespace`, `model_name`
and `gpu_type` labels; a gauge whose value is unknown (no data, or traffic below the ratio
threshold) is left out for that deployment rather than exported as 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from wattlens.config import Config
from wattlens.web.snapshot import Freshness, Snapshot
from wattlens.web.views import intensity_of

LABELS = ("deployment", "namespace", "model_name", "gpu_type")

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
        yield from families.values()
        yield intensity
        if self._freshness is not None:
            f = self._freshness()
            age = GaugeMetricFamily(
                "wattlens_data_age_seconds", "Seconds since the last good sample."
            )
            if f.age_s is not None:
                age.add_metric([], f.age_s)
            yield age


def make_registry(collector: StoreCollector) -> CollectorRegistry:
    """A private registry holding only `collector` (no process or platform collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


__all__ = ["GAUGES", "LABELS", "StoreCollector", "make_registry"]
