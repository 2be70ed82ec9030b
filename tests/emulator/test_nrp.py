"""The default demo reproduces the NRP snapshot table (seed 000, nrp-carbon-api issue #3)."""

from __future__ import annotations

import pytest

from wattlens.emulator import Scenario, truth

from .conftest import DAY_S, START_S

# Published snapshot (boettiger-lab/nrp-carbon-api issue #3, April 2026): W, GPUs, total tok/s.
SNAPSHOT = {
    "nrp-llm/gpt-oss-120b": (597.0, 2, 2341.0),
    "nrp-llm/gemma-4-31b": (577.0, 2, 360.0),
    "nrp-llm/qwen3-5-397b": (783.0, 8, 18.0),
    "sdsc-llm/kimi-k2-5": (670.0, 8, 0.0),
    "sdsc-llm/minimax-m2-5": (447.0, 4, 0.0),
}


@pytest.mark.parametrize("offset_s", [0.0, 3 * DAY_S + 13 * 3600 + 7])
def test_daily_means_match_the_snapshot(nrp: Scenario, offset_s: float) -> None:
    start = START_S + offset_s  # any 24 h window of the demo
    got = truth(nrp, start, start + DAY_S, start_of_scenario_s=START_S)
    for key, (watts, gpus, tokens_per_s) in SNAPSHOT.items():
        t = got[key]
        assert t.gpu_count == gpus
        assert t.mean_power_watts == pytest.approx(watts, rel=0.05), key
        assert t.tokens_per_s == pytest.approx(tokens_per_s, rel=0.05, abs=1e-9), key
    gpt = got["nrp-llm/gpt-oss-120b"]
    assert gpt.prompt_tokens / (gpt.end_s - gpt.start_s) == pytest.approx(2100, rel=0.05)
    assert gpt.generation_tokens / (gpt.end_s - gpt.start_s) == pytest.approx(241, rel=0.05)
    qwen = got["nrp-llm/qwen3-5-397b"]
    assert qwen.generation_tokens / DAY_S == pytest.approx(15, rel=0.05)
    # J/token as in the table: 0.26 (gpt-oss), 1.60 (gemma), 43.5 (Qwen).
    for key, j_per_token in [("nrp-llm/gpt-oss-120b", 0.26), ("nrp-llm/gemma-4-31b", 1.60),
                             ("nrp-llm/qwen3-5-397b", 43.5)]:  # fmt: skip
        t = got[key]
        assert t.energy_joules / t.total_tokens == pytest.approx(j_per_token, rel=0.08), key


def test_demo_fleet_shape(nrp: Scenario) -> None:
    assert {d.namespace for d in nrp.deployments} == {"nrp-llm", "sdsc-llm"}
    assert any(".unl." in d.node for d in nrp.deployments)  # a non-CAMX grid region
    labels = {n.hostname_label for n in nrp.nodes}
    assert labels == {"Hostname", "hostname"}
    assert any("olmo" in d.workload and d.traffic.pattern == "idle" for d in nrp.deployments)
