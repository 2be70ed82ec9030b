"""Fleet energy per day (wattlens.plan.daily) against Oviedo et al. 2025 (v1).

Published figures, ../shared/reference/papers.md section 2: "v1 results [P]" (the abstract,
seed 002): 10^9 traditional queries/day -> 0.8 GWh/day; with efficiency interventions 0.9. The
10 %-long day prints as 1.8 but the re-run in papers.md ("Reproduction [R]") gives 1.88, which
is the figure the method yields. beta = 1.10 x 1.076 x 1.12 = 1.3256 and the intervention
ranges and medians: papers.md section 2, "Fleet / day [C]" and "Efficiency interventions".
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from wattlens.core.errors import CatalogError, InputError
from wattlens.plan.daily import DailyInputs, parse_interventions, parse_overhead, plan_daily
from wattlens.plan.daily_plot import plot_waterfall
from wattlens.plan.query import QueryInputs, plan_query
from wattlens.plan.throughput import oviedo_params


@pytest.fixture(scope="module")
def day() -> dict:
    return plan_daily(DailyInputs(bootstrap_resamples=200))


def _row(body: dict, scenario: str) -> dict:
    return next(r for r in body["scenarios"] if r["scenario"] == scenario)


def test_traditional_day_reproduces_0_8_gwh(day: dict) -> None:
    trad = _row(day, "traditional")
    assert trad["gwh_per_day"] == pytest.approx(0.8, rel=0.03)
    assert trad["low"] < trad["gwh_per_day"] < trad["high"]


def test_mixed_day_and_interventions(day: dict) -> None:
    assert _row(day, "mixed")["gwh_per_day"] == pytest.approx(1.88, rel=0.03)
    assert _row(day, "mixed+interventions")["gwh_per_day"] == pytest.approx(0.9, rel=0.03)
    assert [r["scenario"] for r in day["scenarios"]] == [
        "traditional", "long", "mixed",
        "traditional+interventions", "long+interventions", "mixed+interventions",
    ]  # fmt: skip
    assert {"gwh_per_day", "low", "high"} <= set(day["scenarios"][0])


def test_overhead_multiplies_the_mean_not_the_median(day: dict) -> None:
    q = plan_query(QueryInputs())  # same seed and samples as the day's traditional run
    assert q.blend is not None
    mean = float(q.blend.pooled.mean())
    assert mean > 1.5 * q.blend.summary.median_wh  # heavy tail: the choice matters
    assert _row(day, "traditional")["gwh_per_day"] == pytest.approx(1e9 * mean * 1.3256 / 1e9,
                                                                   rel=1e-4)  # fmt: skip
    assert day["parameters"]["overhead_factor"] == pytest.approx(1.3256, abs=1e-4)


def test_waterfall_steps_add_up(day: dict) -> None:
    steps = day["waterfall"]
    assert steps[0]["kind"] == steps[-1]["kind"] == "total"
    total = steps[0]["gwh_per_day"] + sum(s["gwh_per_day"] for s in steps[1:-1])
    assert total == pytest.approx(steps[-1]["gwh_per_day"], rel=1e-9)
    assert steps[-1]["gwh_per_day"] == pytest.approx(
        _row(day, "mixed+interventions")["gwh_per_day"], rel=1e-9
    )


def test_intervention_medians_are_the_published_ones() -> None:
    ints = oviedo_params()["interventions"]
    for name in ("model", "serving", "hardware"):
        assert math.sqrt(ints[name]["p5"] * ints[name]["p95"]) == pytest.approx(
            ints[name]["median"], abs=0.005
        )
    product = math.prod(ints[n]["median"] for n in ("model", "serving", "hardware"))
    assert product == pytest.approx(20.6, abs=0.05)  # papers.md: product of medians ~ 20.6x


def test_all_three_interventions_cut_the_day_about_twentyfold() -> None:
    three = ("model", "serving", "hardware")
    body = plan_daily(
        DailyInputs(interventions=three, bootstrap_resamples=20, query=QueryInputs(samples=2000))
    )
    ratio = _row(body, "mixed")["gwh_per_day"] / _row(body, "mixed+interventions")["gwh_per_day"]
    assert 8 < ratio < 20  # the abstract's "combined 8-20x" (mean of 1/X is above 1/median)
    assert [i["name"] for i in body["interventions"]] == ["model", "serving", "hardware"]


def test_no_interventions_and_no_long_queries() -> None:
    body = plan_daily(DailyInputs(interventions=(), long_share=0.0, bootstrap_resamples=20,
                                  query=QueryInputs(samples=1000)))  # fmt: skip
    assert [r["scenario"] for r in body["scenarios"]] == ["traditional", "long", "mixed"]
    assert _row(body, "mixed")["gwh_per_day"] == pytest.approx(
        _row(body, "traditional")["gwh_per_day"], rel=1e-12
    )


def test_deterministic_for_a_seed() -> None:
    a = plan_daily(DailyInputs(bootstrap_resamples=20, query=QueryInputs(samples=500, seed=3)))
    b = plan_daily(DailyInputs(bootstrap_resamples=20, query=QueryInputs(samples=500, seed=3)))
    assert a == b


def test_parsers() -> None:
    assert parse_overhead("1.10*1.076*1.12") == pytest.approx(1.3256, abs=1e-4)
    assert parse_overhead("1.5") == 1.5
    assert parse_interventions("none") == ()
    assert parse_interventions("model, serving") == ("model", "serving")
    with pytest.raises(InputError, match="overhead"):
        parse_overhead("1.1*-2")
    with pytest.raises(InputError, match="overhead"):
        parse_overhead("x")
    with pytest.raises(CatalogError) as e:
        parse_interventions("model,quantum")
    assert e.value.field == "interventions" and "quantum" in str(e.value)


@pytest.mark.parametrize(
    ("inputs", "field"),
    [
        (DailyInputs(long_share=1.5), "long_share"),
        (DailyInputs(long_share=-0.1), "long_share"),
        (DailyInputs(queries_per_day=-1.0), "queries"),
        (DailyInputs(queries_per_day=math.inf), "queries"),
        (DailyInputs(overhead=-1.0), "overhead"),
        (DailyInputs(bootstrap_resamples=1), "bootstrap"),
    ],
)
def test_invalid_inputs_name_the_field(inputs: DailyInputs, field: str) -> None:
    with pytest.raises(InputError) as e:
        plan_daily(inputs)
    assert e.value.field == field and str(e.value).startswith(field)


def test_waterfall_chart(tmp_path: Path, day: dict) -> None:
    page = plot_waterfall(day, tmp_path / "w.html").read_text()
    assert "<svg" in page and "http://" not in page and "https://" not in page
    with pytest.raises(InputError, match="plot"):
        plot_waterfall(day, tmp_path / "w.jpg")
