"""Published paper parameters, checked against the results the papers print."""

from __future__ import annotations

import math

import pytest

from wattlens.catalog import paper_ids, paper_params
from wattlens.core.errors import CatalogError


def _logistic(b: float, p_idle: float, p_nom: float, k: float, x0: float) -> float:
    # 1/W law Eq. 1, written out here independently of wattlens.physics.
    return (p_nom - p_idle) / (1 + math.exp(-k * (math.log2(max(b, 1.0)) - x0))) + p_idle


def test_ids() -> None:
    assert set(paper_ids()) == {"samsi2023", "oviedo2025", "sweetspot2026", "oneoverw2026"}


def test_h100_profile_reproduces_the_published_power_curve() -> None:
    # papers.md 4.2: H100 logistic fit P(1)=304, P(8)=369, P(32)=507, P(256)=593 W.
    p = paper_params("oneoverw2026")["h100_manual_profile"]
    args = (p["p_idle_watts"], p["p_nominal_watts"], p["k"], p["x0"])
    for b, watts in ((1, 304), (8, 369), (32, 507), (256, 593)):
        assert _logistic(b, *args) == pytest.approx(watts, abs=1.0)
    assert (p["weight_stream_ms"], p["kv_scan_ms_per_seq"], p["calib_context_tokens"]) == (
        4.0,
        0.32,
        8192,
    )
    assert (p["total_kv_blocks"], p["block_tokens"], p["max_slots"]) == (65536, 16, 256)


def test_h100_table1_step_time_is_constant() -> None:
    # papers.md 4.3: when KV-limited, tau = W_s + H (ctx/2 / L_calib) n_max = 24.48 ms at every W.
    params = paper_params("oneoverw2026")
    p, t1 = params["h100_manual_profile"], params["table1_h100"]
    for ctx, n in zip(t1["context_tokens"], t1["n_max"], strict=True):
        tau = p["weight_stream_ms"] + p["kv_scan_ms_per_seq"] * (ctx / 2 / 8192) * n
        assert tau == pytest.approx(24.48)


def test_appendix_power_rows_are_fractions_of_tdp() -> None:
    a = paper_params("oneoverw2026")["power_appendix_a"]
    rows = zip(a["tdp_watts"], a["p_idle_watts"], a["p_nominal_watts"], strict=True)
    for tdp, idle, nom in list(rows)[1:]:  # the H100 row is a fit, not a TDP fraction
        assert idle == pytest.approx(0.43 * tdp, abs=1.5)  # H200 row rounds 301 to 300
        assert nom == pytest.approx(0.86 * tdp, abs=2.5)


def test_samsi_table3_means() -> None:
    # Samsi 2023 text: energy -23.21 % on average for the 250 -> 175 W cap.
    t = paper_params("samsi2023")["power_cap_table3"]
    mean = sum(t["energy_change_percent"]) / len(t["energy_change_percent"])
    assert mean == pytest.approx(t["mean_energy_change_percent"], abs=0.01)


def test_oviedo_beta_and_sweetspot() -> None:
    v1 = paper_params("oviedo2025")["v1"]
    assert v1["fleet_overhead_beta"] == pytest.approx(1.10 * 1.076 * 1.12, abs=1e-4)
    assert paper_params("sweetspot2026")["results"]["mean_mape_percent"] == 1.79


def test_params_are_copies() -> None:
    paper_params("samsi2023")["setup"]["power_cap_watts"] = 0
    assert paper_params("samsi2023")["setup"]["power_cap_watts"] == 250


def test_unknown_paper() -> None:
    with pytest.raises(CatalogError, match="samsi2023"):
        paper_params("samsi")
