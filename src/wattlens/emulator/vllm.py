"""vLLM V1 families (labels `engine`, `model_name`); source: vllm/v1/metrics/loggers.py.

Versions before 0.9.2 expose `vllm:gpu_cache_usage_perc`, before 0.11
`vllm:time_per_output_token_seconds`; versions in between expose old and new names.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from wattlens.emulator.families import F64, Block, FamilySpec, Labels, Target
from wattlens.emulator.scenario import Traffic

ITL_BUCKETS_S = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0,
                 7.5, 10.0, 20.0, 40.0, 80.0)  # fmt: skip
TTFT_BUCKETS_S = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5,
                  5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)  # fmt: skip
_ITL_SIGMA, _TTFT_SIGMA = 0.35, 0.8  # lognormal spread of single observations (illustrative)
_FINISHED = (("stop", 0.85), ("length", 0.15), ("abort", 0.0))


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for p in text.split(".")[:3]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def vllm_metric_names(version: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(KV-cache gauge names, ITL histogram names) a vLLM version exposes."""
    v = _version(version)
    kv: tuple[str, ...] = (
        ("vllm:gpu_cache_usage_perc",) if v < (0, 9, 2) else ("vllm:kv_cache_usage_perc",)
    )
    if (0, 9, 2) <= v < (0, 12):
        kv += ("vllm:gpu_cache_usage_perc",)
    itl: tuple[str, ...] = ("vllm:time_per_output_token_seconds",) if v < (0, 11) else ()
    if v >= (0, 11):
        itl = ("vllm:inter_token_latency_seconds",)
    if (0, 11) <= v < (0, 12):
        itl += ("vllm:time_per_output_token_seconds",)
    return kv, itl


def _base(t: Target) -> Labels:
    d = t.model.scenario.deployments[t.deployment]
    return (("engine", "0"), ("model_name", d.served_model_name or ""))


def _gauge(fn: Callable[[Target], F64], sample: str) -> Callable[[Target], Block]:
    def block(t: Target) -> Block:
        return Block([sample], [_base(t)], fn(t)[None, :], _rows_mask(t, 1))

    return block


def _rows_mask(t: Target, k: int) -> NDArray[np.bool_] | None:
    mask = t.pod_mask
    return None if mask is None else np.broadcast_to(mask, (k, mask.size))


@lru_cache(maxsize=1024)
def _bucket_shares(buckets: tuple[float, ...], mean: float, sigma: float) -> F64:
    """Share of lognormal observations (mean `mean`) at or below each bucket bound."""
    mu = math.log(mean) - 0.5 * sigma**2  # keeps the mean of observations at `mean`
    z = [(math.log(le) - mu) / (sigma * math.sqrt(2.0)) for le in buckets]
    return np.array([0.5 * (1.0 + math.erf(x)) for x in z])[:, None]


def _histogram(
    name: str, count: Callable[[Target], F64], mean: Callable[[Target], float], sigma: float,
    buckets: tuple[float, ...],
) -> Callable[[Target], Block]:  # fmt: skip
    les = tuple(repr(le) for le in buckets)

    def block(t: Target) -> Block:
        base, n = _base(t), count(t)
        m = mean(t)
        total = np.floor(n)[None, :]
        values = np.concatenate([np.floor(n[None, :] * _bucket_shares(buckets, m, sigma)),
                                 total, total, (n * m)[None, :]])  # fmt: skip
        labels: list[Labels] = [(base[0], ("le", le), base[1]) for le in les]
        labels += [(base[0], ("le", "+Inf"), base[1]), base, base]
        samples = [f"{name}_bucket"] * (len(les) + 1) + [f"{name}_count", f"{name}_sum"]
        return Block(samples, labels, values, _rows_mask(t, len(samples)))

    return block


# vLLM's request-length histograms use build_1_2_5_buckets(max_model_len) (vllm/v1/metrics/
# loggers.py): 1, 2, 5, 10, 20, 50, ... up to the model's context length. The emulated engines
# serve a 32k context; lengths are exponential with the planted means (Oviedo et al. model
# output lengths as exponential; the prompt side uses the same law, an emulator choice).
MAX_MODEL_LEN = 32_768
LENGTH_BUCKETS = tuple(float(m * 10**e) for e in range(6) for m in (1, 2, 5)
                       if m * 10**e <= MAX_MODEL_LEN)  # fmt: skip
_REQ_PROMPT = ("vllm:request_prompt_tokens", "Number of prefill tokens processed.")
_REQ_GEN = ("vllm:request_generation_tokens", "Number of generation tokens processed.")


def length_bucket_shares(mean_tokens: float) -> F64:
    """Share of requests (exponential lengths, mean `mean_tokens`) at or below each bucket."""
    return 1.0 - np.exp(-np.array(LENGTH_BUCKETS) / mean_tokens)


def mean_prompt_tokens(traffic: Traffic) -> float:
    """Planted mean prompt tokens per request (prompt share of tokens x output per request)."""
    pf = traffic.prompt_fraction
    return pf / (1.0 - pf) * traffic.output_tokens_per_request


def _length_histogram(name: str, attr: str, prompt: bool) -> Callable[[Target], Block]:
    les = tuple(repr(le) for le in LENGTH_BUCKETS)

    def block(t: Target) -> Block:
        base, n = _base(t), t.obs.requests_finished[t.deployment]
        tr = _traffic(t)
        mean = mean_prompt_tokens(tr) if prompt else tr.output_tokens_per_request
        total = np.floor(n)[None, :]
        buckets = np.floor(n[None, :] * length_bucket_shares(mean)[:, None])
        tokens = np.floor(getattr(t.obs, attr)[t.deployment])[None, :]
        values = np.concatenate([buckets, total, total, tokens])
        labels: list[Labels] = [(base[0], ("le", le), base[1]) for le in les]
        labels += [(base[0], ("le", "+Inf"), base[1]), base, base]
        samples = [f"{name}_bucket"] * (len(les) + 1) + [f"{name}_count", f"{name}_sum"]
        return Block(samples, labels, values, _rows_mask(t, len(samples)))

    return block


def _traffic(t: Target) -> Traffic:
    return t.model.scenario.deployments[t.deployment].traffic


def _success(t: Target) -> Block:
    base = _base(t)
    labels: list[Labels] = [(base[0], ("finished_reason", r), base[1]) for r, _ in _FINISHED]
    shares = np.array([[share] for _, share in _FINISHED])
    values = np.floor(t.obs.requests_finished[t.deployment][None, :] * shares)
    return Block(["vllm:request_success_total"] * 3, labels, values, _rows_mask(t, 3))


# Share of prompt tokens the emulated engines serve from their prefix cache: the planted truth of
# `vllm:prompt_tokens_by_source_total{source="local_cache_hit"}` (a workload choice of the
# emulator, like the scenario's traffic; vLLM counts these tokens inside prompt_tokens too).
PREFIX_CACHE_HIT_SHARE = 0.25
_SOURCES = ("local_cache_hit", "local_compute", "external_kv_transfer")
_BY_SOURCE = ("vllm:prompt_tokens_by_source_total", "Number of prompt tokens by source.")


def _by_source(t: Target) -> Block:
    """Prompt tokens split by where their KV came from; the three add up to prompt_tokens."""
    base = _base(t)
    prompt = np.floor(t.obs.prompt_tokens[t.deployment])
    hit = np.floor(prompt * PREFIX_CACHE_HIT_SHARE)
    values = np.stack([hit, prompt - hit, np.zeros_like(prompt)])
    labels: list[Labels] = [(base[0], base[1], ("source", s)) for s in _SOURCES]
    return Block([_BY_SOURCE[0]] * 3, labels, values, _rows_mask(t, 3))


def _counter(fn: Callable[[Target], F64], sample: str) -> Callable[[Target], Block]:
    return _gauge(lambda t: np.floor(fn(t)), sample)


def _pod_start(t: Target) -> F64:
    rs = t.model.restart_s[t.deployment]
    start = rs[t.generation - 1] if t.generation > 0 else t.model.start_s
    return np.full(t.obs.times_s.size, float(start))


def _dep(attr: str, digits: int | None = None) -> Callable[[Target], F64]:
    """Accessor of one deployment's row of an `Observation` field (optionally rounded)."""

    def get(t: Target) -> F64:
        values = getattr(t.obs, attr)[t.deployment]
        return values if digits is None else np.round(values, digits)

    return get


def _constant(value: float) -> Callable[[Target], F64]:
    return lambda t: np.full(t.obs.times_s.size, value)


def _itl_mean_s(t: Target) -> float:
    return 1.0 / _traffic(t).decode_tokens_per_s


def _ttft_mean_s(t: Target) -> float:
    return _traffic(t).ttft_s


_RUNNING = ("vllm:num_requests_running", "Number of requests in model execution batches.")
_WAITING = ("vllm:num_requests_waiting", "Number of requests waiting to be processed.")
_PREEMPT = ("vllm:num_preemptions_total", "Cumulative number of preemption from the engine.")
_PROMPT = ("vllm:prompt_tokens_total", "Number of prefill tokens processed.")
_GENERATION = ("vllm:generation_tokens_total", "Number of generation tokens processed.")
_TTFT = ("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.")
_HELP_ITL = {
    "vllm:inter_token_latency_seconds": "Histogram of inter-token latency in seconds.",
    "vllm:time_per_output_token_seconds": "Histogram of time per output token in seconds.",
}


def _vllm_families(version: str) -> tuple[FamilySpec, ...]:
    kv_names, itl_names = vllm_metric_names(version)
    fams = [
        FamilySpec(_RUNNING[0], "gauge", _RUNNING[1], _gauge(_dep("running", 0), _RUNNING[0])),
        FamilySpec(_WAITING[0], "gauge", _WAITING[1], _gauge(_dep("waiting", 0), _WAITING[0])),
    ]
    for kv in kv_names:
        help_ = "KV-cache usage. 1 means 100 percent usage."
        fams.append(FamilySpec(kv, "gauge", help_, _gauge(_dep("kv_cache_usage", 6), kv)))
    created = _PROMPT[0].replace("_total", "_created")
    gen_created = _GENERATION[0].replace("_total", "_created")
    fams += [
        FamilySpec(_PREEMPT[0], "counter", _PREEMPT[1], _counter(_constant(0.0), _PREEMPT[0])),
        FamilySpec(_PROMPT[0], "counter", _PROMPT[1], _counter(_dep("prompt_tokens"), _PROMPT[0])),
        FamilySpec(created, "gauge", _PROMPT[1], _gauge(_pod_start, created), history=False),
        FamilySpec(
            _GENERATION[0], "counter", _GENERATION[1],
            _counter(_dep("generation_tokens"), _GENERATION[0]),
        ),
        FamilySpec(gen_created, "gauge", _GENERATION[1], _gauge(_pod_start, gen_created),
                   history=False),
        FamilySpec("vllm:request_success_total", "counter",
                   "Count of successfully processed requests.", _success),
        FamilySpec(_TTFT[0], "histogram", _TTFT[1], _histogram(
            _TTFT[0], _dep("requests_finished"), _ttft_mean_s, _TTFT_SIGMA, TTFT_BUCKETS_S)),
        FamilySpec(_REQ_PROMPT[0], "histogram", _REQ_PROMPT[1],
                   _length_histogram(_REQ_PROMPT[0], "prompt_tokens", True)),
        FamilySpec(_REQ_GEN[0], "histogram", _REQ_GEN[1],
                   _length_histogram(_REQ_GEN[0], "generation_tokens", False)),
    ]  # fmt: skip
    if _version(version) >= (0, 10):  # the V1 engine's prefix-cache accounting
        fams.append(FamilySpec(_BY_SOURCE[0], "counter", _BY_SOURCE[1], _by_source))
    for itl in itl_names:
        block = _histogram(itl, _dep("generation_tokens"), _itl_mean_s, _ITL_SIGMA, ITL_BUCKETS_S)
        fams.append(FamilySpec(itl, "histogram", _HELP_ITL[itl], block))
    rss = "process_resident_memory_bytes"
    fams.append(
        FamilySpec(rss, "gauge", "Resident memory size in bytes.",
                   _gauge(_constant(3.1e9), rss), history=False)
    )  # fmt: skip
    return tuple(fams)


@lru_cache(maxsize=32)
def vllm_families(version: str) -> tuple[FamilySpec, ...]:
    """Families a vLLM of `version` exposes (old names before 0.9.2 / 0.11, both in between)."""
    return _vllm_families(version)


__all__ = [
    "ITL_BUCKETS_S",
    "LENGTH_BUCKETS",
    "MAX_MODEL_LEN",
    "PREFIX_CACHE_HIT_SHARE",
    "TTFT_BUCKETS_S",
    "length_bucket_shares",
    "mean_prompt_tokens",
    "vllm_families",
    "vllm_metric_names",
]
