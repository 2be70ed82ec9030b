"""Pure derivation: raw series -> per-deployment intervals (counters, resets, joins, carbon).

Modules: `engine` (the `Deriver`: streams, deployments, intervals), `buckets` (accumulators),
`spread` (counter increments spread over gaps), `resolve` (series -> streams and deployments),
`carbon` (grid intensity from node labels x PUE).
"""
