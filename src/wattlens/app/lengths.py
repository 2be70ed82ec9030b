"""Energy per request by prompt and output length, from stored request-length histograms.

For each bucket (lo, le] of `vllm:request_prompt_tokens` / `vllm:request_generation_tokens` the
report gives the requests in it, their share, and an estimated Wh per request:

    idle Wh per request + marginal J per token x (bucket length + the other side's mean) / 3600

The store keeps one energy per interval, not one per prompt and per output token, so a prompt
token and an output token carry the same marginal energy here (marginal energy / all tokens), and
the other dimension sits at the deployment's mean. A bucket's length is its midpoint; the open
last bucket (above the largest bound) takes the mean that makes the buckets add up to the stored
token total (at least its lower bound).
"""

from __future__ import annotations

import math
from typing import Any

from wattlens.core.units import SECONDS_PER_HOUR
from wattlens.store.lengths import Distribution

ASSUMPTION = (
    "energy per request = idle Wh per request + marginal J per token x (bucket length + the "
    "other side's mean length); prompt and output tokens share one marginal J per token (the "
    "store does not split energy between them); bucket length = midpoint, the open last bucket "
    "its mean from the token total"
)
NOT_EXPOSED = (
    "not stored: the engine does not expose the vllm:request_prompt_tokens / "
    "vllm:request_generation_tokens histograms (or none were imported), so energy per request "
    "by prompt and output length cannot be given"
)
_KIND_TOKENS = {"prompt": "prompt_tokens", "generation": "generation_tokens"}


def _buckets(cum: list[tuple[float, float]], tokens: float | None) -> list[dict[str, Any]]:
    """Per-bucket rows (lo, le], requests and representative length from cumulative counts."""
    rows: list[dict[str, Any]] = []
    prev_le, prev_n = 0.0, 0.0
    for le, n in sorted(cum):
        rows.append({"lo_tokens": prev_le, "le_tokens": le, "requests": max(n - prev_n, 0.0)})
        prev_le, prev_n = le, max(n, prev_n)
    finite = sum(r["requests"] * (r["lo_tokens"] + r["le_tokens"]) / 2.0
                 for r in rows if math.isfinite(r["le_tokens"]))  # fmt: skip
    for r in rows:
        if math.isfinite(r["le_tokens"]):
            r["length_tokens"] = (r["lo_tokens"] + r["le_tokens"]) / 2.0
        elif r["requests"] > 0 and tokens is not None:
            r["length_tokens"] = max((tokens - finite) / r["requests"], r["lo_tokens"])
        else:
            r["length_tokens"] = r["lo_tokens"]
    return rows


def distribution_row(row: dict[str, Any], kinds: dict[str, list[tuple[float, float]]]) -> dict:
    """`request_length_distribution` of one report row (its idle/marginal split and totals)."""
    requests = row.get("requests_finished") or 0
    tokens = {k: row.get(v) for k, v in _KIND_TOKENS.items()}
    all_tokens = (tokens["prompt"] or 0) + (tokens["generation"] or 0)
    idle_wh, marginal_wh = row.get("idle_wh_per_request"), row.get("marginal_wh_per_request")
    split = "measured"
    if idle_wh is None and row.get("energy_wh_per_request") is not None:
        idle_wh, marginal_wh = 0.0, row["energy_wh_per_request"]
        split = "no idle intervals to measure idle power: all energy counted per token"
    jpt = (
        marginal_wh * requests * SECONDS_PER_HOUR / all_tokens
        if marginal_wh is not None and requests and all_tokens
        else None
    )
    means = {k: (t / requests if t is not None and requests else None) for k, t in tokens.items()}
    out: dict[str, Any] = {
        "marginal_joules_per_token": jpt,
        "idle_wh_per_request": idle_wh,
        "idle_split": split,
        "assumption": ASSUMPTION,
    }
    for kind, cum in kinds.items():
        other = means["generation" if kind == "prompt" else "prompt"]
        rows = _buckets(cum, tokens.get(kind))
        total = sum(r["requests"] for r in rows)
        for r in rows:
            r["share"] = r["requests"] / total if total else None
            r["le_tokens"] = r["le_tokens"] if math.isfinite(r["le_tokens"]) else None
            ok = jpt is not None and idle_wh is not None and other is not None
            r["energy_wh_per_request"] = (
                idle_wh + jpt * (r["length_tokens"] + other) / SECONDS_PER_HOUR if ok else None
            )
        out[kind] = [r for r in rows if r["requests"] > 0]
    return out


def attach(body: dict[str, Any], dist: Distribution | None) -> dict[str, Any]:
    """Add `request_length_distribution` to every deployment row with stored histograms."""
    found = False
    for row in body["deployments"]:
        kinds = (dist or {}).get(row["deployment"])
        row["request_length_distribution"] = distribution_row(row, kinds) if kinds else None
        found = found or bool(kinds)
    body["request_lengths"] = ASSUMPTION if found else NOT_EXPOSED
    return body


__all__ = ["ASSUMPTION", "NOT_EXPOSED", "attach", "distribution_row"]
