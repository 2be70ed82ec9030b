"""Pure derivation: raw series -> per-deployment intervals (counters, resets, joins, carbon).

Modules: `engine` (the `Deriver`: series resolution and per-deployment state), `options`
(`DeriveOptions`), `layout` (accumulator columns and state records), `accumulate` (samples ->
bucket contributions), `emit` (buckets -> records), `buckets` (accumulators), `spread` (counter
increments spread over gaps), `resolve` (series -> streams and deployments), `carbon` (grid
intensity from node labels x PUE).
"""

from wattlens.derive.engine import Deriver
from wattlens.derive.options import CarbonLookup, DeriveOptions

__all__ = ["CarbonLookup", "DeriveOptions", "Deriver"]
