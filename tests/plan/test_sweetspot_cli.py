"""`wattlens plan grid` and `wattlens fit sweetspot` through the real entry point (`cli.main`):
the grid round-trips into the fit, and bad CSVs get one line naming the line and column."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from wattlens.cli.main import main
from wattlens.plan.grid import synthetic_grid
from wattlens.plan.sweetspot_data import parse_sweetspot_csv


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_grid_then_fit_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = tmp_path / "grid.csv"
    code, _, err = run(["plan", "grid", "--model", "llama-3.1-8b", "--gpu", "H100-SXM",
                        "--concurrency", "1", "--out", str(csv)], capsys)  # fmt: skip
    assert code == 0, err
    assert csv.read_text().count("\n") == 2 + 49  # comment, header, 7 x 7 points
    plot = tmp_path / "heat.png"
    code, out, err = run(["fit", "sweetspot", str(csv), "--model", "llama-3.1-8b", "--json",
                          "--plot", str(plot)], capsys)  # fmt: skip
    assert code == 0, err
    body = json.loads(out)
    assert set(body["theta"]) == {f"theta{i}" for i in range(5)}
    assert [r["n_in"] for r in body["n_out_star"]] == [64, 128, 256, 512, 1024, 2048, 4096]
    # one sequence, memory-bound decode: the step model's J/token is in the paper's family
    assert body["mape_percent"] < 0.5
    assert body["worst_best_ratio"] > 1.0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_grid_with_noise_fits_to_the_noise_level() -> None:
    grid = synthetic_grid("llama-3.1-8b", "H100-SXM", n_in=[64 * 2**k for k in range(7)],
                          n_out=[int(64 * 1.25**k) for k in range(19)], concurrency=1,
                          noise=0.02, seed=5)  # fmt: skip
    from wattlens.catalog import get_model
    from wattlens.plan.sweetspot import fit_sweetspot

    fit = fit_sweetspot(parse_sweetspot_csv(grid.to_csv()), get_model("llama-3.1-8b"))
    # E|N(0, 0.02)| = 1.6 %: the fit explains everything but the planted noise
    assert fit.mape_percent == pytest.approx(2.0 * math.sqrt(2.0 / math.pi), abs=0.3)


def test_grid_table_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    csv = tmp_path / "g.csv"
    csv.write_text(synthetic_grid("llama-3.1-8b", "H100-SXM", concurrency=64).to_csv())
    code, out, err = run(["fit", "sweetspot", str(csv), "--model", "llama-3.1-8b", "--form",
                          "memory"], capsys)  # fmt: skip
    assert code == 0, err
    assert "theta5" in out and "MAPE" in out and "n_out*" in out


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("n_in,n_out\n64,64\n", ["missing column", "energy_joules", "line 1"]),
        ("n_in,energy_joules\n64,1\n", ["missing column", "n_out"]),
        ("n_in,n_out,energy_joules\n64,64,1\n64,abc,2\n", ["line 3", "n_out", "'abc'"]),
        ("n_in,n_out,energy_joules\n64,64,-1\n", ["line 2", "energy_joules", "positive"]),
        ("n_in,n_out,energy_joules\n64,64\n", ["line 2", "2 fields"]),
        ("", ["empty file"]),
        ("n_in,n_out,energy_joules,concurrency\n64,64,1,10\n64,64,1,100\n",
         ["--concurrency", "10, 100"]),
    ],
)  # fmt: skip
def test_bad_csv_one_line_naming_line_and_column(
    text: str, needles: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(text)
    code, _, err = run(["fit", "sweetspot", str(bad), "--model", "llama-3.1-8b"], capsys)
    assert code == 2
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in lines[0], lines[0]


def test_per_output_token_column_and_setting_filter() -> None:
    text = ("n_in,n_out,joules_per_output_token,batch\n"
            "64,64,0.5,8\n64,128,0.4,8\n128,64,0.6,8\n64,64,9,32\n")  # fmt: skip
    d = parse_sweetspot_csv(text, setting=8)
    assert d.size == 3 and d.dropped_rows == 1 and d.setting_column == "batch"
    assert d.joules_per_output_token.tolist() == [0.5, 0.4, 0.6]
    e = parse_sweetspot_csv("n_in,n_out,energy_joules\n64,128,64\n")
    assert e.joules_per_output_token.tolist() == [0.5]  # 64 J over 128 output tokens


def test_unknown_model_and_bad_grid_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["plan", "grid", "--model", "llama-3.1-8b", "--noise", "2"], capsys)
    assert code == 2 and "--noise" in err
    code, _, err = run(["plan", "grid", "--model", "llama-3.1-8b", "--n-in", "64"], capsys)
    assert code == 2 and "--n-in" in err
    code, _, err = run(["plan", "grid", "--model", "no-such-model"], capsys)
    assert code == 2 and "no-such-model" in err
