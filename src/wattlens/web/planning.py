"""Bodies of the planning API: tok/W against context (with the 1/W line) and fleet comparisons.

Names are resolved against the catalog and values checked first (unknown: 404 with
suggestions, bad: 400); what the planner still refuses is an `InfeasibleError` (422: the
weights do not fit, no split point meets the SLO). Planner errors name the field they are about
(`split_tokens`); `query_names` shows it as this API's query parameter (`split`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from wattlens.catalog import get_gpu, get_model
from wattlens.core.errors import InputError, WattlensError
from wattlens.plan.options import (
    DEFAULT_PROFILE,
    PROFILES,
    TOPOLOGIES,
    Convention,
    ProfileName,
    Variant,
)
from wattlens.web.params import check_catalog_name

CONVENTIONS: tuple[Convention, ...] = ("physical", "paper")
VARIANTS: tuple[Variant, ...] = ("consistent", "published")
TRACES = ("azure", "lmsys", "lmsys-multiturn", "agent")  # bundled CDFs only: never a file path
TP_CHOICES = ("1", "2", "4", "8", "16")
MAX_MODELS = 4
MAX_GPUS = 6
MAX_PAIRS = 12
MAX_FLEET_GPUS = 4
MAX_RATE_RPS = 1e6
MAX_SLO_TTFT_MS = 600_000.0
MAX_BATCH = 65_536
MAX_GAMMA = 16.0


@dataclass(frozen=True, slots=True)
class Options:
    """What `plan tokw` and `plan fleet` share: TP, dtype, profile, convention, variant."""

    tp: int | None
    dtype: str | None
    profile: ProfileName
    convention: Convention
    variant: Variant


def resolve_models(names: Sequence[str]) -> list[str]:
    """Catalog model ids for names (400 for bad characters, 404 with suggestions if unknown)."""
    return list(dict.fromkeys(get_model(check_catalog_name(n, "model")).id for n in names))


def resolve_gpus(names: Sequence[str]) -> list[str]:
    """Catalog GPU ids for names (400 for bad characters, 404 with suggestions if unknown)."""
    return list(dict.fromkeys(get_gpu(check_catalog_name(n, "gpu")).id for n in names))


# The planner's error fields whose query parameter is named otherwise (the others are the same).
QUERY_NAMES = {
    "contexts": "context",
    "gpus": "gpu",
    "rate_rps": "rate",
    "split_tokens": "split",
    "topologies": "topology",
}


@contextmanager
def query_names() -> Iterator[None]:
    """Run the planner: an error about a field names the query parameter (QUERY_NAMES)."""
    try:
        yield
    except WattlensError as e:
        renamed = e.renamed(QUERY_NAMES)
        if renamed is e:
            raise
        raise renamed from e


def reference_line(results: Sequence[dict[str, Any]], contexts: Sequence[int]) -> dict | None:
    """The 1/W law through the first result's smallest fitting context: tok/W x W constant."""
    for r in results:
        fits = [row for row in r["rows"] if row["fits"] and row["tokens_per_watt"] > 0]
        if fits:
            w0, y0 = fits[0]["context_tokens"], fits[0]["tokens_per_watt"]
            return {
                "label": "1/W reference (halves per doubling of the context)",
                "anchor": {
                    "model": r["model"],
                    "gpu": r["gpu"],
                    "context_tokens": w0,
                    "tokens_per_watt": y0,
                },  # fmt: skip
                "context_tokens": list(contexts),
                "tokens_per_watt": [y0 * w0 / w for w in contexts],
            }
    return None


def tokw_body(
    models: Sequence[str],
    gpus: Sequence[str],
    contexts: Sequence[int],
    batch: int | None,
    opts: Options,
) -> dict[str, Any]:
    """`plan_tokw` for every (model, GPU) pair, plus the 1/W reference line."""
    from wattlens.plan.tokw import plan_tokw  # numpy and the planner load on first use

    if len(models) * len(gpus) > MAX_PAIRS:
        raise InputError(
            f"{len(models)} models x {len(gpus)} GPUs is {len(models) * len(gpus)} pairs; "
            f"at most {MAX_PAIRS} are allowed"
        )
    with query_names():
        results = [
            plan_tokw(
                m, g, tp=opts.tp, dtype=opts.dtype, contexts=contexts, batch=batch,
                at_limit=batch is None, profile=opts.profile,
                convention=opts.convention, variant=opts.variant,
            ).as_dict()
            for m in models
            for g in gpus
        ]  # fmt: skip
    return {
        "context_tokens": list(contexts),
        "batch": batch,
        "profile": opts.profile,
        "convention": opts.convention,
        "variant": opts.variant,
        "results": results,
        "reference_1_over_w": reference_line(results, contexts),
    }


def fleet_body(
    model: str,
    gpus: Sequence[str],
    *,
    rate_rps: float,
    trace: str,
    topologies: Sequence[str],
    split_tokens: int | None,
    gamma: float | None,
    slo_ttft_ms: float,
    max_util: float,
    opts: Options,
) -> dict[str, Any]:
    """`compare_fleets` over GPUs x topologies: one row each, gains as tok/W ratios."""
    from wattlens.plan.fleet import compare_fleets  # numpy and scipy load on first use

    with query_names():
        comparison = compare_fleets(
            model, list(gpus), rate_rps=rate_rps, trace=trace, topologies=list(topologies),
            split_tokens=split_tokens, gamma=gamma, slo_ttft_ms=slo_ttft_ms, max_util=max_util,
            profile=opts.profile, convention=opts.convention,
            variant=opts.variant, tp=opts.tp, dtype=opts.dtype,
        )  # fmt: skip
    body = comparison.as_dict()
    return {
        "model": model,
        "gpus": list(gpus),
        "topologies": list(topologies),
        "rate_rps": rate_rps,
        "trace": trace,
        "slo_ttft_ms": slo_ttft_ms,
        "max_util": max_util,
        "profile": opts.profile,
        "convention": opts.convention,
        "variant": opts.variant,
        **body,
    }


__all__ = [
    "CONVENTIONS",
    "DEFAULT_PROFILE",
    "MAX_BATCH",
    "MAX_FLEET_GPUS",
    "MAX_GAMMA",
    "MAX_GPUS",
    "MAX_MODELS",
    "MAX_PAIRS",
    "MAX_RATE_RPS",
    "MAX_SLO_TTFT_MS",
    "PROFILES",
    "TOPOLOGIES",
    "TP_CHOICES",
    "TRACES",
    "VARIANTS",
    "Options",
    "QUERY_NAMES",
    "fleet_body",
    "query_names",
    "reference_line",
    "resolve_gpus",
    "resolve_models",
    "tokw_body",
]
