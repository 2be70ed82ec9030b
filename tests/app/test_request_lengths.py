"""Energy per request by prompt and output length (issue #12 item 4): the emulated vLLM exposes
`vllm:request_prompt_tokens` / `vllm:request_generation_tokens`, an OpenMetrics history goes
through the normal import, and `report` gives requests per length bucket.

Expected bucket counts are an independent calculation: the planted request count (emulator
truth) x the probability of the bucket under the planted exponential lengths (mean output =
the scenario's output_tokens_per_request, mean prompt = prompt_fraction / (1 - prompt_fraction)
x that), within 2 % + 2 requests per bucket (the emulator floors each cumulative bucket).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pytest

from wattlens.app.lengths import distribution_row
from wattlens.app.ops import import_file, report
from wattlens.cli.main import main
from wattlens.core.errors import StoreError
from wattlens.derive.engine import DeriveOptions
from wattlens.derive.histograms import LengthHistograms
from wattlens.emulator import load_scenario, truth, write_openmetrics_history
from wattlens.emulator.scenario import Scenario
from wattlens.store import Store
from wattlens.telemetry.records import SeriesKey, SeriesSet

START = 1_775_001_600.0  # scenario start, 2026-04-01T00:00:00Z
T0, T1 = START + 3 * 3600.0, START + 3.5 * 3600.0
BOUNDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000]  # vLLM 1-2-5


def _cdf(x: float, mean: float) -> float:
    return 1.0 if math.isinf(x) else 1.0 - math.exp(-x / mean)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("lengths")
    hist, db = d / "history.om", d / "w.duckdb"
    write_openmetrics_history(load_scenario("test-events"), hist, start_s=T0, end_s=T1, step_s=30.0,
                              start_of_scenario_s=START)  # fmt: skip
    with Store.open(db) as s:
        import_file(s, hist, options=DeriveOptions(step_s=30.0))
    return hist, db


def _body(db: Path) -> dict:
    with Store.open(db, read_only=True) as s:
        return report(s, since_s=None, until_s=None, min_tokens_per_s=5.0)


def assert_planted_distribution(
    sc: Scenario, t0: float, t1: float, body: dict, start: float = START, rel: float = 0.02
) -> int:
    """Per bucket: planted requests over (t0, t1] x the bucket's exponential probability (within
    `rel` + 2 requests); returns how many deployments were checked."""
    want = truth(sc, t0, t1, start_of_scenario_s=start)
    traffic = {d.key: d.traffic for d in sc.deployments}
    rows = {r["deployment"]: r for r in body["deployments"]}
    checked = 0
    for dep, tr in want.items():
        if not tr.requests_finished:
            assert rows[dep]["request_length_distribution"] is None
            continue
        t = traffic[dep]
        out = t.output_tokens_per_request
        means = {"generation": out, "prompt": t.prompt_fraction / (1 - t.prompt_fraction) * out}
        dist = rows[dep]["request_length_distribution"]
        assert dist is not None, dep
        for kind, mean in means.items():
            got = {(b["lo_tokens"], b["le_tokens"]): b["requests"] for b in dist[kind]}
            edges = [0.0, *map(float, BOUNDS), math.inf]
            for lo, hi in zip(edges, edges[1:], strict=False):
                expect = tr.requests_finished * (_cdf(hi, mean) - _cdf(lo, mean))
                le = None if math.isinf(hi) else hi
                assert got.get((lo, le), 0.0) == pytest.approx(expect, rel=rel, abs=2.0), (
                    dep, kind, lo, hi)  # fmt: skip
            assert sum(b["share"] for b in dist[kind]) == pytest.approx(1.0)
        checked += 1
    return checked


def test_bucket_counts_are_the_planted_distribution(imported: tuple[Path, Path]) -> None:
    checked = assert_planted_distribution(load_scenario("test-events"), T0, T1, _body(imported[1]))
    assert checked == 3  # llama-70b, qwen-32b, mistral-7b (finetune has no engine)


def test_energy_per_bucket_averages_to_energy_per_request(imported: tuple[Path, Path]) -> None:
    """Request-weighted, the per-bucket estimates give back the measured Wh per request: the
    bucket lengths add up to the token totals (midpoints, within 10 %)."""
    body = _body(imported[1])
    assert "marginal J per token" in body["request_lengths"]
    n = 0
    for row in body["deployments"]:
        dist = row["request_length_distribution"]
        if not dist or dist["prompt"][0]["energy_wh_per_request"] is None:
            continue
        for kind in ("prompt", "generation"):
            mean = sum(b["requests"] * b["energy_wh_per_request"] for b in dist[kind]) / sum(
                b["requests"] for b in dist[kind]
            )
            assert mean == pytest.approx(row["energy_wh_per_request"], rel=0.10), row["deployment"]
        n += 1
    assert n >= 1


def test_reimport_is_idempotent(imported: tuple[Path, Path], tmp_path: Path) -> None:
    hist, db = imported
    copy = tmp_path / "again.duckdb"
    copy.write_bytes(db.read_bytes())
    with Store.open(copy) as s:
        import_file(s, hist, options=DeriveOptions(step_s=30.0))
    q = "SELECT count(*), sum(count) FROM request_length_buckets"
    once = duckdb.connect(str(db), read_only=True).execute(q).fetchone()
    twice = duckdb.connect(str(copy), read_only=True).execute(q).fetchone()
    assert once == twice and once[0] > 0


def test_v2_store_is_upgraded_in_place(tmp_path: Path) -> None:
    db = tmp_path / "v2.duckdb"
    Store.open(db).close()
    con = duckdb.connect(str(db))  # make it what wattlens v2 wrote
    con.execute("DROP TABLE request_length_buckets")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StoreError, match="v2, older"):
        Store.open(db, read_only=True)
    Store.open(db).close()  # writable open upgrades
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("4",)
    assert con.execute("SELECT count(*) FROM request_length_buckets").fetchone() == (0,)
    con.close()


def test_cli_requests_table_and_json(
    imported: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(imported[1])
    with pytest.raises(SystemExit) as done:
        main(["report", "--db", db, "--requests"])
    assert done.value.code in (0, None)
    out = capsys.readouterr().out
    assert "energy per request by length" in out and "Wh/request" in out
    with pytest.raises(SystemExit):
        main(["report", "--db", db, "--json"])
    body = json.loads(capsys.readouterr().out)
    assert any(r["request_length_distribution"] for r in body["deployments"])


def test_distribution_row_by_hand() -> None:
    """10 requests: 6 with prompts of at most 100 tokens, 4 in (100, 200]; 1000 prompt and 500
    output tokens; idle 0.1 Wh and marginal 0.2 Wh per request, so marginal J/token =
    0.2 x 10 x 3600 / 1500 = 4.8 J. Prompt bucket (0, 100]: 0.1 + 4.8 x (50 + 50) / 3600 Wh."""
    row = {"requests_finished": 10, "prompt_tokens": 1000, "generation_tokens": 500,
           "idle_wh_per_request": 0.1, "marginal_wh_per_request": 0.2,
           "energy_wh_per_request": 0.3}  # fmt: skip
    got = distribution_row(row, {"prompt": [(100.0, 6.0), (200.0, 10.0), (math.inf, 10.0)]})
    assert got["marginal_joules_per_token"] == pytest.approx(4.8)
    b0, b1 = got["prompt"]
    assert (b0["requests"], b0["share"], b1["requests"], b1["share"]) == (6.0, 0.6, 4.0, 0.4)
    assert b0["energy_wh_per_request"] == pytest.approx(0.1 + 4.8 * 100 / 3600)
    assert b1["energy_wh_per_request"] == pytest.approx(0.1 + 4.8 * 200 / 3600)
    assert got["idle_split"] == "measured"


def test_bucket_counters_difference_across_batches_and_resets() -> None:
    """Readings 5, 8 | 12, 3 (a restart), 4 at 10 s steps: increments 3, 4, 3 (counted from zero
    after the drop), 1. With 30 s intervals: (0, 30] gets 3 + 4 = 7, (30, 60] gets 3 + 1 = 4."""
    labels = (("le", "100.0"), ("namespace", "llm"), ("pod", "qwen-7d4b9c8f5-x2k9p"))
    key = SeriesKey("vllm:request_prompt_tokens_bucket", labels)
    h = LengthHistograms(30.0)
    h.feed(SeriesSet({key: (np.array([10.0, 20.0]), np.array([5.0, 8.0]))}))
    h.feed(SeriesSet({key: (np.array([30.0, 40.0, 50.0]), np.array([12.0, 3.0, 4.0]))}))
    got = h.drain()
    assert got["ts_end_s"] == [30.0, 60.0] and got["count"] == [7.0, 4.0]
    assert set(got["deployment_id"]) == {"llm/qwen"} and set(got["kind"]) == {"prompt"}
