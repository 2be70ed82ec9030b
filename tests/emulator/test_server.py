"""The emulator over real HTTP on loopback, with an injected clock (no sleeps)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from wattlens.core.errors import BackendError
from wattlens.emulator import EmulatorServer, Scenario, truth

from .conftest import START_S


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def served(events: Scenario) -> Iterator[tuple[EmulatorServer, Clock, httpx.Client]]:
    clock = Clock(START_S + 3600)
    server = EmulatorServer(events, clock=clock, start_s=START_S)
    with server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield server, clock, client


def sd_targets(client: httpx.Client) -> dict[str, dict[str, str]]:
    groups = client.get("/sd").json()
    return {g["labels"]["__metrics_path__"]: g["labels"] for g in groups}


def test_health_and_service_discovery(served) -> None:
    server, clock, client = served
    clock.t = START_S + 3600
    assert client.get("/healthz").text == "ok\n"
    groups = client.get("/sd").json()
    assert all(g["targets"] == [server.address] for g in groups)
    targets = sd_targets(client)
    dcgm = [x for x in targets.values() if x["job"] == "dcgm-exporter"]
    vllm = [x for x in targets.values() if x["job"] == "vllm"]
    assert len(dcgm) == 3 and len(vllm) == 3  # finetune has no engine endpoint
    assert {x["namespace"] for x in dcgm} == {"gpu-operator"}
    assert {x["container"] for x in dcgm} == {"nvidia-dcgm-exporter"}
    assert {(x["namespace"], x["container"]) for x in vllm} == {
        ("llm", "vllm"), ("research", "server"),
    }  # fmt: skip
    for path in targets:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert list(text_string_to_metric_families(response.text))


def test_gap_answers_503_and_recovers(served) -> None:
    _, clock, client = served
    path_dcgm = "/dcgm/node-b.ucsd.edu/metrics"
    clock.t = START_S + 9.9 * 3600
    path_vllm = next(p for p, x in sd_targets(client).items() if x["namespace"] == "research")
    assert client.get(path_dcgm).status_code == 200
    clock.t = START_S + 10 * 3600
    assert client.get(path_dcgm).status_code == 503
    assert client.get(path_vllm).status_code == 503
    assert client.get("/dcgm/node-a.sdsc.edu/metrics").status_code == 200  # other nodes fine
    clock.t = START_S + 12 * 3600
    assert client.get(path_dcgm).status_code == 200
    assert client.get(path_vllm).status_code == 200


def test_restarted_pod_path_404s(served) -> None:
    _, clock, client = served
    clock.t = START_S + 6 * 3600 - 10
    old = next(p for p, x in sd_targets(client).items() if x["pod"].startswith("llama-70b"))
    assert client.get(old).status_code == 200
    clock.t = START_S + 6 * 3600 + 10
    new = next(p for p, x in sd_targets(client).items() if x["pod"].startswith("llama-70b"))
    assert new != old
    assert client.get(old).status_code == 404
    fams = {f.name: f for f in text_string_to_metric_families(client.get(new).text)}
    assert fams["vllm:prompt_tokens"].samples[0].value == 0.0  # counters restart at 0
    assert client.get("/dcgm/no-such-node/metrics").status_code == 404


def test_truth_endpoint_matches_library(served, events: Scenario) -> None:
    _, clock, client = served
    clock.t = START_S + 5 * 3600
    body = client.get("/truth", params={"start": START_S + 600, "end": START_S + 4200}).json()
    expected = truth(events, START_S + 600, START_S + 4200, start_of_scenario_s=START_S)
    assert body["ok"] and set(body["deployments"]) == set(expected)
    for key, t in expected.items():
        got = body["deployments"][key]
        assert got["energy_joules"] == pytest.approx(t.energy_joules, rel=1e-12)
        assert got["prompt_tokens"] == (
            None if t.prompt_tokens is None else pytest.approx(t.prompt_tokens, rel=1e-12)
        )
        assert got["idle_watts_per_gpu"] == t.idle_watts_per_gpu
    default = client.get("/truth").json()  # scenario start .. the clock's now
    assert (default["start_s"], default["end_s"]) == (START_S, START_S + 5 * 3600)
    bad = client.get("/truth", params={"start": "yesterday"})
    assert bad.status_code == 400 and bad.json()["ok"] is False


def test_scrapes_see_counters_advance_exactly(served, events: Scenario) -> None:
    _, clock, client = served
    a, b = START_S + 2 * 3600, START_S + 3 * 3600
    readings = []
    for t in (a, b):
        clock.t = t
        fams = {f.name: f for f in text_string_to_metric_families(
            client.get("/dcgm/node-c.csus.edu/metrics").text)}  # fmt: skip
        readings.append(sum(s.value for s in fams["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"].samples))
    expected = truth(events, a, b, start_of_scenario_s=START_S)["training/finetune"]
    assert (readings[1] - readings[0]) / 1000 == pytest.approx(expected.energy_joules, abs=0.01)


def test_port_in_use_is_a_clear_error(served, events: Scenario) -> None:
    server, _, _ = served
    with pytest.raises(BackendError, match="cannot listen"):
        EmulatorServer(events, port=server.port, clock=lambda: START_S).start()
