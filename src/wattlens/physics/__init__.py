"""Physics core: pure, vectorised functions in SI units (numpy broadcasting throughout).

Modules: units (the only unit conversions), kv (KV bytes per token, GQA/MLA, weight bytes per
dtype), concurrency (KV budget and the concurrency limit for a context window), roofline
(decode step and prefill time), power (logistic P(batch) and utilisation power).
"""
