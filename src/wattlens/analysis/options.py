"""Analysis options: thresholds and assumptions, defaulting to the sourced `defaults.toml`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from functools import cache
from importlib import resources
from typing import Any

from wattlens.catalog import constant
from wattlens.catalog.frontier import default_frontier
from wattlens.config import Config
from wattlens.core.errors import ConfigError


@cache
def analysis_defaults() -> dict[str, Any]:
    """Parsed `wattlens/analysis/defaults.toml` (each table has a `source`)."""
    raw = resources.files("wattlens.analysis").joinpath("defaults.toml").read_bytes()
    return tomllib.loads(raw.decode("utf-8"))


def _d(section: str, key: str) -> Any:
    table = analysis_defaults()
    for part in section.split("."):
        table = table[part]
    return table[key]


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    """Every knob of `analyze`; build with `AnalysisOptions.default()` and `.with_(...)`."""

    # activity thresholds (catalog constants, NRP dashboard 2026)
    min_tokens_per_s_for_ratio: float
    active_tokens_per_s: float
    # idle learning
    min_zero_traffic_samples: int
    zero_running_max: float
    intercept_max_rel_se: float
    intercept_max_rise_fraction: float
    # efficiency curve
    curve_bins: int
    min_bin_samples: int
    knee_improvement: float
    saturation_fraction: float
    current_window_s: float
    chart_points: int
    # right-sizing
    context_tokens: int
    concurrency_quantile: float
    activation_overhead_bytes: float
    nccl_bytes_tp_gt1: float
    gpu_memory_utilization: float
    block_tokens: int
    min_saving_fraction: float
    min_saving_watts: float
    alternative_gpu_types: tuple[str, ...]
    # consolidation
    idle_fraction_candidate: float
    load_bandwidth_bytes_per_s: float
    startup_overhead_s: float
    scale_down_delay_s: float
    # frontier
    frontier_spec: str
    prefill_utilisation: float
    decode_batch: float
    bandwidth_efficiency: float
    # model resolution (#10): the user's models ([models] in wattlens.toml) and the hub
    model_directory: str = ""
    custom_models: tuple[tuple[str, dict[str, Any]], ...] = ()
    model_hub: bool = True

    @classmethod
    def default(cls) -> AnalysisOptions:
        """Options from `defaults.toml` and the catalog constants."""
        return cls(
            min_tokens_per_s_for_ratio=constant("min_tokens_per_s_for_ratio").value,
            active_tokens_per_s=constant("active_tokens_per_s").value,
            min_zero_traffic_samples=int(_d("idle", "min_zero_traffic_samples")),
            zero_running_max=float(_d("idle", "zero_running_max")),
            intercept_max_rel_se=float(_d("idle", "intercept_max_rel_se")),
            intercept_max_rise_fraction=float(_d("idle", "intercept_max_rise_fraction")),
            curve_bins=int(_d("curve", "bins")),
            min_bin_samples=int(_d("curve", "min_bin_samples")),
            knee_improvement=float(_d("curve", "knee_improvement")),
            saturation_fraction=float(_d("curve", "saturation_fraction")),
            current_window_s=float(_d("curve", "current_window_s")),
            chart_points=int(_d("curve", "chart_points")),
            context_tokens=int(_d("rightsize", "context_tokens")),
            concurrency_quantile=float(_d("rightsize", "concurrency_quantile")),
            activation_overhead_bytes=float(_d("rightsize", "activation_overhead_bytes")),
            nccl_bytes_tp_gt1=float(_d("rightsize.nccl", "bytes_tp_gt1")),
            gpu_memory_utilization=constant("vllm_gpu_memory_utilization").value,
            block_tokens=int(constant("vllm_block_size_tokens").value),
            min_saving_fraction=float(_d("rightsize", "min_saving_fraction")),
            min_saving_watts=float(_d("rightsize", "min_saving_watts")),
            alternative_gpu_types=(),
            idle_fraction_candidate=float(_d("consolidate", "idle_fraction_candidate")),
            load_bandwidth_bytes_per_s=float(_d("consolidate", "load_bandwidth_bytes_per_s")),
            startup_overhead_s=float(_d("consolidate", "startup_overhead_s")),
            scale_down_delay_s=float(_d("consolidate", "scale_down_delay_s")),
            frontier_spec=default_frontier().id,  # one source: frontier.toml `default`
            prefill_utilisation=float(_d("frontier", "prefill_utilisation")),
            decode_batch=float(_d("frontier", "decode_batch")),
            bandwidth_efficiency=float(_d("frontier", "bandwidth_efficiency")),
        )

    @classmethod
    def from_config(cls, config: Config) -> AnalysisOptions:
        """The defaults, with the thresholds the config sets (`[thresholds]`), so `analyze`,
        `status` and the dashboard apply the same cut-offs."""
        t, m = config.thresholds, config.models
        return cls.default().with_(
            min_tokens_per_s_for_ratio=t.min_tokens_per_s_for_ratio,
            active_tokens_per_s=t.active_tokens_per_s,
            model_directory=str(m.directory or ""),
            custom_models=m.custom,
            model_hub=m.hub,
        )

    def with_(self, **changes: Any) -> AnalysisOptions:
        """A copy with some fields changed; ConfigError names an unknown field."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(
                f"analysis option(s) {unknown} unknown; expected some of {', '.join(sorted(known))}"
            )
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (the `assumptions` block of the JSON output)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


__all__ = ["AnalysisOptions", "analysis_defaults"]
