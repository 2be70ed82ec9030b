"""Measure: energy benchmarks of your own LLM endpoints (issue #13).

- `dataset`: prompts from JSONL, synthetic prompts, grid specs.
- `loadgen`: the async streaming load generator (TTFT, ITL, end-to-end latency, tokens, words).
- `energy`: energy readings (dcgm-format scrape, NVML, Prometheus) and window energy.
- `results`: one configuration's result row, steady window and validity flags.
- `powercap`: NVML power caps restored on any exit.
- `bench`: the orchestration (`run_bench`); `output`: CSV/Parquet, grid CSV, ML.ENERGY, charts.
"""

from wattlens.measure.bench import BenchOptions, BenchResult, configurations, run_bench

__all__ = ["BenchOptions", "BenchResult", "configurations", "run_bench"]
