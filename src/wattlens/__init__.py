"""wattlens: energy and CO2 per token for LLM inference on GPUs.

Subpackages: catalog (data files with sources), physics (pure vectorised models),
telemetry (Prometheus API, exporter scrape, OpenMetrics import), fleet (per-deployment
derivation and carbon), store (DuckDB history), emulator (demo fleet), analysis, plan, web.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "open"]


def __getattr__(name: str) -> Any:
    """`wattlens.open(db)`: the notebook API, imported on first use (pandas is not loaded by
    the CLI)."""
    if name == "open":
        from wattlens.integrations.notebook import open_fleet

        return open_fleet
    raise AttributeError(f"module 'wattlens' has no attribute {name!r}")
