"""`plan query`: energy per query with its uncertainty (Oviedo et al. 2025), per model and for a
blend, from the throughput regression of the shipped table (or the user's own), or from a
deployment's measured throughput and power (`FleetMeasure`).

Parameters default to `data/oviedo.toml` (the paper's v1 values, each with its source).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wattlens.core.errors import CatalogError, InputError
from wattlens.plan.fleet_measure import FleetMeasure
from wattlens.plan.montecarlo import (
    F64,
    LogNormal,
    Samples,
    Summary,
    energy_wh,
    lognormal,
    output_lengths,
    summarise,
    trim,
)
from wattlens.plan.throughput import ThroughputFit, ThroughputPoint, fit_all, oviedo_params

MAX_SAMPLES = 10_000_000
_NUM = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_RANGE = re.compile(rf"\s*({_NUM})\s*(?:-|–|:|\.\.)\s*({_NUM})\s*")
_TOP = re.compile(r"top(\d+)")


def parse_range(text: str, field: str) -> LogNormal:
    """`LO-HI` (5th-95th percentiles) or one value as a checked `LogNormal`."""
    m = _RANGE.fullmatch(text)
    try:
        lo, hi = (float(m.group(1)), float(m.group(2))) if m else (float(text),) * 2
    except ValueError as e:
        raise InputError(f"{field} {text!r}: expected LO-HI (5th-95th percentiles, e.g. "
                         "0.4-0.9) or one number", field=field) from e  # fmt: skip
    return lognormal(lo, hi, field)


MAX_TOKENS = 1e7  # past every context window (2M tokens), so a typo is refused, not sampled


def _positive(value: float, field: str) -> float:
    """A token count: finite, above 0 and at most MAX_TOKENS."""
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise InputError(f"{field} {value!r}: must be greater than 0", field=field)
    if value > MAX_TOKENS:
        raise InputError(f"{field} {value:g}: at most {MAX_TOKENS:g} tokens", field=field)
    return float(value)


def parse_node_kw(text: str) -> dict[str, float]:
    """`11.3` (every model) or `deepseek-r1=14.1,default=11.3` as {model or "default": kW}."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, _, value = part.rpartition("=")
        key = key.strip() or "default"
        try:
            kw = float(value)
        except ValueError as e:
            raise InputError(
                f"node_kw {part!r}: expected a number of kW, or MODEL=KW pairs "
                "such as deepseek-r1=14.1,default=11.3",
                field="node_kw",
            ) from e
        if not (math.isfinite(kw) and kw > 0):
            raise InputError(f"node_kw {part!r}: node power must be a positive number of kW",
                             field="node_kw")  # fmt: skip
        out[key] = kw
    if not out:
        raise InputError("node_kw is empty; give e.g. 11.3 or deepseek-r1=14.1", field="node_kw")
    return out


def read_output_lengths(path: Path) -> F64:
    """Output lengths (tokens) from a file: one number a line, or a CSV column `output_tokens`."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as e:
        raise InputError(f"output_dist {str(path)!r}: cannot read ({e.strerror})",
                         field="output_dist") from e  # fmt: skip
    rows = [ln.strip() for ln in lines if ln.strip()]
    if rows and not re.fullmatch(_NUM, rows[0].split(",")[0].strip()):
        header = [h.strip() for h in rows[0].split(",")]
        if "output_tokens" not in header:
            raise InputError(f"output_dist {str(path)!r}: header {rows[0]!r} has no "
                             "output_tokens column", field="output_dist")  # fmt: skip
        col = header.index("output_tokens")
        rows = [r.split(",")[col].strip() for r in rows[1:]]
    try:
        values = np.asarray([float(r) for r in rows], dtype=np.float64)
    except ValueError as e:
        raise InputError(f"output_dist {str(path)!r}: {e}; expected numbers of tokens",
                         field="output_dist") from e  # fmt: skip
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise InputError(f"output_dist {str(path)!r}: expected at least one finite, "
                         "non-negative output length", field="output_dist")  # fmt: skip
    return values


@dataclass(frozen=True)
class QueryInputs:
    """What one `plan query` run samples; defaults are the paper's v1 values."""

    models: tuple[str, ...] = ()  # () = every model of the table
    blend: str | None = "top3"  # "topN", a comma list of models, or None
    node_kw: dict[str, float] = field(default_factory=dict)  # overrides by model / "default"
    power_use: LogNormal | None = None
    pue: LogNormal | None = None
    input_tokens: float | None = None
    output_median_tokens: float | None = None
    output_lengths: F64 | None = None  # an empirical L_out distribution (resampled)
    samples: int | None = None
    seed: int | None = None
    quantization: str | None = None
    points: tuple[ThroughputPoint, ...] | None = None  # None = the shipped table


@dataclass(frozen=True)
class ModelRun:
    """One model's samples (or a measured deployment's) and their summary."""

    model: str
    node_kw: float
    fit: ThroughputFit | None
    summary: Summary
    samples: Samples = field(repr=False)


@dataclass(frozen=True)
class BlendRun:
    """The pooled, trimmed blend of several models."""

    models: tuple[str, ...]
    summary: Summary  # median/quartiles of the trimmed pool; mean of the untrimmed pool
    pooled: Samples = field(repr=False)  # untrimmed (the fleet mean uses these)
    trimmed: Samples = field(repr=False)


@dataclass(frozen=True)
class QueryResult:
    """Per-model runs, the blend, the resolved parameters, and a measured fleet when asked."""

    runs: list[ModelRun]
    blend: BlendRun | None
    parameters: dict[str, Any]
    fleet: ModelRun | None = None
    measure: FleetMeasure | None = None

    def as_dict(self, *, histogram_bins: int = 0) -> dict[str, Any]:
        """JSON body: `models`, `blend`, `parameters`, `fleet` (each with the *_wh fields)."""
        models = [
            {"model": r.model, "node_kw": r.node_kw, **r.summary.as_dict(),
             "fit": None if r.fit is None else r.fit.as_dict()}
            for r in self.runs
        ]  # fmt: skip
        body: dict[str, Any] = {"parameters": self.parameters, "models": models, "blend": None}
        if self.blend is not None:
            body["blend"] = {"models": list(self.blend.models), **self.blend.summary.as_dict(),
                             "mean_of": "untrimmed pooled samples"}  # fmt: skip
        if self.fleet is not None and self.measure is not None:
            body["fleet"] = {**self.measure.as_dict(), **self.fleet.summary.as_dict()}
        if histogram_bins:
            body["histogram"] = histogram(self, histogram_bins)
        return body


def histogram(result: QueryResult, bins: int) -> dict[str, Any]:
    """Counts on shared log-spaced Wh bins for each model, the blend (trimmed) and the fleet."""
    named = [(r.model, r.samples) for r in result.runs]
    if result.blend is not None:
        named.append(("blend", result.blend.trimmed))
    if result.fleet is not None:
        named.append((result.fleet.model, result.fleet.samples))
    pos = [s[s > 0] for _, s in named if np.any(s > 0)]
    if not pos:
        return {"edges_wh": [], "series": []}
    lo = min(float(np.percentile(s, 0.5)) for s in pos)
    hi = max(float(np.percentile(s, 99.5)) for s in pos)
    edges = np.geomspace(lo, max(hi, lo * 1.01), bins + 1)
    series = [{"name": n, "counts": np.histogram(s, edges)[0].tolist(), "samples": int(s.size)}
              for n, s in named]  # fmt: skip
    return {"edges_wh": edges.tolist(), "series": series}


def _defaults(inp: QueryInputs) -> tuple[LogNormal, LogNormal, float, int, int]:
    p = oviedo_params()
    pu = inp.power_use or LogNormal(p["power_utilisation"]["p5"], p["power_utilisation"]["p95"])
    pue = inp.pue or LogNormal(p["pue"]["p5"], p["pue"]["p95"])
    lin_in = p["workload"]["input_tokens"] if inp.input_tokens is None else inp.input_tokens
    lin = _positive(lin_in, "input_tokens")
    n = inp.samples if inp.samples is not None else int(p["workload"]["samples_per_model"])
    if not (isinstance(n, int) and 100 <= n <= MAX_SAMPLES):
        raise InputError(f"samples {n!r}: expected a whole number from 100 to {MAX_SAMPLES:,}",
                         field="samples")  # fmt: skip
    seed = inp.seed if inp.seed is not None else int(p["workload"]["seed"])
    if not (isinstance(seed, int) and seed >= 0):
        raise InputError(f"seed {seed!r}: expected a whole number from 0 up", field="seed")
    return pu, pue, lin, n, seed


def node_kw_for(model: str, overrides: dict[str, float]) -> float:
    """A model's node power, kW: its override, else the `default` override (every model not
    named), else the paper's (14.1 kW for DeepSeek-R1, 11.3 kW for the others)."""
    node = oviedo_params()["node"]
    if model in overrides:
        return overrides[model]
    if "default" in overrides:
        return overrides["default"]
    return float(node["power_max_kw_by_model"].get(model, node["power_max_kw_default"]))


def _lengths(rng: np.random.Generator, n: int, inp: QueryInputs, median: float) -> Samples:
    if inp.output_lengths is not None:
        return np.asarray(rng.choice(inp.output_lengths, size=n, replace=True), dtype=np.float64)
    return output_lengths(rng, n, median)


def _blend_members(spec: str, runs: dict[str, ModelRun]) -> tuple[str, ...]:
    m = _TOP.fullmatch(spec)
    if m:
        k = int(m.group(1))
        if not 1 <= k <= len(runs):
            raise InputError(f"blend {spec!r}: expected top1 to top{len(runs)}", field="blend")
        ranked = sorted(runs.values(), key=lambda r: r.summary.median_wh, reverse=True)
        return tuple(r.model for r in ranked[:k])
    names = tuple(dict.fromkeys(s.strip() for s in spec.split(",") if s.strip()))
    unknown = [s for s in names if s not in runs]
    if unknown or not names:
        raise CatalogError(
            f"blend {spec!r}: unknown model(s) {', '.join(unknown) or '(none)'}; "
            f"expected topN or models from {', '.join(runs)}",
            field="blend",
        )
    return names


def plan_query(inp: QueryInputs, *, fleet: FleetMeasure | None = None) -> QueryResult:
    """Energy per query (Wh) per model and for the blend, by Monte Carlo.

    Args:
        inp: the parameters (see `QueryInputs`; None fields take the paper's v1 values).
        fleet: a deployment's measured throughput and power, simulated beside the models with
            the same output lengths, PUE and seed (no PU: its power is measured).
    """
    pu, pue, lin, n, seed = _defaults(inp)
    med = inp.output_median_tokens
    if med is None:
        med = float(oviedo_params()["workload"]["output_tokens_median_traditional"])
    med = _positive(med, "output_median")
    fits = fit_all(inp.points, quantization=inp.quantization)
    unknown = [m for m in inp.models if m not in fits]
    if unknown:
        raise CatalogError(f"model {', '.join(unknown)}: not in the throughput table; "
                           f"expected one of {', '.join(fits)}", field="model")  # fmt: skip
    for key in inp.node_kw:
        if key != "default" and key not in fits:
            raise CatalogError(
                f"node_kw {key!r}: not a model of the throughput table; "
                f"expected default or one of {', '.join(fits)}",
                field="node_kw",
            )
    runs: dict[str, ModelRun] = {}
    for i, (model, fit) in enumerate(fits.items()):
        rng = np.random.default_rng([seed, i])  # per model: a model's samples do not
        lengths = _lengths(rng, n, inp, med)  # depend on which others run
        kw = node_kw_for(model, inp.node_kw)
        s = energy_wh(rng, n, fit=fit, input_tokens=lin, lengths=lengths, node_kw=kw,
                      power_use=pu, pue=pue)  # fmt: skip
        runs[model] = ModelRun(model, kw, fit, summarise(s), s)
    blend = None
    if inp.blend:
        members = _blend_members(inp.blend, runs)
        b = oviedo_params()["blend"]
        trimmed = [trim(runs[m].samples, tuple(b["trim_outer"]), tuple(b["trim_inner"]))
                   for m in members]  # fmt: skip
        pooled: Samples = np.concatenate([runs[m].samples for m in members])
        tpool: Samples = np.concatenate(trimmed)
        blend = BlendRun(members, summarise(tpool, mean_of=pooled), pooled, tpool)
    shown = [runs[m] for m in (inp.models or tuple(runs))]
    fleet_run = None
    if fleet is not None:
        rng = np.random.default_rng([seed, 1_000_003])
        lengths = _lengths(rng, n, inp, med)
        s = energy_wh(rng, n, fit=None, tokens_per_s=fleet.generation_tokens_per_s,
                      input_tokens=lin, lengths=lengths, node_kw=fleet.power_kw,
                      power_use=LogNormal(1.0, 1.0), pue=pue)  # fmt: skip
        fleet_run = ModelRun(f"fleet:{fleet.deployment_id}", fleet.power_kw, None,
                             summarise(s), s)  # fmt: skip
    params = {
        "input_tokens": lin, "output_tokens_median": None if inp.output_lengths is not None
        else med, "output_distribution": "empirical" if inp.output_lengths is not None
        else "exponential", "power_use_p5": pu.lo, "power_use_p95": pu.hi, "pue_p5": pue.lo,
        "pue_p95": pue.hi, "samples_per_model": n, "seed": seed,
        "quantization": (inp.quantization or oviedo_params()["regression"]["quantization"]),
        "throughput_table": "user" if inp.points is not None else "shipped",
        "source": oviedo_params()["citation"],
    }  # fmt: skip
    return QueryResult(shown, blend, params, fleet_run, fleet)


__all__ = [
    "MAX_SAMPLES",
    "BlendRun",
    "ModelRun",
    "QueryInputs",
    "QueryResult",
    "histogram",
    "node_kw_for",
    "parse_node_kw",
    "parse_range",
    "plan_query",
    "read_output_lengths",
]
