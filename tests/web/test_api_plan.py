"""`/api/v2/plan/tokw`, `/api/v2/plan/fleet` and `/api/v2/catalog/*` against published figures.

Chen et al. 2026, "The 1/W law" (arXiv 2603.17280): Table 1, H100 column (Llama-3.1-70B, TP 8,
fp16, empirical H100 profile, n = n_max, paper convention), and Table 3, Azure H100 rows.
"""

from __future__ import annotations

import pytest

from .conftest import Served

CONTEXTS = [2048, 4096, 8192, 16384, 32768, 65536, 131072]
TABLE1_N_MAX = [512, 256, 128, 64, 32, 16, 8]
TABLE1_TOK_PER_W = [35.0, 17.6, 8.97, 4.69, 2.58, 1.50, 0.88]
TABLE3_AZURE_H100 = {  # topology: (instances, kW, tok/W)
    "homo": (141, 58.3, 5.58),
    "pool": (68, 32.0, 9.16),
    "fleetopt": (40, 23.1, 14.08),
}
PAPER = {"model": "llama-3.1-70b", "tp": "8", "dtype": "fp16", "profile": "paper"}


def _shape(r, status: int) -> str:  # noqa: ANN001
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"ok", "error", "status"} and body == {
        **body,
        "ok": False,
        "status": status,
    }
    return body["error"]


def test_tokw_reproduces_table1_h100_in_the_paper_convention(served: Served) -> None:
    r = served.get("/api/v2/plan/tokw", params={**PAPER, "gpu": "H100-SXM", "convention": "paper"})
    body = r.json()
    assert body["context_tokens"] == CONTEXTS  # the default list
    (res,) = body["results"]
    assert (res["model"], res["gpu"], res["tp"], res["convention"]) == (
        "llama-3.1-70b", "H100-SXM", 8, "paper",
    )  # fmt: skip
    assert [row["max_concurrency"] for row in res["rows"]] == TABLE1_N_MAX
    for row, want in zip(res["rows"], TABLE1_TOK_PER_W, strict=True):
        assert row["tokens_per_watt"] == pytest.approx(want, rel=0.02)


def test_physical_convention_is_one_tp_th_and_the_1_over_w_line(served: Served) -> None:
    q = {**PAPER, "gpu": "H100-SXM", "context": "131072,2048,8192,2048"}
    paper = served.get("/api/v2/plan/tokw", params={**q, "convention": "paper"}).json()
    phys = served.get("/api/v2/plan/tokw", params=q).json()
    assert phys["convention"] == "physical" and phys["context_tokens"] == [2048, 8192, 131072]
    for a, b in zip(paper["results"][0]["rows"], phys["results"][0]["rows"], strict=True):
        assert b["tokens_per_watt"] * 8 == pytest.approx(a["tokens_per_watt"], rel=1e-12)
        assert b["power_watts_instance"] == pytest.approx(8 * b["power_watts_per_gpu"])
    ref = paper["reference_1_over_w"]
    y0 = paper["results"][0]["rows"][0]["tokens_per_watt"]
    assert ref["anchor"]["context_tokens"] == 2048
    assert ref["tokens_per_watt"] == pytest.approx([y0, y0 / 4, y0 / 64], rel=1e-12)


def test_several_models_and_gpus(served: Served) -> None:
    r = served.get("/api/v2/plan/tokw", params={"model": "llama-3.1-8b,qwen3-30b-a3b",
                   "gpu": "H100-SXM,B200,h100-sxm", "context": "4096,8192"})  # fmt: skip
    results = r.json()["results"]
    pairs = [(x["model"], x["gpu"]) for x in results]
    assert pairs == [
        (m, g) for m in ("llama-3.1-8b", "qwen3-30b-a3b") for g in ("H100-SXM", "B200")
    ]
    notes = [n for x in results for n in x["notes"]]
    assert any(n.startswith("tp not given") for n in notes)  # the parameter's name, no CLI flag
    assert not any("--" in n for n in notes)


def test_weights_that_do_not_fit_are_422_with_the_shortfall(served: Served) -> None:
    r = served.get("/api/v2/plan/tokw", params={"model": "llama-3.1-405b", "gpu": "H100-SXM",
                   "tp": "8", "dtype": "fp16"})  # fmt: skip
    msg = _shape(r, 422)
    # 405e9 params x 2 bytes / 8 GPUs = 101 GB per GPU against 0.9 x 80 GiB = 77.3 GB usable
    assert "101.2 GB of weights per GPU" in msg and "short by 24.4 GB" in msg
    assert "try dtype fp8" in msg and "--" not in msg  # the planner never names CLI flags


def test_unknown_names_are_404_with_suggestions(served: Served) -> None:
    msg = _shape(served.get("/api/v2/plan/tokw?model=llama-3.1-70x&gpu=H100-SXM"), 404)
    assert "unknown model 'llama-3.1-70x'" in msg and "Did you mean llama-3.1-70b" in msg
    msg = _shape(served.get("/api/v2/plan/fleet?model=llama-3.1-8b&gpu=H10&rate=5"), 404)
    assert "unknown GPU 'H10'" in msg


def test_fleet_reproduces_table3_azure_h100_and_gains_are_ratios(served: Served) -> None:
    q = {"model": "llama-3.1-70b", "gpu": "H100-SXM", "rate": "1000", "trace": "azure",
         "profile": "paper", "convention": "paper", "split": "4096", "gamma": "2",
         "variant": "published", "tp": "8", "dtype": "fp16"}  # fmt: skip
    body = served.get("/api/v2/plan/fleet", params=q).json()
    rows = {r["topology"]: r for r in body["rows"]}
    assert body["topologies"] == ["homo", "pool", "fleetopt"]  # default: all three
    for topo, (instances, kw, tpw) in TABLE3_AZURE_H100.items():
        assert rows[topo]["instances"] == pytest.approx(instances, rel=0.05)
        assert rows[topo]["power_kw"] == pytest.approx(kw, rel=0.05)
        assert rows[topo]["tokens_per_watt"] == pytest.approx(tpw, rel=0.05)
    base = rows["homo"]["tokens_per_watt"]
    for r in body["rows"]:
        assert r["gain_vs_baseline"] == pytest.approx(r["tokens_per_watt"] / base, rel=1e-12)


def test_fleet_compares_gpu_generations(served: Served) -> None:
    q = {"model": "llama-3.1-70b", "gpu": "H100-SXM,B200", "rate": "200", "topology": "homo",
         "profile": "paper"}  # fmt: skip
    body = served.get("/api/v2/plan/fleet", params=q).json()
    h100, b200 = body["rows"]
    assert (h100["gpu"], b200["gpu"], body["baseline"]) == ("H100-SXM", "B200", "H100-SXM homo")
    assert b200["generation_gain"] == pytest.approx(
        b200["tokens_per_watt"] / h100["tokens_per_watt"], rel=1e-12
    )
    assert all(r["p99_ttft_ms"] <= 500 for r in body["rows"])  # sized for the default SLO


def test_fleet_that_cannot_hold_the_long_window_is_422(served: Served) -> None:
    # TP 2 (smallest that fits 70B bf16): a 64K-token sequence finds no KV room
    url = "/api/v2/plan/fleet?model=llama-3.1-70b&gpu=H100-SXM&rate=10&tp=2"
    assert "not one sequence fits" in _shape(served.get(url), 422)


def test_fleet_default_tp_is_the_one_serving_best_and_says_why(served: Served) -> None:
    # issue #11: at the default TP the same question must not fail; each row names its TP and why
    body = served.get("/api/v2/plan/fleet?model=llama-3.1-70b&gpu=H100-SXM&rate=10").json()
    for row in body["rows"]:
        others = [
            served.get(
                "/api/v2/plan/fleet",
                params={
                    "model": "llama-3.1-70b",
                    "gpu": "H100-SXM",
                    "rate": "10",
                    "topology": row["topology"],
                    "tp": str(t),
                },
            )  # fmt: skip
            for t in (2, 4, 8)
        ]
        jpt = [o.json()["rows"][0]["joules_per_token"] for o in others if o.status_code == 200]
        assert row["joules_per_token"] == pytest.approx(min(jpt))
        assert row["tp_reason"].startswith(f"TP {row['tp']}: the least energy per output token")


@pytest.mark.parametrize(
    ("change", "start"),
    [
        ({"topology": "pool", "split": "100000"}, "split 100000 exceeds the long window 65536"),
        ({"topology": "homo", "slo_ttft_ms": "0.001"}, "slo_ttft_ms 0.001: the mean prefill"),
    ],
)
def test_infeasible_fleets_are_422_naming_the_query_parameter(
    served: Served, change: dict[str, str], start: str
) -> None:
    q = {"model": "llama-3.1-70b", "gpu": "H100-SXM", "rate": "100", "profile": "paper", **change}
    msg = _shape(served.get("/api/v2/plan/fleet", params=q), 422)
    assert msg.startswith(start) and "--" not in msg


def test_catalog_lists(served: Served) -> None:
    gpus = served.get("/api/v2/catalog/gpus").json()["gpus"]
    h100 = next(g for g in gpus if g["id"] == "H100-SXM")
    assert h100["memory_bytes"] == 80 * 2**30 and h100["generation"] == "Hopper"
    models = served.get("/api/v2/catalog/models").json()
    assert {"llama-3.1-70b", "deepseek-v3"} <= {m["id"] for m in models["models"]}
    assert "fp8" in models["dtypes"] and models["traces"][0] == "azure"
    fr = served.get("/api/v2/catalog/frontiers").json()
    assert {"nrp-2026", fr["default"]} <= {f["id"] for f in fr["frontiers"]}


BAD = [
    ("tokw", {"context": "0"}, "context '0' is out of range; expected [1, 2,097,152]"),
    ("tokw", {"context": "3000000"}, "out of range"),
    ("tokw", {"context": ",".join(str(1024 * (k + 1)) for k in range(33))}, "at most 32"),
    ("tokw", {"context": "2k"}, "context '2k' is not an integer"),
    ("tokw", {"batch": "0"}, "batch '0' is out of range"),
    ("tokw", {"tp": "3"}, "tp '3' is unknown; expected one of 1, 2, 4, 8, 16"),
    ("tokw", {"dtype": "fp5"}, "dtype 'fp5' is unknown"),
    ("tokw", {"profile": "magic"}, "profile 'magic' is unknown"),
    ("tokw", {"convention": "x"}, "convention 'x' is unknown"),
    ("tokw", {"model": "<script>alert(1)</script>"}, "is not a catalog name"),
    ("tokw", {"model": "a,b,c,d,e"}, "model has 5 values; at most 4"),
    (
        "tokw",
        {"gpu": ",".join(["H100-SXM", "B200", "H200", "L4", "A10G", "L40S", "GB200"])},
        "at most 6",
    ),  # fmt: skip
    (
        "tokw",
        {"model": "llama-3.1-8b,qwen3-8b,qwen3-14b", "gpu": "H100-SXM,B200,H200,L4,A10G"},
        "at most 12 are allowed",
    ),  # fmt: skip
    ("fleet", {"rate": "0"}, "rate '0' is out of range; expected (0, 1,000,000]"),
    ("fleet", {"rate": "1e7"}, "out of range"),
    ("fleet", {"rate": "nan"}, "out of range"),
    ("fleet", {"rate": "fast"}, "rate 'fast' is not a number"),
    ("fleet", {"trace": "/etc/passwd"}, "trace '/etc/passwd' is unknown; expected one of azure"),
    ("fleet", {"topology": "ring"}, "topology 'ring' is unknown"),
    ("fleet", {"gamma": "0.5"}, "gamma '0.5' is out of range"),
    ("fleet", {"max_util": "1"}, "max_util '1' is out of range"),
    ("fleet", {"slo_ttft_ms": "-5"}, "slo_ttft_ms '-5' is out of range"),
    ("fleet", {"split": "1.5"}, "split '1.5' is not an integer"),
    ("fleet", {"gpu": "H100-SXM,B200,H200,L4,A10G"}, "at most 4"),
]


@pytest.mark.parametrize(("route", "change", "fragment"), BAD)
def test_bad_input_is_400_never_5xx(
    served: Served, route: str, change: dict[str, str], fragment: str
) -> None:
    base = {"model": "llama-3.1-8b", "gpu": "H100-SXM"}
    if route == "fleet":
        base["rate"] = "10"
    msg = _shape(served.get(f"/api/v2/plan/{route}", params={**base, **change}), 400)
    assert fragment in msg


@pytest.mark.parametrize("path", ["/api/v2/plan/tokw?gpu=H100-SXM", "/api/v2/plan/fleet?model=x"])
def test_missing_required_parameters(served: Served, path: str) -> None:
    assert "invalid request" in _shape(served.get(path), 400)
