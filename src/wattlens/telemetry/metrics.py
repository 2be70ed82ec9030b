"""The metric vocabulary: exposed names (all known variants) -> one canonical quantity.

Readers may use `WANTED_METRICS` to skip lines wattlens never reads.
"""

from __future__ import annotations

from enum import StrEnum


class Quantity(StrEnum):
    """Canonical quantities wattlens derives from. Counters end in `_total` here too."""

    GPU_POWER_WATTS = "gpu_power_watts"  # gauge
    GPU_ENERGY_MILLIJOULES_TOTAL = "gpu_energy_millijoules_total"  # counter, mJ since boot
    GPU_UTIL_PERCENT = "gpu_util_percent"  # gauge 0-100
    GPU_MEMORY_USED_MIB = "gpu_memory_used_mib"  # gauge
    PROMPT_TOKENS_TOTAL = "prompt_tokens_total"  # counter
    GENERATION_TOKENS_TOTAL = "generation_tokens_total"  # counter
    CACHED_PROMPT_TOKENS_TOTAL = "cached_prompt_tokens_total"  # counter: prompt tokens from cache
    REQUESTS_RUNNING = "requests_running"  # gauge
    REQUESTS_WAITING = "requests_waiting"  # gauge
    KV_CACHE_USAGE_RATIO = "kv_cache_usage_ratio"  # gauge 0-1
    REQUESTS_FINISHED_TOTAL = "requests_finished_total"  # counter
    ITL_SECONDS_SUM_TOTAL = "itl_seconds_sum_total"  # counter (histogram _sum)


COUNTERS = frozenset(
    {
        Quantity.GPU_ENERGY_MILLIJOULES_TOTAL,
        Quantity.PROMPT_TOKENS_TOTAL,
        Quantity.GENERATION_TOKENS_TOTAL,
        Quantity.CACHED_PROMPT_TOKENS_TOTAL,
        Quantity.REQUESTS_FINISHED_TOTAL,
        Quantity.ITL_SECONDS_SUM_TOTAL,
    }
)

GPU_QUANTITIES = frozenset(
    {
        Quantity.GPU_POWER_WATTS,
        Quantity.GPU_ENERGY_MILLIJOULES_TOTAL,
        Quantity.GPU_UTIL_PERCENT,
        Quantity.GPU_MEMORY_USED_MIB,
    }
)

# Exposed metric name -> quantity. Sources: dcgm-exporter default-counters.csv; vLLM V1
# loggers.py (old and new names across 0.9-0.13); SGLang metrics (see docs/telemetry).
METRIC_ALIASES: dict[str, Quantity] = {
    "DCGM_FI_DEV_POWER_USAGE": Quantity.GPU_POWER_WATTS,
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": Quantity.GPU_ENERGY_MILLIJOULES_TOTAL,
    "DCGM_FI_DEV_GPU_UTIL": Quantity.GPU_UTIL_PERCENT,
    "DCGM_FI_DEV_FB_USED": Quantity.GPU_MEMORY_USED_MIB,
    "vllm:prompt_tokens_total": Quantity.PROMPT_TOKENS_TOTAL,
    "vllm:generation_tokens_total": Quantity.GENERATION_TOKENS_TOTAL,
    "vllm:num_requests_running": Quantity.REQUESTS_RUNNING,
    "vllm:num_requests_waiting": Quantity.REQUESTS_WAITING,
    "vllm:kv_cache_usage_perc": Quantity.KV_CACHE_USAGE_RATIO,
    "vllm:gpu_cache_usage_perc": Quantity.KV_CACHE_USAGE_RATIO,
    "vllm:request_success_total": Quantity.REQUESTS_FINISHED_TOTAL,
    "vllm:inter_token_latency_seconds_sum": Quantity.ITL_SECONDS_SUM_TOTAL,
    "vllm:time_per_output_token_seconds_sum": Quantity.ITL_SECONDS_SUM_TOTAL,
    # Prefix-cache hits are counted inside prompt_tokens; these count the cached part
    # (by_source: only its source="local_cache_hit" series, see derive.resolve).
    "vllm:prompt_tokens_by_source_total": Quantity.CACHED_PROMPT_TOKENS_TOTAL,
    "vllm:prefix_cache_hits_total": Quantity.CACHED_PROMPT_TOKENS_TOTAL,
    "sglang:cached_tokens_total": Quantity.CACHED_PROMPT_TOKENS_TOTAL,
    "sglang:prompt_tokens_total": Quantity.PROMPT_TOKENS_TOTAL,
    "sglang:generation_tokens_total": Quantity.GENERATION_TOKENS_TOTAL,
    "sglang:num_running_reqs": Quantity.REQUESTS_RUNNING,
    "sglang:num_queue_reqs": Quantity.REQUESTS_WAITING,
    "sglang:token_usage": Quantity.KV_CACHE_USAGE_RATIO,
    "sglang:inter_token_latency_seconds_sum": Quantity.ITL_SECONDS_SUM_TOTAL,
}

# When two names map to one quantity for the same engine, prefer the newer one.
PREFERRED_NAMES: dict[Quantity, tuple[str, ...]] = {
    Quantity.CACHED_PROMPT_TOKENS_TOTAL: (
        "vllm:prompt_tokens_by_source_total",
        "vllm:prefix_cache_hits_total",
    ),
    Quantity.KV_CACHE_USAGE_RATIO: ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
    Quantity.ITL_SECONDS_SUM_TOTAL: (
        "vllm:inter_token_latency_seconds_sum",
        "vllm:time_per_output_token_seconds_sum",
    ),
}

WANTED_METRICS = frozenset(METRIC_ALIASES)


def quantity_of(name: str) -> Quantity | None:
    """Canonical quantity for an exposed metric name, or None if wattlens does not use it."""
    return METRIC_ALIASES.get(name)


# vLLM's request-length histograms: read beside the counters (bucket counters only), kept apart
# from the interval derivation (derive/histograms.py).
LENGTH_HISTOGRAMS: dict[str, str] = {
    "vllm:request_prompt_tokens_bucket": "prompt",
    "vllm:request_generation_tokens_bucket": "generation",
}
# Everything a collector or an import reads.
COLLECTED_METRICS: frozenset[str] = WANTED_METRICS | frozenset(LENGTH_HISTOGRAMS)

__all__ = [
    "COLLECTED_METRICS",
    "LENGTH_HISTOGRAMS",
    "COUNTERS",
    "GPU_QUANTITIES",
    "METRIC_ALIASES",
    "PREFERRED_NAMES",
    "WANTED_METRICS",
    "Quantity",
    "quantity_of",
]
