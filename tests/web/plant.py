"""Planted fleets for the web tests: records written to a real DuckDB store, kept in memory too.

Expected API numbers are computed from `PlantedFleet.records` with plain arithmetic in the tests
(`expect_*` helpers below), never through wattlens code.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattlens.core.records import DeploymentInfo, IntervalRecord
from wattlens.store import Store

END_S = 1_700_006_400.0  # 2023-11-15T00:00:00Z, an hour boundary: "now" in the tests
STEP_S = 30.0
DAY_S = 86_400.0


@dataclass(frozen=True)
class Spec:
    """How one planted deployment behaves; rates are drawn per interval from a seeded RNG."""

    info: DeploymentInfo
    intensity: float
    pue: float
    engine: bool = True
    idle_only: bool = False
    watts: tuple[float, float] = (500.0, 700.0)
    prompt_rate: tuple[float, float] = (1500.0, 2500.0)
    gen_rate: tuple[float, float] = (150.0, 300.0)


@dataclass
class PlantedFleet:
    """The deployments and every record written for them."""

    specs: list[Spec]
    records: list[IntervalRecord] = field(default_factory=list)
    now_s: float = END_S

    def of(self, dep_id: str) -> list[IntervalRecord]:
        return [r for r in self.records if r.deployment_id == dep_id]


def info(dep_id: str, model: str | None, *, container: str = "vllm", gpus: int = 2,
         node: str = "k8s-a6000-01.csus.edu", region: str = "CAMX") -> DeploymentInfo:  # fmt: skip
    ns, wl = dep_id.split("/", 1)
    return DeploymentInfo(
        deployment_id=dep_id,
        namespace=ns,
        workload=wl,
        model_name=model,
        gpu_type="A6000",
        gpu_hardware="NVIDIA RTX A6000",
        gpu_count=gpus,
        node=node,
        container=container,
        grid_region=region,
    )


def default_specs() -> list[Spec]:
    """Five deployments: busy, two sharing container 'vllm', GPU-only, and always idle."""
    return [
        Spec(info("nrp-llm/gpt-oss", "gpt-oss-120b", container="gpt-oss"), 0.198, 1.0),
        Spec(
            info("nrp-llm/gemma", "gemma-4-31b"),
            0.25,
            1.0,
            watts=(450, 650),
            prompt_rate=(200, 400),
            gen_rate=(20, 60),
        ),  # fmt: skip
        Spec(
            info("nrp-llm/qwen", "qwen3.5-397b", gpus=8),
            0.3,
            1.2,
            watts=(700, 900),
            prompt_rate=(2, 10),
            gen_rate=(8, 20),
        ),  # fmt: skip
        Spec(
            info("batch/embed", None, gpus=1, container="embedder"),
            0.198,
            1.0,
            engine=False,
            watts=(200, 260),
        ),  # fmt: skip
        Spec(
            info("sdsc-llm/kimi", "kimi-k2.5", gpus=8, region="CAMX"),
            0.198,
            1.0,
            idle_only=True,
            watts=(600, 700),
        ),  # fmt: skip
    ]


def _record(spec: Spec, ts: float, i: int, rng: random.Random) -> IntervalRecord:
    phase = i % 10
    idle = spec.idle_only or phase in (0, 4)  # some idle intervals
    trickle = phase == 7  # below the 5 tokens/s ratio threshold, above the 0.1 activity one
    watts = rng.uniform(*spec.watts) * (0.3 if idle else 1.0)
    if idle:
        prompt, gen = 0.0, 0.0
    elif trickle:
        prompt, gen = 2.0, 1.0
    else:
        prompt, gen = rng.uniform(*spec.prompt_rate), rng.uniform(*spec.gen_rate)
    energy = watts * STEP_S
    engine = spec.engine
    gen_tokens = round(gen * STEP_S)
    return IntervalRecord(
        deployment_id=spec.info.deployment_id,
        ts_end_s=ts,
        interval_s=STEP_S,
        energy_joules=energy,
        energy_source="counter",
        prompt_tokens=float(round(prompt * STEP_S)) if engine else None,
        generation_tokens=float(gen_tokens) if engine else None,
        requests_finished=float(rng.randint(0, 6)) if engine else None,
        itl_seconds_sum=gen_tokens / rng.uniform(30, 60) if engine else None,
        requests_running=rng.uniform(0, 10) if engine else None,
        requests_waiting=rng.uniform(0, 3) if engine else None,
        kv_cache_usage_ratio=rng.uniform(0, 1) if engine else None,
        gpu_util_percent=rng.uniform(0, 100),
        gpu_count=spec.info.gpu_count,
        carbon_intensity_kg_per_kwh=spec.intensity,
        pue=spec.pue,
        # g = J / 3.6e6 (kWh) x PUE x kg/kWh x 1000 (g/kg)
        co2_grams=energy / 3.6e6 * spec.pue * spec.intensity * 1000.0,
        sample_count=2,
    )


def plant(
    path: Path,
    specs: list[Spec] | None = None,
    *,
    days: float = 8.0,
    end_s: float = END_S,
    meta: dict[str, str] | None = None,
    seed: int = 7,
) -> tuple[Store, PlantedFleet]:
    """Write `days` of 30 s records for each spec into a new store at `path`."""
    specs = default_specs() if specs is None else specs
    store, records = write_planted(path, specs, _record, days=days, end_s=end_s, seed=seed)
    for key, value in (meta or {}).items():
        store.set_meta(key, value)
    return store, PlantedFleet(specs, records, now_s=end_s)


def write_planted(
    path: Path,
    planted: Sequence[Any],
    make: Callable[[Any, float, int, random.Random], IntervalRecord],
    *,
    days: float,
    end_s: float,
    seed: int,
) -> tuple[Store, list[IntervalRecord]]:
    """`days` of 30 s records up to end_s, `make(p, ts_end_s, i, rng)` for each of `planted`
    (each with `.info`, its own RNG seeded seed x 1000 + k), written to a new rolled-up store."""
    n = int(days * DAY_S / STEP_S)
    start = end_s - n * STEP_S
    records: list[IntervalRecord] = []
    for k, p in enumerate(planted):
        rng = random.Random(seed * 1000 + k)
        records += [make(p, start + (i + 1) * STEP_S, i, rng) for i in range(n)]
    store = Store.open(path)
    store.upsert_deployments([p.info for p in planted], start)
    store.write_intervals(records)
    store.rollup()
    return store, records


# -- independent expectations -----------------------------------------------------------------


def window(records: list[IntervalRecord], start: float, end: float) -> list[IntervalRecord]:
    """Records with ts_end_s in (start, end]."""
    return [r for r in records if start < r.ts_end_s <= end]


def tokens(r: IntervalRecord) -> float:
    return (r.prompt_tokens or 0.0) + (r.generation_tokens or 0.0)


def live_expect(rs: list[IntervalRecord]) -> dict[str, float | None]:
    """Live rates over a window of records: W, tok/s, g/h (W x kg/kWh x PUE), mg/token."""
    secs = sum(r.interval_s for r in rs)
    watts = sum(r.energy_joules for r in rs) / secs
    engine = rs[0].prompt_tokens is not None
    tps = sum(tokens(r) for r in rs) / secs if engine else None
    ci = sum(r.carbon_intensity_kg_per_kwh * r.interval_s for r in rs) / secs
    pue = sum(r.pue * r.interval_s for r in rs) / secs
    g_per_h = watts * ci * pue
    mg = g_per_h * 1000 / (tps * 3600) if tps is not None and tps > 5 else None
    return {
        "power_watts": watts,
        "prompt_tokens_per_s": sum(r.prompt_tokens or 0 for r in rs) / secs if engine else None,
        "generation_tokens_per_s": sum(r.generation_tokens or 0 for r in rs) / secs
        if engine
        else None,
        "tokens_per_s": tps,
        "co2_grams_per_hour": g_per_h,
        "co2_mg_per_token": mg,
        "carbon_intensity_kg_per_kwh": ci,
        "joules_per_token": sum(r.energy_joules for r in rs) / sum(tokens(r) for r in rs)
        if tps is not None and tps > 5
        else None,
    }


def active_mg_per_token(rs: list[IntervalRecord], threshold: float = 5.0) -> float | None:
    """Token-weighted mean mg/token over intervals above `threshold` tokens/s."""
    act = [r for r in rs if r.prompt_tokens is not None and tokens(r) / r.interval_s > threshold]
    tok = sum(tokens(r) for r in act)
    return sum(r.co2_grams for r in act) * 1000 / tok if tok else None


def buckets(
    rs: list[IntervalRecord], step: float, value: Callable[[list[IntervalRecord]], float]
) -> dict[float, float]:
    """Group records by bucket end ceil(ts/step)*step and apply `value` to each group."""
    groups: dict[float, list[IntervalRecord]] = {}
    for r in rs:
        groups.setdefault(math.ceil(r.ts_end_s / step) * step, []).append(r)
    return {t: value(g) for t, g in sorted(groups.items())}
