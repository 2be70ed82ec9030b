"""Prometheus HTTP service discovery documents, from a file and over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ExporterServer

from wattlens.core.errors import BackendError, InputError
from wattlens.telemetry.scrape import ScrapeTarget
from wattlens.telemetry.sd import load_http_sd, targets_from_sd

DOC = [
    {
        "targets": ["10.42.3.17:9400", "10.42.3.18:9400"],
        "labels": {
            "__meta_kubernetes_pod_name": "nvidia-dcgm-exporter-7xk2p",
            "job": "dcgm",
            "namespace": "gpu-operator",
        },
    },
    {
        "targets": ["10.42.5.9:8000"],
        "labels": {
            "__scheme__": "https",
            "__metrics_path__": "/v1/metrics",
            "__param_format": "prometheus",
            "namespace": "llm",
            "pod": "llama-8b-6b7c8d9f5-q7r8s",
        },
    },
]


def test_http_sd_file(tmp_path: Path) -> None:
    f = tmp_path / "sd.json"
    f.write_text(json.dumps(DOC))
    assert load_http_sd(f) == [
        ScrapeTarget(
            "http://10.42.3.17:9400/metrics",
            {"instance": "10.42.3.17:9400", "job": "dcgm", "namespace": "gpu-operator"},
        ),
        ScrapeTarget(
            "http://10.42.3.18:9400/metrics",
            {"instance": "10.42.3.18:9400", "job": "dcgm", "namespace": "gpu-operator"},
        ),
        ScrapeTarget(
            "https://10.42.5.9:8000/v1/metrics?format=prometheus",
            {"instance": "10.42.5.9:8000", "namespace": "llm", "pod": "llama-8b-6b7c8d9f5-q7r8s"},
        ),
    ]


def test_http_sd_over_http(exporter: ExporterServer) -> None:
    exporter.set("/sd", json.dumps(DOC), "application/json")
    assert len(load_http_sd(exporter.url("/sd"))) == 3
    with pytest.raises(BackendError, match="HTTP 404"):
        load_http_sd(exporter.url("/missing"))


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        ({"targets": []}, "top level"),
        ([{"labels": {}}], "[0] has no 'targets'"),
        ([{"targets": ["a:1"], "labels": {"x": 1}}], "[0].labels"),
        ([{"targets": ["http://a:1"]}], "[0].targets[0]"),
        ([{"targets": ["a:1"], "labels": {"__scheme__": "ftp"}}], "__scheme__"),
    ],
)
def test_bad_documents(doc: object, where: str) -> None:
    with pytest.raises(InputError, match=None) as e:
        targets_from_sd(doc, "sd.json")
    assert where in str(e.value)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_http_sd(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(InputError, match="not JSON"):
        load_http_sd(bad)
