"""Bench inputs: dataset files with bad lines, synthetic and grid specs, unreachable endpoints."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from servers import free_port
from wattlens.cli.main import app
from wattlens.core.errors import InputError
from wattlens.measure.dataset import load_prompts, parse_grid, parse_synthetic


def test_good_dataset_lines(tmp_path: Path) -> None:
    f = tmp_path / "p.jsonl"
    f.write_text(
        '{"prompt": "a b c", "max_tokens": 8}\n\n'
        '{"messages": [{"role": "user", "content": "hi"}]}\n'
    )
    prompts = load_prompts(f)
    assert [p.chat for p in prompts] == [False, True]
    assert prompts[0].max_tokens == 8


@pytest.mark.parametrize(
    ("lines", "bad_line", "says"),
    [
        ('{"prompt": "ok"}\n{"prompt": "x"\n', 2, "not JSON"),
        ('{"prompt": "ok"}\n\n["a"]\n', 3, "JSON object"),
        ('{"messages": [{"content": "no role"}]}\n', 1, "messages"),
        ('{"prompt": "x", "max_tokens": 0}\n', 1, "max_tokens"),
        ('{"text": "x"}\n', 1, "prompt"),
    ],
)
def test_bad_dataset_line_is_named(tmp_path: Path, lines: str, bad_line: int, says: str) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text(lines)
    with pytest.raises(InputError, match=f"line {bad_line}: .*{says}"):
        load_prompts(f)


def test_cli_bad_dataset_line_is_one_clear_error(tmp_path: Path) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text('{"prompt": "ok"}\n{oops}\n')
    res = CliRunner().invoke(
        app, ["bench", "--endpoint", "http://127.0.0.1:9/v1", "--model", "m", "--prompts", str(f)]
    )
    assert res.exit_code != 0
    assert isinstance(res.exception, InputError)
    assert "line 2" in str(res.exception) and "bad.jsonl" in str(res.exception)


def test_unreachable_endpoint_fails_fast_with_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    t = time.monotonic()
    res = CliRunner().invoke(
        app, ["bench", "--endpoint", url, "--model", "m", "--synthetic", "n_in=8,n_out=4",
              "--idle-seconds", "0"],
    )  # fmt: skip
    assert res.exit_code != 0
    assert url in str(res.exception) and "unreachable" in str(res.exception)
    assert time.monotonic() - t < 5.0


def test_synthetic_and_grid_specs() -> None:
    assert parse_synthetic("n_in=512,n_out=256") == (512, 256)
    assert parse_synthetic("n_in=128") == (128, None)
    assert parse_grid(["n_in=64..256", "n_out=64..128"]) == ([64, 128, 256], [64, 128])
    assert parse_grid(["n_in=100|300 n_out=50"]) == ([100, 300], [50])
    for bad in (["n_in=64..32", "n_out=8"], ["n_in=64"], ["n_in=x", "n_out=1"]):
        with pytest.raises(InputError, match="grid"):
            parse_grid(bad)
    with pytest.raises(InputError, match="synthetic"):
        parse_synthetic("n_out=5")
