"""Derivation from raw series to deployment intervals, checked against hand-computed truth."""

from __future__ import annotations

import numpy as np
import pytest

from wattlens.derive.engine import DeriveOptions, Deriver
from wattlens.telemetry.records import SeriesKey, SeriesSet, make_labels

STEP = 30.0
POD_A = "llm-a-7d9c8bfb4-x2k4p"
POD_A2 = "llm-a-7d9c8bfb4-q9w2z"


def gpu_labels(pod: str | None, gpu: str, ns: str = "nrp-llm", host: str = "n1.sdsc.edu", **extra):
    labels = {"gpu": gpu, "UUID": f"GPU-{gpu}", "modelName": "NVIDIA RTX A6000", "Hostname": host}
    if pod:
        labels.update(namespace=ns, pod=pod, container="vllm")
    labels.update(extra)
    return make_labels(labels)


def vllm_labels(pod: str, model: str = "gpt-oss-120b", ns: str = "nrp-llm"):
    return make_labels(
        {"model_name": model, "engine": "0", "namespace": ns, "pod": pod, "container": "vllm"}
    )


def totals(records):
    out: dict[str, dict[str, float]] = {}
    for r in records:
        d = out.setdefault(r.deployment_id, {"energy": 0.0, "prompt": 0.0, "gen": 0.0})
        d["energy"] += r.energy_joules or 0.0
        d["prompt"] += r.prompt_tokens or 0.0
        d["gen"] += r.generation_tokens or 0.0
    return out


def energy_series(t, watts, offset_mj=5e9):
    """Cumulative mJ counter for constant power, starting at a since-boot offset."""
    return offset_mj + (t - t[0]) * watts * 1000.0


def test_counter_energy_and_tokens_match_planted_truth():
    t = np.arange(1000.0, 4600.0 + 1, 15.0)  # 15 s scrapes, unaligned to the 30 s grid
    ss = SeriesSet()
    for gpu, watts in (("0", 300.0), ("1", 250.0)):
        ss.add(
            SeriesKey("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", gpu_labels(POD_A, gpu)),
            t,
            energy_series(t, watts),
        )
        ss.add(
            SeriesKey("DCGM_FI_DEV_POWER_USAGE", gpu_labels(POD_A, gpu)), t, np.full(t.size, watts)
        )
    ss.add(SeriesKey("vllm:generation_tokens_total", vllm_labels(POD_A)), t, 100.0 * (t - 900.0))
    ss.add(SeriesKey("vllm:prompt_tokens_total", vllm_labels(POD_A)), t, 40.0 * (t - 900.0))
    d = Deriver(DeriveOptions(step_s=STEP))
    d.feed(ss)
    infos, records = d.drain()
    got = totals(records)["nrp-llm/llm-a"]
    span = t[-1] - t[0]
    assert got["energy"] == pytest.approx((300.0 + 250.0) * span, rel=1e-12)
    assert got["gen"] == pytest.approx(100.0 * span, rel=1e-12)
    assert got["prompt"] == pytest.approx(40.0 * span, rel=1e-12)
    (info,) = infos
    assert (info.namespace, info.workload, info.model_name) == ("nrp-llm", "llm-a", "gpt-oss-120b")
    assert info.gpu_count == 2 and info.gpu_hardware == "NVIDIA RTX A6000"
    assert {r.energy_source for r in records} == {"counter"}
    # A full interior bucket holds exactly 30 s of 550 W.
    mid = [r for r in records if r.ts_end_s == 2010.0][0]
    assert mid.energy_joules == pytest.approx(550.0 * 30.0)
    assert mid.ts_end_s % STEP == 0


def test_grouped_feeding_of_a_large_batch_gives_the_same_records():
    """Imports feed big batches in groups of whole streams; the grouping must not change a
    number (e.g. a GPU's power gauge and energy counter may land in different groups)."""
    t = np.arange(0.0, 1800.0 + 1, 30.0)
    ss = SeriesSet()
    for gpu in ("0", "1"):
        ss.add(SeriesKey("DCGM_FI_DEV_POWER_USAGE", gpu_labels(POD_A, gpu)), t,
               np.full(t.size, 300.0))  # fmt: skip
        ss.add(SeriesKey("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", gpu_labels(POD_A, gpu)), t,
               energy_series(t, 250.0))  # fmt: skip
    ss.add(SeriesKey("vllm:generation_tokens_total", vllm_labels(POD_A)), t, 10.0 * t)
    for pod, running in ((POD_A, 3.0), (POD_A2, 5.0)):  # two replicas of one deployment
        ss.add(
            SeriesKey("vllm:num_requests_running", vllm_labels(pod)), t, np.full(t.size, running)
        )
    whole = Deriver(DeriveOptions(step_s=STEP))
    whole.feed(ss)
    grouped = Deriver(DeriveOptions(step_s=STEP))
    grouped.feed(ss, max_samples=1)  # every stream in a group of its own
    a, b = whole.drain()[1], grouped.drain()[1]
    assert [r.as_dict() for r in a] == [r.as_dict() for r in b]
    assert {r.requests_running for r in a} == {8.0}  # replicas add up
    assert {r.gpu_count for r in a} == {2}
    # The counter wins over the gauge: 2 GPUs x 250 W, not 300 W and not both.
    assert sum(r.energy_joules for r in a) == pytest.approx(2 * 250.0 * 1800.0)


def test_counter_reset_pod_restart_and_gap():
    t = np.arange(0.0, 3600.0 + 1, 30.0)
    e = energy_series(t, 400.0)
    reset_at = 2700.0  # driver reload right after the 2700 s reading: counter restarts at 0
    e = np.where(t > reset_at, (t - reset_at) * 400.0 * 1000.0, e)
    keep = (t < 1200.0) | (t > 1200.0 + 7200.0 / 10)  # a 12-minute scrape gap on the exporter
    ss = SeriesSet()
    ss.add(
        SeriesKey("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", gpu_labels(POD_A, "0")), t[keep], e[keep]
    )
    # Pod restart at 2400 s: old pod until 2400, new pod from 2430 with its counter from 0.
    old = t <= 2400.0
    new = t >= 2430.0
    gen_old = 50.0 * t[old]
    gen_new = 50.0 * (t[new] - 2400.0)
    ss.add(SeriesKey("vllm:generation_tokens_total", vllm_labels(POD_A)), t[old], gen_old)
    ss.add(SeriesKey("vllm:generation_tokens_total", vllm_labels(POD_A2)), t[new], gen_new)
    d = Deriver(DeriveOptions(step_s=STEP))
    d.feed(ss)
    _, records = d.drain()
    got = totals(records)["nrp-llm/llm-a"]
    assert got["energy"] == pytest.approx(400.0 * 3600.0, rel=1e-12)
    assert got["gen"] == pytest.approx(50.0 * 3600.0, rel=1e-12)
    # The gap's energy is spread over the gap, not dumped in one interval.
    gap = [r for r in records if 1230.0 <= r.ts_end_s <= 1920.0]
    assert max(r.energy_joules / r.interval_s for r in gap) == pytest.approx(400.0, rel=1e-9)


def test_streaming_one_scrape_at_a_time_equals_one_batch():
    t = np.arange(0.0, 1200.0 + 1, 10.0)
    key_e = SeriesKey("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", gpu_labels(POD_A, "0"))
    key_g = SeriesKey("vllm:generation_tokens_total", vllm_labels(POD_A))
    rng = np.random.default_rng(1)
    e = 1e9 + np.cumsum(rng.uniform(100, 500, t.size) * 10.0 * 1000.0)
    g = np.cumsum(rng.integers(0, 300, t.size)).astype(float)
    batch = Deriver(DeriveOptions(step_s=STEP))
    whole = SeriesSet()
    whole.add(key_e, t, e)
    whole.add(key_g, t, g)
    batch.feed(whole)
    _, rec_batch = batch.drain()
    stream = Deriver(DeriveOptions(step_s=STEP))
    rec_stream = []
    for i in range(t.size):
        one = SeriesSet()
        one.add(key_e, t[i : i + 1], e[i : i + 1])
        one.add(key_g, t[i : i + 1], g[i : i + 1])
        stream.feed(one)
        rec_stream += stream.drain(watermark_s=t[i])[1]
    rec_stream += stream.drain()[1]
    last = {}
    for r in rec_stream:  # later emissions of a bucket supersede earlier ones
        last[r.ts_end_s] = r
    a = {r.ts_end_s: (r.energy_joules, r.generation_tokens) for r in rec_batch}
    b = {k: (r.energy_joules, r.generation_tokens) for k, r in last.items()}
    assert a.keys() == b.keys()
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=1e-9)
    assert sum(v[0] for v in a.values()) == pytest.approx(e[-1] / 1000 - e[0] / 1000)


def test_gpu_only_deployment_has_unknown_tokens_and_gauge_energy():
    t = np.arange(0.0, 600.0 + 1, 30.0)
    ss = SeriesSet()
    ss.add(
        SeriesKey("DCGM_FI_DEV_POWER_USAGE", gpu_labels("batchjob-6c7f8d9b5-bcdfg", "3")),
        t,
        np.full(t.size, 120.0),
    )
    d = Deriver(DeriveOptions(step_s=STEP))
    d.feed(ss)
    infos, records = d.drain()
    assert infos[0].model_name is None
    assert all(r.prompt_tokens is None and r.generation_tokens is None for r in records)
    assert {r.energy_source for r in records} == {"gauge"}
    assert sum(r.energy_joules for r in records) == pytest.approx(120.0 * 600.0)


def test_two_models_sharing_namespace_and_container_stay_apart():
    t = np.arange(0.0, 300.0 + 1, 30.0)
    ss = SeriesSet()
    ss.add(
        SeriesKey("vllm:generation_tokens_total", vllm_labels("qwen-5f6d7c8b9-zzkxq", "qwen")),
        t,
        10.0 * t,
    )
    ss.add(
        SeriesKey("vllm:generation_tokens_total", vllm_labels("llama-5f6d7c8b9-kkxqz", "llama")),
        t,
        20.0 * t,
    )
    d = Deriver(DeriveOptions(step_s=STEP))
    d.feed(ss)
    infos, records = d.drain()
    got = totals(records)
    assert got["nrp-llm/qwen"]["gen"] == pytest.approx(3000.0)
    assert got["nrp-llm/llama"]["gen"] == pytest.approx(6000.0)
    assert {i.model_name for i in infos} == {"qwen", "llama"}


def test_exported_labels_and_hostname_variants_join():
    t = np.arange(0.0, 300.0 + 1, 30.0)
    labels = make_labels(
        {
            "gpu": "0",
            "UUID": "GPU-9",
            "modelName": "NVIDIA H100 80GB HBM3",
            "hostname": "h1",
            "namespace": "gpu-operator",
            "pod": "dcgm-exporter-abcde",
            "container": "exporter",
            "exported_namespace": "llm",
            "exported_pod": "m-5f6d7c8b9-ddxqz",
            "exported_container": "vllm",
        }
    )
    ss = SeriesSet()
    ss.add(SeriesKey("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", labels), t, 1e6 + t * 700e3)
    ss.add(
        SeriesKey("vllm:kv_cache_usage_perc", vllm_labels("m-5f6d7c8b9-ddxqz", "m", "llm")),
        t,
        np.full(t.size, 0.25),
    )
    d = Deriver(DeriveOptions(step_s=STEP))
    d.feed(ss)
    infos, records = d.drain()
    assert [i.deployment_id for i in infos] == ["llm/m"]
    assert infos[0].node == "h1"
    assert sum(r.energy_joules for r in records) == pytest.approx(700.0 * 300.0)
    assert {r.kv_cache_usage_ratio for r in records if r.kv_cache_usage_ratio is not None} == {0.25}


def test_superseded_metric_names_are_not_double_counted():
    t = np.arange(0.0, 300.0 + 1, 30.0)
    ss = SeriesSet()
    for name in ("vllm:inter_token_latency_seconds_sum", "vllm:time_per_output_token_seconds_sum"):
        ss.add(SeriesKey(name, vllm_labels(POD_A)), t, 0.5 * t)
    d = Deriver(DeriveOptions(step_s=STEP))
    d.feed(ss)
    _, records = d.drain()
    assert sum(r.itl_seconds_sum for r in records) == pytest.approx(150.0)


def test_time_sliced_gpu_charges_each_deployment_the_whole_gpu():
    """dcgm-exporter repeats one GPU's readings under every pod sharing it (time-slicing); the
    'exclusive' attribution charges each deployment the whole GPU, an explicit upper bound."""
    t = np.arange(0.0, 600.0 + 1, 30.0)
    ss = SeriesSet()
    for pod in ("chat-5f6d7c8b9-zzkxq", "embed-5f6d7c8b9-kkxqz"):
        ss.add(SeriesKey("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", gpu_labels(pod, "0")), t,
               energy_series(t, 200.0))  # fmt: skip
    d = Deriver(DeriveOptions(step_s=STEP))
    d.feed(ss)
    got = totals(d.drain()[1])
    assert got["nrp-llm/chat"]["energy"] == pytest.approx(200.0 * 600.0)
    assert got["nrp-llm/embed"]["energy"] == pytest.approx(200.0 * 600.0)


def test_pue_comes_from_the_carbon_model_alone():
    """CO2 = energy x PUE x intensity, with PUE taken from the one carbon model (hand-computed)."""
    from wattlens.derive.carbon import CarbonModel

    t = np.arange(1000.0, 2200.0 + 1, 15.0)
    ss = SeriesSet()
    key = SeriesKey("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", gpu_labels(POD_A, "0"))
    ss.add(key, t, energy_series(t, 400.0))
    model = CarbonModel(pue=1.5, intensity_override_kg_per_kwh=0.2)
    d = Deriver(DeriveOptions(step_s=STEP), carbon=model)
    d.feed(ss)
    _, records = d.drain()
    mid = [r for r in records if r.ts_end_s == 1500.0][0]
    # 400 W x 30 s = 12 kJ = 1/300 kWh; x 1.5 x 0.2 kg/kWh = 1 g
    assert mid.pue == 1.5
    assert mid.co2_grams == pytest.approx(400.0 * 30.0 / 3.6e6 * 1.5 * 0.2 * 1000.0, rel=1e-12)


@pytest.mark.parametrize("quantity", ["counter", "gauge"])
def test_partial_first_and_last_intervals_say_how_long_they_are(quantity):
    """A run from 1007 s to 1097 s (15 s scrapes) at a constant 2 x 400 W: every interval,
    the partial first (990, 1020] and last (1080, 1110] included, covers only the seconds it
    has readings for, so its power (energy / interval_s) is the true 800 W."""
    t = np.arange(1007.0, 1097.0 + 1, 15.0)
    ss = SeriesSet()
    for gpu in ("0", "1"):
        if quantity == "counter":
            key = SeriesKey("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", gpu_labels(POD_A, gpu))
            ss.add(key, t, energy_series(t, 400.0))
        else:
            key = SeriesKey("DCGM_FI_DEV_POWER_USAGE", gpu_labels(POD_A, gpu))
            ss.add(key, t, np.full(t.size, 400.0))
    d = Deriver(DeriveOptions(step_s=STEP))
    d.feed(ss)
    _, records = d.drain()
    by_end = {r.ts_end_s: r for r in records}
    assert by_end[1020.0].interval_s == pytest.approx(1020.0 - 1007.0)
    assert by_end[1110.0].interval_s == pytest.approx(1097.0 - 1080.0)
    assert by_end[1050.0].interval_s == pytest.approx(STEP)
    for r in records:
        assert r.energy_joules / r.interval_s == pytest.approx(800.0, rel=1e-9), r.ts_end_s
    assert sum(r.interval_s for r in records) == pytest.approx(1097.0 - 1007.0)


def test_prefix_cache_hits_are_reported_apart():
    """vLLM counts cache hits inside prompt_tokens; prompt_tokens_by_source{source=
    "local_cache_hit"} says how many. Planted: 40 prompt tok/s of which 30 from the cache."""
    from wattlens.core.metrics import Totals, compute

    t = np.arange(1000.0, 2200.0 + 1, 15.0)
    ss = SeriesSet()
    ss.add(SeriesKey("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", gpu_labels(POD_A, "0")), t,
           energy_series(t, 500.0))  # fmt: skip
    ss.add(SeriesKey("vllm:prompt_tokens_total", vllm_labels(POD_A)), t, 40.0 * (t - 900.0))
    ss.add(SeriesKey("vllm:generation_tokens_total", vllm_labels(POD_A)), t, 10.0 * (t - 900.0))
    for source, rate in (("local_cache_hit", 30.0), ("local_compute", 10.0)):
        labels = make_labels({**dict(vllm_labels(POD_A)), "source": source})
        ss.add(SeriesKey("vllm:prompt_tokens_by_source_total", labels), t, rate * (t - 900.0))
    d = Deriver(DeriveOptions(step_s=STEP))
    d.feed(ss)
    _, records = d.drain()
    mid = [r for r in records if r.ts_end_s == 1500.0][0]
    assert mid.cached_prompt_tokens == pytest.approx(30.0 * 30.0)
    assert mid.prompt_tokens == pytest.approx(40.0 * 30.0)
    window = Totals(seconds=mid.interval_s, energy_joules=mid.energy_joules,
                    prompt_tokens=mid.prompt_tokens, generation_tokens=mid.generation_tokens,
                    cached_prompt_tokens=mid.cached_prompt_tokens)  # fmt: skip
    rates = compute(window, min_tokens_per_s=5.0)
    # 500 W over 50 tok/s = 10 J/token; over the 20 computed tok/s (10 prompt + 10 output) = 25
    assert rates["joules_per_token"] == pytest.approx(10.0)
    assert rates["joules_per_computed_token"] == pytest.approx(25.0)
    assert rates["cached_prompt_tokens_per_s"] == pytest.approx(30.0)


def test_no_cache_metric_means_unknown_not_zero():
    t = np.arange(1000.0, 1300.0 + 1, 15.0)
    ss = SeriesSet()
    ss.add(SeriesKey("vllm:prompt_tokens_total", vllm_labels(POD_A)), t, 40.0 * (t - 900.0))
    ss.add(SeriesKey("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", gpu_labels(POD_A, "0")), t,
           energy_series(t, 500.0))  # fmt: skip
    d = Deriver(DeriveOptions(step_s=STEP))
    d.feed(ss)
    assert {r.cached_prompt_tokens for r in d.drain()[1]} == {None}
