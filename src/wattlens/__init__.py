"""wattlens: energy and CO2 per token for LLM inference on GPUs.

Subpackages: catalog (data files with sources), physics (pure vectorised models),
telemetry (Prometheus API, exporter scrape, OpenMetrics import), fleet (per-deployment
derivation and carbon), store (DuckDB history), emulator (demo fleet), analysis, plan, web.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
