"""Exporter scraping: recorded dcgm-exporter / vLLM text, and real HTTP from a local server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from conftest import DATA, ExporterServer

from servers import free_port, start_prometheus, start_victoria_metrics, wait_until
from wattlens.core.errors import InputError
from wattlens.telemetry.metrics import WANTED_METRICS
from wattlens.telemetry.promapi import PrometheusClient
from wattlens.telemetry.records import SeriesKey, SeriesSet, make_labels
from wattlens.telemetry.scrape import Scraper, ScrapeTarget, parse_exposition

NOW = 1_762_099_200.0
H100 = DATA / "dcgm-exporter-4.5+h100x8.prom"
H100_NEW = DATA / "dcgm-exporter-main+h100x2.prom"
MIG = DATA / "dcgm-exporter-4.5+a100-mig.prom"
VLLM_011 = DATA / "vllm-0.11+llama-8b.prom"
VLLM_092 = DATA / "vllm-0.9.2+llama-8b.prom"
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


def _only(series: SeriesSet, name: str, **labels: str) -> tuple[SeriesKey, float, float]:
    hits = [k for k in series if k.name == name and all(k.label(n) == v for n, v in labels.items())]
    assert len(hits) == 1, hits
    t, v = series.series[hits[0]]
    assert t.size == 1
    return hits[0], float(t[0]), float(v[0])


def _parse(path: Path, **kw: Any) -> SeriesSet:
    return parse_exposition(path.read_text(), source=str(path), now_s=NOW, **kw)


def test_dcgm_h100_node_with_old_hostname_label() -> None:
    s = _parse(H100)
    # 8 GPUs x 4 wanted DCGM fields; SM clock, temperature and tensor activity are skipped.
    assert s.names() == {
        "DCGM_FI_DEV_POWER_USAGE",
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        "DCGM_FI_DEV_GPU_UTIL",
        "DCGM_FI_DEV_FB_USED",
    }
    assert len(s) == 32
    key, t, v = _only(s, "DCGM_FI_DEV_POWER_USAGE", gpu="0")
    assert (t, v) == (NOW, 412.53)
    assert key.label_dict() == {
        "gpu": "0",
        "UUID": "GPU-c4529c8d-69c4-b61d-e0bc-7b2460096005",
        "pci_bus_id": "00000000:18:00.0",
        "device": "nvidia0",
        "modelName": "NVIDIA H100 80GB HBM3",
        "Hostname": "gpu-node-1",
        "DCGM_FI_DRIVER_VERSION": "580.105.08",
        "container": "vllm",
        "namespace": "llm",
        "pod": "llama-70b-7d9c8b6f4-x2k4p",
        # pod_uid="" is dropped: Prometheus stores an empty label as no label
    }
    _, _, energy = _only(s, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", gpu="7")
    assert energy == 23345678901.0  # mJ counter, exact in float64
    idle, _, power = _only(s, "DCGM_FI_DEV_POWER_USAGE", gpu="6")
    assert power == 71.02 and idle.label("pod") is None  # unallocated GPU: no k8s labels


def test_dcgm_lowercase_hostname_variant() -> None:
    s = _parse(H100_NEW)
    key, _, v = _only(s, "DCGM_FI_DEV_POWER_USAGE", gpu="1")
    assert key.label("hostname") == "gpu-node-2" and key.label("Hostname") is None
    assert v == 398.07


def test_dcgm_mig_instances_are_separate_series() -> None:
    s = _parse(MIG)
    util = {k.label("GPU_I_ID"): k for k in s if k.name == "DCGM_FI_DEV_GPU_UTIL"}
    assert set(util) == {"1", "2", "3"}
    assert util["1"].label("GPU_I_PROFILE") == "3g.40gb"
    assert s.series[util["2"]][1][0] == 38.0
    power = [k for k in s if k.name == "DCGM_FI_DEV_POWER_USAGE"]
    assert len(power) == 1 and power[0].label("GPU_I_ID") is None  # parent GPU only


def test_vllm_0_9_2_exposes_both_kv_cache_names() -> None:
    s = _parse(VLLM_092)
    for name in ("vllm:gpu_cache_usage_perc", "vllm:kv_cache_usage_perc"):
        _, _, v = _only(s, name, model_name=LLAMA)
        assert v == 0.42
    _, _, itl = _only(s, "vllm:time_per_output_token_seconds_sum")
    assert itl == 612.4
    assert "vllm:inter_token_latency_seconds_sum" not in s.names()


def test_vllm_0_11_counters_and_histogram_sum() -> None:
    s = _parse(VLLM_011)
    assert _only(s, "vllm:prompt_tokens_total", engine="0")[2] == 190211.0
    assert _only(s, "vllm:generation_tokens_total")[2] == 27453.0
    assert _only(s, "vllm:num_requests_running")[2] == 8.0
    assert _only(s, "vllm:num_requests_waiting")[2] == 2.0
    assert _only(s, "vllm:inter_token_latency_seconds_sum")[2] == 612.4
    assert _only(s, "vllm:time_per_output_token_seconds_sum")[2] == 612.4
    reasons = {k.label("finished_reason") for k in s if k.name == "vllm:request_success_total"}
    assert reasons == {"stop", "length", "abort"}
    # _created, _bucket and _count lines are not wanted by wattlens.
    assert not any(n.endswith(("_created", "_bucket", "_count")) for n in s.names())


def test_wanted_none_keeps_every_sample() -> None:
    s = _parse(VLLM_011, wanted=None)
    assert "vllm:inter_token_latency_seconds_bucket" in s.names()
    buckets = {k.label("le") for k in s if k.name == "vllm:inter_token_latency_seconds_bucket"}
    assert buckets == {"0.01", "0.025", "0.05", "0.1", "+Inf"}
    n_lines = sum(
        1 for line in VLLM_011.read_text().splitlines() if line and not line.startswith("#")
    )
    assert s.sample_count() == n_lines


def test_text_timestamps_are_ms_and_openmetrics_seconds() -> None:
    text = 'vllm:num_requests_running{a="1"} 3 1762099200123\n'
    s = parse_exposition(text, wanted=None)
    assert _only(s, "vllm:num_requests_running")[1] == 1762099200.123
    om = 'vllm:num_requests_running{a="1"} 3 1762099200.123\n# EOF\n'
    assert (
        _only(parse_exposition(om, wanted=None), "vllm:num_requests_running")[1] == 1762099200.123
    )


def test_escaped_label_values_and_special_floats() -> None:
    text = (
        'm{path="C:\\\\dir",q="say \\"hi\\"",nl="a\\nb",brace="}{ "} NaN\n'
        'm{x="1"} +Inf\n'
        'm{x="2"} -Inf\n'
        "m 1.5e3\n"
    )
    s = parse_exposition(text, wanted=None, now_s=NOW)
    key = next(k for k in s if k.label("path"))
    assert key.label_dict() == {"path": "C:\\dir", "q": 'say "hi"', "nl": "a\nb", "brace": "}{ "}
    assert np.isnan(s.series[key][1][0])
    vals = {k.labels: float(v[0]) for k, (t, v) in s.series.items()}
    assert vals[(("x", "1"),)] == float("inf") and vals[(("x", "2"),)] == float("-inf")
    assert vals[()] == 1500.0


def test_prometheus_renames_clashing_labels_to_exported() -> None:
    target = {"namespace": "gpu-operator", "pod": "nvidia-dcgm-exporter-7xk2p", "job": "dcgm"}
    s = _parse(H100, target_labels=target)
    key, _, _ = _only(s, "DCGM_FI_DEV_POWER_USAGE", gpu="0")
    d = key.label_dict()
    assert d["namespace"] == "gpu-operator" and d["exported_namespace"] == "llm"
    assert d["pod"] == "nvidia-dcgm-exporter-7xk2p"
    assert d["exported_pod"] == "llama-70b-7d9c8b6f4-x2k4p"
    assert d["job"] == "dcgm" and "exported_container" not in d
    idle, _, _ = _only(s, "DCGM_FI_DEV_POWER_USAGE", gpu="7")
    assert idle.label("namespace") == "gpu-operator" and idle.label("exported_namespace") is None


def test_exported_prefix_repeats_when_taken_and_honor_labels_keeps_exposed() -> None:
    text = 'DCGM_FI_DEV_GPU_UTIL{namespace="a",exported_namespace="b"} 5\n'
    s = parse_exposition(text, target_labels={"namespace": "t"}, now_s=NOW)
    (key,) = list(s)
    assert key.label_dict() == {
        "namespace": "t",
        "exported_namespace": "b",
        "exported_exported_namespace": "a",
    }
    s = parse_exposition(text, target_labels={"namespace": "t", "job": "j"}, honor_labels=True)
    (key,) = list(s)
    assert key.label_dict() == {"namespace": "a", "exported_namespace": "b", "job": "j"}


MALFORMED = [
    ("DCGM_FI_DEV_POWER_USAGE{gpu=0} 5\n", "invalid labels"),
    ('DCGM_FI_DEV_POWER_USAGE{gpu="0"\n', "malformed"),
    ('DCGM_FI_DEV_POWER_USAGE{gpu="0"} five\n', "bad value"),
    ('DCGM_FI_DEV_POWER_USAGE{gpu="0"} 5 soon\n', "bad value"),
    ('DCGM_FI_DEV_POWER_USAGE{gpu="0"}\n', "malformed"),
    ('DCGM_FI_DEV_POWER_USAGE{gpu="0} 5\n', "malformed"),
    ('DCGM_FI_DEV_POWER_USAGE{gpu="0",,} 5\n', "invalid labels"),
    ('DCGM_FI_DEV_POWER_USAGE{gpu="0" pod="x"} 5\n', "invalid labels"),
    ('DCGM_FI_DEV_POWER_USAGE{gpu="0"} 5 6 7\n', "bad value"),
]


@pytest.mark.parametrize(("bad_line", "what"), MALFORMED)
def test_malformed_lines_raise_input_error_with_line_number(bad_line: str, what: str) -> None:
    text = '# TYPE DCGM_FI_DEV_POWER_USAGE gauge\nDCGM_FI_DEV_POWER_USAGE{gpu="1"} 1\n' + bad_line
    with pytest.raises(InputError) as e:
        parse_exposition(text, source="http://node:9400/metrics")
    msg = str(e.value)
    assert msg.startswith("http://node:9400/metrics:3: ") and what in msg
    assert bad_line.strip() in msg.replace('\\"', '"')


# -- scraping over real HTTP ----------------------------------------------------------------


def test_scrape_targets_over_http_with_a_dead_and_a_broken_one(exporter: ExporterServer) -> None:
    exporter.set("/dcgm", H100.read_text())
    exporter.set("/vllm", VLLM_011.read_text())
    exporter.set("/broken", 'DCGM_FI_DEV_GPU_UTIL{gpu="0"} lots\n')
    exporter.set_status("/fail", 503, "exporter overloaded")
    dead = f"http://127.0.0.1:{free_port()}/metrics"
    targets = [
        ScrapeTarget(exporter.url("/dcgm"), {"namespace": "gpu-operator", "instance": "n1:9400"}),
        ScrapeTarget(dead),
        ScrapeTarget(
            exporter.url("/vllm"), {"namespace": "llm", "pod": "llama-8b-6b7c8d9f5-q7r8s"}
        ),
        ScrapeTarget(exporter.url("/broken")),
        ScrapeTarget(exporter.url("/fail")),
    ]
    with Scraper(targets, timeout_s=5) as scraper:
        result = scraper.scrape(now_s=NOW)
    errors = {t.url: msg for t, msg in result.errors}
    assert set(errors) == {dead, exporter.url("/broken"), exporter.url("/fail")}
    assert errors[dead].startswith(f"cannot reach {dead}")
    assert "HTTP 503" in errors[exporter.url("/fail")]
    assert f"{exporter.url('/broken')}:1: " in errors[exporter.url("/broken")]
    s = result.series
    key, t, v = _only(s, "DCGM_FI_DEV_POWER_USAGE", gpu="0")
    assert (t, v) == (NOW, 412.53)
    assert key.label("exported_namespace") == "llm" and key.label("instance") == "n1:9400"
    key, _, v = _only(s, "vllm:generation_tokens_total")
    assert v == 27453.0 and key.label("pod") == "llama-8b-6b7c8d9f5-q7r8s"
    assert key.label("exported_namespace") is None  # vLLM exposes no namespace of its own
    assert s.names() <= WANTED_METRICS
    assert result.duration_s > 0
    accept = exporter.requests[0][1].get("Accept", "")
    assert accept.startswith("text/plain;version=0.0.4")


def test_repeat_scrapes_reuse_label_cache_but_read_new_values(exporter: ExporterServer) -> None:
    body = H100.read_text()
    exporter.set("/m", body)
    with Scraper([ScrapeTarget(exporter.url("/m"))]) as scraper:
        first = scraper.scrape(now_s=NOW).series
        exporter.set(
            "/m",
            body.replace("412.53", "433.25").replace(
                "\n# HELP DCGM_FI_DEV_GPU_UTIL",
                '\nDCGM_FI_DEV_POWER_USAGE{gpu="8"} 55\n# HELP DCGM_FI_DEV_GPU_UTIL',
            ),
        )
        second = scraper.scrape(now_s=NOW + 30).series
    assert _only(first, "DCGM_FI_DEV_POWER_USAGE", gpu="0")[1:] == (NOW, 412.53)
    assert _only(second, "DCGM_FI_DEV_POWER_USAGE", gpu="0")[1:] == (NOW + 30, 433.25)
    assert _only(second, "DCGM_FI_DEV_POWER_USAGE", gpu="8")[2] == 55.0
    assert len(second) == len(first) + 1


def test_scrape_openmetrics_content_type_uses_second_timestamps(exporter: ExporterServer) -> None:
    body = (
        "# TYPE vllm:prompt_tokens counter\n"
        'vllm:prompt_tokens_total{model_name="m"} 10.0 1762099100.5\n'
        'vllm:prompt_tokens_created{model_name="m"} 1762000000.0\n'
        "# EOF\n"
    )
    exporter.set("/om", body, "application/openmetrics-text; version=1.0.0; charset=utf-8")
    with Scraper([ScrapeTarget(exporter.url("/om"))]) as scraper:
        result = scraper.scrape(now_s=NOW)
    assert result.errors == []
    assert _only(result.series, "vllm:prompt_tokens_total")[1:] == (1762099100.5, 10.0)


def test_label_value_containing_brace_space_parses_the_same_every_scrape(
    exporter: ExporterServer,
) -> None:
    body = (
        'vllm:num_requests_running{model_name="odd} name",engine="0"} 3\n'
        'vllm:num_requests_waiting{model_name="x"} 1 # {trace_id="abc"} 1.0\n'
    )
    exporter.set("/m", body)
    with Scraper([ScrapeTarget(exporter.url("/m"))]) as scraper:
        runs = [scraper.scrape(now_s=NOW + i).series for i in range(2)]
    for i, s in enumerate(runs):
        key, t, v = _only(s, "vllm:num_requests_running")
        assert key.label_dict() == {"model_name": "odd} name", "engine": "0"}
        assert (t, v) == (NOW + i, 3.0)
        assert _only(s, "vllm:num_requests_waiting")[2] == 1.0  # exemplar ignored


@pytest.mark.integration
@pytest.mark.parametrize("backend_name", ["prometheus", "victoria-metrics"])
def test_exported_rename_matches_a_real_scraper(
    exporter: ExporterServer, tmp_path: Path, backend_name: str
) -> None:
    """Our series keys equal what real Prometheus / VictoriaMetrics store from the same scrape."""
    exporter.set("/metrics", H100.read_text())
    target_labels = {"namespace": "gpu-operator", "pod": "nvidia-dcgm-exporter-7xk2p"}
    job = {
        "job_name": "dcgm",
        "scrape_interval": "1s",
        "static_configs": [{"targets": [exporter.address], "labels": target_labels}],
    }
    if backend_name == "prometheus":
        server = start_prometheus(tmp_path, [job])
    else:
        config = tmp_path / "scrape.yml"
        config.write_text(json.dumps({"scrape_configs": [job]}))
        server = start_victoria_metrics(tmp_path, scrape_config=config)
    with server, PrometheusClient(server.url) as client:
        query = 'DCGM_FI_DEV_POWER_USAGE{gpu="0"}'
        rows: list = []

        def scraped() -> bool:
            if backend_name == "victoria-metrics":  # make buffered samples searchable now
                httpx.get(f"{server.url}/internal/force_flush").raise_for_status()
            rows[:] = client.instant(query)
            return bool(rows)

        wait_until(scraped, f"{backend_name} scraping {exporter.address}")
    stored = SeriesKey("DCGM_FI_DEV_POWER_USAGE", make_labels(rows[0][0]))
    assert rows[0][2] == 412.53
    ours = ScrapeTarget(
        exporter.url("/metrics"), {**target_labels, "job": "dcgm", "instance": exporter.address}
    )
    with Scraper([ours]) as scraper:
        mine = scraper.scrape(now_s=NOW).series
    assert _only(mine, "DCGM_FI_DEV_POWER_USAGE", gpu="0")[0] == stored
