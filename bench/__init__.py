"""Benchmarks: each module has main() printing figures and a ratio to a same-run baseline."""
