"""`plan_tokw` against the 1/W paper (Chen et al. 2026, arXiv 2603.17280, Table 1, H100 column:
Llama-3.1-70B, TP 8, fp16, ManualProfile, n = n_max, mean KV = context/2) and its B200
projection (the study's data/b200_table1_measurements/final_results.csv, column
paper_projected_b200_tok_per_w)."""

from __future__ import annotations

import json

import pytest

from wattlens.core.errors import InfeasibleError, WattlensError
from wattlens.plan import plan_tokw

CONTEXTS = [2048, 4096, 8192, 16384, 32768, 65536, 131072]
TABLE1_N_MAX = [512, 256, 128, 64, 32, 16, 8]
TABLE1_TOK_PER_W = [35.0, 17.6, 8.97, 4.69, 2.58, 1.50, 0.88]
B200_PROJECTED_TOK_PER_W = [61.4, 30.8, 15.5, 7.87, 4.09, 2.24, 1.30]


def test_table1_h100_column_paper_convention() -> None:
    r = plan_tokw(
        "llama-3.1-70b", "H100-SXM", tp=8, dtype="fp16", contexts=CONTEXTS, profile="paper",
        convention="paper",
    )  # fmt: skip
    assert [row["max_concurrency"] for row in r.rows] == TABLE1_N_MAX
    for row, want in zip(r.rows, TABLE1_TOK_PER_W, strict=True):
        assert row["tokens_per_watt"] == pytest.approx(want, rel=0.02)
        assert row["convention"] == "paper" and row["profile"] == "paper"
    # Why the law holds: tau = 4.0 + 0.32 (ctx/2/8192) n_max = 24.48 ms at every window.
    assert {round(row["step_time_ms"], 6) for row in r.rows} == {24.48}
    assert "H100_80GB" in r.profile and any("ONE GPU" in n for n in r.notes)


def test_physical_convention_is_exactly_one_tp_th() -> None:
    kw = dict(contexts=CONTEXTS, profile="paper")
    paper = plan_tokw("llama-3.1-70b", "H100-SXM", convention="paper", **kw)
    phys = plan_tokw("llama-3.1-70b", "H100-SXM", convention="physical", **kw)
    for a, b in zip(paper.rows, phys.rows, strict=True):
        assert b["tokens_per_watt"] * 8 == pytest.approx(a["tokens_per_watt"], rel=1e-12)
        assert b["power_watts_instance"] == pytest.approx(8 * b["power_watts_per_gpu"])
        assert b["joules_per_token"] == pytest.approx(1 / b["tokens_per_watt"])


def test_b200_projection_matches_the_papers_column() -> None:
    r = plan_tokw("llama-3.1-70b", "B200", contexts=CONTEXTS, profile="paper", convention="paper")
    got = [row["tokens_per_watt"] for row in r.rows]
    assert got == pytest.approx(B200_PROJECTED_TOK_PER_W, rel=0.01)
    assert "projected" in r.profile


def test_rows_have_the_json_keys_and_serialise() -> None:
    r = plan_tokw("llama-3.1-8b", "H100-SXM", contexts=[4096, 8192])
    keys = {
        "context_tokens", "kv_bytes_per_token", "max_concurrency", "step_time_ms",
        "tokens_per_sec", "power_watts_per_gpu", "power_watts_instance", "tokens_per_watt",
        "joules_per_token", "convention", "profile",
    }  # fmt: skip
    assert keys <= set(r.rows[0])
    assert r.tp == 1 and r.rows[0]["kv_bytes_per_token"] == 2 * 32 * 8 * 128 * 2
    json.dumps(r.as_dict())


def test_computed_dense_row_matches_a_hand_roofline() -> None:
    # Llama-3.1-8B bf16 on H100 TP 1 at 4096: budget, n_max, tau and tok/s by hand.
    gib, bw = 2.0**30, 3.35e12
    budget = 0.9 * 80 * gib - 8.03e9 * 2
    kappa = 2 * 32 * 8 * 128 * 2
    n = int(budget // (kappa * 4096))
    tau = (8.03e9 * 2 + n * 2048 * kappa) / (0.8 * bw) + 32 * 3e-6
    tau = max(tau, n * 2 * 8.03e9 / 989e12)
    row = plan_tokw("llama-3.1-8b", "H100-SXM", tp=1, contexts=[4096], profile="computed").rows[0]
    assert row["max_concurrency"] == n
    assert row["step_time_ms"] == pytest.approx(tau * 1e3)
    assert row["tokens_per_sec"] == pytest.approx(n / tau)


def test_batch_below_the_limit_and_above_it() -> None:
    r = plan_tokw("llama-3.1-8b", "H100-SXM", contexts=[8192], batch=16, at_limit=False)
    assert r.rows[0]["batch"] == 16
    r = plan_tokw("llama-3.1-8b", "H100-SXM", contexts=[8192], batch=10_000, at_limit=False)
    assert r.rows[0]["batch"] == r.rows[0]["max_concurrency"]
    assert any("exceeds the concurrency limit" in n for n in r.notes)


def test_moe_streams_active_weights_and_states_the_dispatch_assumption() -> None:
    touched = plan_tokw("qwen3-235b-a22b", "H200", tp=8, dtype="fp8", contexts=[8192])
    active = plan_tokw(
        "qwen3-235b-a22b", "H200", tp=8, dtype="fp8", contexts=[8192], moe_streaming="active"
    )
    assert any("dispatch" in n for n in touched.notes)
    # Streaming only the active experts can only be faster than the union the batch touches.
    assert active.rows[0]["tokens_per_sec"] > touched.rows[0]["tokens_per_sec"]


def test_model_that_does_not_fit_says_by_how_much() -> None:
    # 405B fp16 = 810 GB; /8 = 101.25 GB per GPU against 80 GiB x 0.9 - 392 MiB NCCL = 76.90 GB.
    with pytest.raises(InfeasibleError, match=r"needs 101\.2 GB of weights per GPU at TP 8") as e:
        plan_tokw("llama-3.1-405b", "H100-SXM", tp=8, dtype="fp16")
    assert "short by 24.4 GB" in str(e.value) and "try dtype fp8" in str(e.value)
    assert e.value.status == 422 and "--" not in str(e.value)


def test_long_context_that_does_not_fit_is_a_note_not_a_crash() -> None:
    r = plan_tokw("llama-3.1-70b", "A100-80GB", tp=4, dtype="fp16", contexts=[2048, 4_000_000])
    assert r.rows[1]["fits"] is False and r.rows[1]["tokens_per_watt"] == 0.0
    assert any("does not fit at context 4000000" in n for n in r.notes)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(model="llama-3.1-8b", gpu="H100-SXM", profile="paper"), "calibrated for Llama"),
        (dict(model="llama-3.1-70b", gpu="A100-80GB", profile="paper"), "H100-SXM"),
        (dict(model="llama-3.1-70b", gpu="H100-SXM", convention="mine"), "^convention 'mine': "),
        (dict(model="llama-3.1-8b", gpu="H100-SXM", contexts=[0]), r"^contexts \[0\]: "),
        (dict(model="llama-3.1-8b", gpu="H100-SXM", tp=3.5), "^tp 3.5: "),
        (dict(model="no-such-model", gpu="H100-SXM"), "unknown model"),
    ],
)
def test_bad_inputs_raise_wattlens_errors(kwargs: dict, match: str) -> None:
    model, gpu = kwargs.pop("model"), kwargs.pop("gpu")
    with pytest.raises(WattlensError, match=match):
        plan_tokw(model, gpu, **kwargs)


def test_published_variant_reproduces_the_caveats() -> None:
    # papers.md 4.4: unsharded kappa in the budget gives a several-fold smaller n_max, and
    # 405B (which does not fit) clamps to n_max = 1 instead of failing.
    pub = plan_tokw("llama-3.1-70b", "H100-SXM", tp=8, dtype="fp16", contexts=[8192],
                    variant="published")  # fmt: skip
    con = plan_tokw("llama-3.1-70b", "H100-SXM", tp=8, dtype="fp16", contexts=[8192])
    assert con.rows[0]["max_concurrency"] > 5 * pub.rows[0]["max_concurrency"]
    big = plan_tokw("llama-3.1-405b", "H100-SXM", tp=8, dtype="fp16", contexts=[8192],
                    variant="published")  # fmt: skip
    assert big.rows[0]["max_concurrency"] == 1
