"""Per-query energy Monte Carlo (wattlens.plan.query) against Oviedo et al. 2025 (v1).

Published figures: ../shared/reference/papers.md section 2, "v1 results [P]" (the v1 abstract,
seed 002): median 0.34 Wh per query for the >200B blend, IQR 0.18-0.67; long queries 4.32 Wh.
Regression coefficients: papers.md section 2, "TPS regression [C]" refit table.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from wattlens.catalog import paper_params
from wattlens.core.errors import CatalogError, InputError
from wattlens.plan.montecarlo import LogNormal
from wattlens.plan.query import (
    QueryInputs,
    node_kw_for,
    parse_node_kw,
    parse_range,
    plan_query,
    read_output_lengths,
)
from wattlens.plan.throughput import fit_all, oviedo_params, read_points, shipped_points

# papers.md section 2, refit on the FP8 rows: (points, b0, b1, b2, TPS_max)
REFIT = {
    "llama-3.1-405b": (7, 9.762, -0.585, 0.227, 4572),
    "llama-3.1-70b": (5, 10.824, -0.562, 0.262, 17464),
    "mixtral-8x22b": (5, 11.225, -0.553, 0.252, 25150),
    "deepseek-r1": (3, 10.559, -0.539, -0.005, 1300),
}


def test_regression_from_the_shipped_table_matches_the_published_refit() -> None:
    fits = fit_all()
    assert set(fits) == {*REFIT, "nemotron-ultra-253b"}
    for model, (points, b0, b1, b2, tps_max) in REFIT.items():
        f = fits[model]
        assert f.points == points and f.beta is not None
        assert f.beta == pytest.approx((b0, b1, b2), abs=6e-4)
        assert f.tps_max == pytest.approx(tps_max, abs=0.5)
    nemo = fits["nemotron-ultra-253b"]  # two points: the maximum, used directly
    assert nemo.beta is None and nemo.tps_max == 5200.0
    assert float(nemo.tokens_per_s(500, 300)) == 5200.0


def test_held_out_error_is_reported_and_larger_than_in_sample() -> None:
    f = fit_all()["llama-3.1-405b"]
    assert f.loo_rmse_log is not None and f.rmse_log is not None
    assert f.loo_rmse_log > f.rmse_log > 0
    assert fit_all()["deepseek-r1"].loo_rmse_log is None  # 3 points: none left to hold out


def test_frontier_blend_reproduces_the_published_median_and_iqr() -> None:
    r = plan_query(QueryInputs())  # the paper's v1 parameters, 10,000 samples/model, seed 42
    assert r.blend is not None
    assert set(r.blend.models) == {"deepseek-r1", "llama-3.1-405b", "nemotron-ultra-253b"}
    s = r.blend.summary
    assert s.median_wh == pytest.approx(0.34, rel=0.03)
    assert s.p25_wh == pytest.approx(0.18, rel=0.03)
    assert s.p75_wh == pytest.approx(0.67, rel=0.03)


def test_long_queries_reproduce_the_published_median() -> None:
    r = plan_query(QueryInputs(output_median_tokens=5000))
    assert r.blend is not None
    assert r.blend.summary.median_wh == pytest.approx(4.32, rel=0.03)


def test_fused_kernel_matches_a_plain_implementation_of_the_equation() -> None:
    """Quartiles against the equation written out per factor, with its own random stream."""
    n = 200_000
    rng = np.random.default_rng(123)
    z = 1.6448536269514722

    def ln(lo: float, hi: float) -> np.ndarray:
        sigma = (math.log(hi) - math.log(lo)) / (2 * z)
        return rng.lognormal(math.log(lo) + z * sigma, sigma, n)

    lout = np.rint(rng.exponential(300 / math.log(2), n))
    pu, pue = ln(0.4, 0.9), ln(1.05, 1.6)
    b0, b1, b2 = 9.762, -0.585, 0.227  # papers.md refit, Llama 3.1 405B
    with np.errstate(divide="ignore", invalid="ignore"):
        tps = np.minimum(np.exp(b0 + b1 * math.log(500) + b2 * np.log(lout)), 4572.23)
        e = np.where(lout > 0, pue * 11.3 * pu * lout / tps / 3600 * 1000, 0.0)
    got = plan_query(QueryInputs(models=("llama-3.1-405b",), blend=None, samples=n, seed=5))
    s = got.runs[0].summary
    want = np.percentile(e, [25, 50, 75])
    assert [s.p25_wh, s.median_wh, s.p75_wh] == pytest.approx(want, rel=0.02)
    assert s.mean_wh == pytest.approx(e.mean(), rel=0.02)


def test_same_seed_same_samples_other_seed_other_samples() -> None:
    a = plan_query(QueryInputs(samples=2000, seed=7))
    b = plan_query(QueryInputs(samples=2000, seed=7))
    c = plan_query(QueryInputs(samples=2000, seed=8))
    for x, y in zip(a.runs, b.runs, strict=True):
        assert np.array_equal(x.samples, y.samples)
    assert not np.array_equal(a.runs[0].samples, c.runs[0].samples)
    assert a.as_dict() == b.as_dict()


def test_a_models_samples_do_not_depend_on_the_others_run() -> None:
    alone = plan_query(QueryInputs(models=("llama-3.1-70b",), blend=None, samples=1000))
    every = plan_query(QueryInputs(samples=1000))
    (one,) = alone.runs
    assert np.array_equal(one.samples, next(r for r in every.runs if r.model == one.model).samples)


def test_node_power_scales_energy_in_proportion() -> None:
    base = plan_query(QueryInputs(models=("llama-3.1-70b",), blend=None, samples=1000))
    double = plan_query(QueryInputs(models=("llama-3.1-70b",), blend=None, samples=1000,
                                    node_kw={"default": 22.6}))  # fmt: skip
    assert double.runs[0].node_kw == 22.6
    np.testing.assert_allclose(double.runs[0].samples, 2 * base.runs[0].samples, rtol=1e-6)


def test_node_kw_overrides() -> None:
    assert parse_node_kw("11.3") == {"default": 11.3}
    kw = parse_node_kw("deepseek-r1=14.1, default=11.3")
    assert kw == {"deepseek-r1": 14.1, "default": 11.3}
    assert node_kw_for("deepseek-r1", {}) == 14.1  # the paper's larger node
    assert node_kw_for("deepseek-r1", {"default": 9.0}) == 9.0  # "for all"
    assert node_kw_for("llama-3.1-70b", kw) == 11.3


def test_constant_output_length_gives_the_closed_form(tmp_path: Path) -> None:
    """L_out fixed at 1000, PU and PUE fixed: E = PUE * kW * PU * L_out / TPS / 3.6 exactly."""
    f = tmp_path / "lengths.txt"
    f.write_text("1000\n1000\n")
    r = plan_query(QueryInputs(models=("llama-3.1-70b",), blend=None, samples=500,
                               output_lengths=read_output_lengths(f), power_use=LogNormal(0.5, 0.5),
                               pue=LogNormal(1.2, 1.2)))  # fmt: skip
    tps = min(math.exp(10.824 - 0.562 * math.log(500) + 0.262 * math.log(1000)), 17464)
    assert r.runs[0].summary.median_wh == pytest.approx(1.2 * 11.3 * 0.5 * 1000 / tps / 3.6,
                                                        rel=2e-3)  # fmt: skip
    assert r.parameters["output_distribution"] == "empirical"


def test_zero_output_tokens_cost_nothing(tmp_path: Path) -> None:
    f = tmp_path / "lengths.csv"
    f.write_text("request,output_tokens\na,0\nb,0\n")
    r = plan_query(QueryInputs(models=("llama-3.1-405b",), blend=None, samples=100,
                               output_lengths=read_output_lengths(f)))  # fmt: skip
    assert np.all(r.runs[0].samples == 0.0)


def test_own_throughput_csv_recovers_a_planted_law(tmp_path: Path) -> None:
    rows = ["model,input_tokens,output_tokens,tokens_per_s"]
    for lin, lout in [(128, 128), (128, 2048), (2048, 128), (500, 2000), (5000, 500), (1000, 1000)]:
        tps = math.exp(10.0 - 0.5 * math.log(lin) + 0.2 * math.log(lout))
        rows.append(f"mine,{lin},{lout},{tps}")
    path = tmp_path / "bench.csv"
    path.write_text("\n".join(rows))
    fit = fit_all(read_points(path))["mine"]
    assert fit.beta == pytest.approx((10.0, -0.5, 0.2), abs=1e-9)
    assert fit.loo_rmse_log == pytest.approx(0.0, abs=1e-9)
    r = plan_query(QueryInputs(models=("mine",), blend=None, samples=200,
                               points=tuple(read_points(path))))  # fmt: skip
    assert r.parameters["throughput_table"] == "user" and r.runs[0].summary.median_wh > 0


def test_shipped_table_is_complete() -> None:
    pts = shipped_points()
    assert len(pts) == 22  # 25 rows; the three ML.ENERGY rows have no input length
    assert sum(p.quantization == "FP8" for p in pts) == 22  # README: 22 of 25 are FP8


@pytest.mark.parametrize(
    ("text", "field", "needle"),
    [
        ("0.9-0.4", "power_use", "low is greater than high"),
        ("-0.4-0.9", "power_use", "must be greater than 0"),
        ("0-1.6", "pue", "must be greater than 0"),
        ("abc", "pue", "expected LO-HI"),
        ("nan", "pue", "finite"),
    ],
)
def test_invalid_ranges_name_the_field(text: str, field: str, needle: str) -> None:
    with pytest.raises(InputError) as e:
        parse_range(text, field)
    assert e.value.field == field and e.value.message.startswith(field) and needle in str(e.value)


@pytest.mark.parametrize("text", ["-11.3", "0", "deepseek-r1=-1", "inf", "x=y", ""])
def test_invalid_node_power(text: str) -> None:
    with pytest.raises(InputError) as e:
        parse_node_kw(text)
    assert e.value.field == "node_kw"


def test_unknown_names_and_bad_counts() -> None:
    with pytest.raises(CatalogError, match="model gpt-9: not in the throughput table"):
        plan_query(QueryInputs(models=("gpt-9",)))
    with pytest.raises(CatalogError, match="node_kw 'llama-9'"):
        plan_query(QueryInputs(node_kw={"llama-9": 3.0}))
    with pytest.raises(InputError, match="samples 5"):
        plan_query(QueryInputs(samples=5))
    with pytest.raises(InputError, match="blend 'top9'"):
        plan_query(QueryInputs(blend="top9", samples=100))
    with pytest.raises(InputError, match="quantization 'INT4'"):
        plan_query(QueryInputs(quantization="int4", samples=100))


def test_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "t.csv"
    bad.write_text("model,tokens_per_s\nx,1\n")
    with pytest.raises(InputError, match="missing column.*input_tokens, output_tokens"):
        read_points(bad)
    neg = tmp_path / "l.txt"
    neg.write_text("10\n-3\n")
    with pytest.raises(InputError, match="non-negative"):
        read_output_lengths(neg)
    with pytest.raises(InputError, match="cannot read"):
        read_output_lengths(tmp_path / "missing.txt")


def test_every_parameter_group_names_its_source_and_year() -> None:
    p = oviedo_params()
    assert "2025" in p["citation"]
    groups = {k: v for k, v in p.items() if isinstance(v, dict) and k != "interventions"}
    groups.update({f"interventions.{k}": v for k, v in p["interventions"].items()})
    for name, group in groups.items():
        assert re.search(r"(19|20)\d\d", group["source"]), name


def test_parameters_agree_with_the_catalogs_copy_of_the_paper() -> None:
    """data/oviedo.toml against catalog/papers.toml (oviedo2025.v1), typed in separately."""
    v1, p = paper_params("oviedo2025")["v1"], oviedo_params()
    assert p["node"]["power_max_kw_default"] == v1["node_power_max_kw_8xh100"]
    assert p["node"]["power_max_kw_by_model"]["deepseek-r1"] == v1["node_power_max_kw_deepseek_r1"]
    assert (p["power_utilisation"]["p5"], p["power_utilisation"]["p95"]) == (
        v1["power_utilisation_p5"], v1["power_utilisation_p95"],
    )  # fmt: skip
    assert (p["pue"]["p5"], p["pue"]["p95"]) == (v1["pue_p5"], v1["pue_p95"])
    assert math.prod(p["fleet"]["overhead_factors"]) == pytest.approx(v1["fleet_overhead_beta"],
                                                                      abs=1e-4)  # fmt: skip
    assert p["workload"]["input_tokens"] == v1["input_tokens"]
