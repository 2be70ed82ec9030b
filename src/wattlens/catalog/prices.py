"""GPU rental prices (`prices.toml`): US dollars per GPU-hour, each with a source and year."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from wattlens.catalog._load import check_keys, check_sources, load_toml
from wattlens.catalog.gpus import get_gpu
from wattlens.core.errors import CatalogError

_FILE = "prices.toml"


@dataclass(frozen=True, slots=True)
class GpuPrice:
    """Price of one GPU-hour."""

    gpu: str
    usd_per_gpu_hour: float
    sources: tuple[str, ...]


@cache
def _prices() -> dict[str, GpuPrice]:
    out = {}
    for gpu_id, t in load_toml(_FILE)["prices"].items():
        where = f"{_FILE}: prices.{gpu_id}"
        check_keys(t, ("usd_per_gpu_hour", "sources"), (), where)
        price = float(t["usd_per_gpu_hour"])
        if not price > 0:
            raise CatalogError(f"{where}: usd_per_gpu_hour {price!r} must be positive")
        out[get_gpu(gpu_id).id] = GpuPrice(gpu_id, price, check_sources(t["sources"], where))
    return out


def gpu_price(gpu_id: str) -> GpuPrice | None:
    """The price of a catalog GPU, or None where the table has none."""
    return _prices().get(get_gpu(gpu_id).id)


__all__ = ["GpuPrice", "gpu_price"]
