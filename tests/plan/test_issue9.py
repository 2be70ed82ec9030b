"""Defects of #9, each against a value from the paper, the measurements or a hand calculation;
cost and uncertainty bands of the calibrated default."""

from __future__ import annotations

import pytest

from wattlens.core.errors import InputError
from wattlens.plan.fleet import plan_fleet
from wattlens.plan.profiles import PowerProfile
from wattlens.plan.tokw import plan_tokw


def test_joules_per_token_is_physical_in_the_paper_convention() -> None:
    # Table 1, 8K: n 128, tok/s 5,229, P 583 W per GPU on 8 GPUs -> 8 x 583 / 5229 = 0.892 J.
    r = plan_tokw("llama-3.1-70b", "H100-SXM", tp=8, contexts=[8192], profile="paper",
                  convention="paper")  # fmt: skip
    row = r.rows[0]
    assert row["tokens_per_watt"] == pytest.approx(8.97, abs=0.01)
    assert row["joules_per_token"] == pytest.approx(8 * 583 / 5229, rel=0.01)


def test_published_variant_without_tp_picks_a_tp_where_weights_fit() -> None:
    # 70B bf16: 141 GB of weights; one H100 holds 0.9 x 85.9 = 77.3 GB -> TP 2 (70.6 GB each).
    r = plan_tokw("llama-3.1-70b", "H100-SXM", contexts=[8192], variant="published",
                  profile="computed")  # fmt: skip
    assert r.tp == 2
    assert any("TP 2 is the smallest" in n for n in r.notes)


def test_published_variant_adds_moe_dispatch_time() -> None:
    # Hand: the dispatch time adds to every step: tau' = tau + 10 ms at the same batch.
    kw = dict(tp=8, contexts=[8192], variant="published", profile="computed", batch=16,
              at_limit=False)  # fmt: skip
    base = plan_tokw("qwen3-235b-a22b", "H100-SXM", **kw).rows[0]  # type: ignore[arg-type]
    slow = plan_tokw("qwen3-235b-a22b", "H100-SXM", moe_dispatch_s=0.010, **kw).rows[0]  # type: ignore[arg-type]
    assert slow["step_time_ms"] == pytest.approx(base["step_time_ms"] + 10.0)


@pytest.mark.parametrize(
    ("idle", "nominal", "match"),
    [(900.0, 1500.0, "TDP"), (500.0, 400.0, "below nominal")],
)
def test_impossible_power_profiles_are_refused(idle: float, nominal: float, match: str) -> None:
    with pytest.raises(InputError, match=match) as e:
        plan_tokw("llama-3.1-8b", "H100-SXM", contexts=[2048],
                  power_profile=PowerProfile(idle, nominal, 4.0, 1.0))  # fmt: skip
    assert e.value.field == "power_profile"


def test_weights_that_do_not_fit_are_refused() -> None:
    with pytest.raises(InputError, match="short by"):
        plan_tokw("llama-3.1-70b", "H100-SXM", tp=1, contexts=[2048])


def test_calibrated_default_has_a_band_and_physical_power() -> None:
    r = plan_tokw("llama-3.1-8b", "H100-SXM", tp=1, contexts=[2048], batch=64, at_limit=False)
    row = r.rows[0]
    assert r.profile_kind == "calibrated"
    assert row["joules_per_token_p5"] <= row["joules_per_token"] <= row["joules_per_token_p95"]
    assert 225.0 <= row["power_watts_per_gpu"] <= 700.0  # [idle, TDP] of the H100 catalog entry


def test_fleet_cost_from_the_price_table() -> None:
    r = plan_fleet("llama-3.1-70b", "H100-SXM", rate_rps=100, topology="homo", tp=8)
    t = r.total
    # $4.02 per H100-hour (1/W paper's fleet_sim catalog) x GPUs.
    assert t["usd_per_hour"] == pytest.approx(4.02 * t["gpus"])
    assert t["tokens_per_usd"] == pytest.approx(
        t["output_tokens_per_sec"] * 3600 / t["usd_per_hour"]
    )
    assert t["joules_per_token_p5"] <= t["joules_per_token"] <= t["joules_per_token_p95"]
