"""`wattlens models list/show` (#10): tables and the JSON fields the issue lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from wattlens.cli.main import app, main
from wattlens.core.errors import CatalogError

RUNNER = CliRunner()
FIELDS = {"id", "params_total", "params_active", "layers", "hidden_size", "num_attention_heads",
          "num_kv_heads", "head_dim", "dtype", "is_moe", "source", "matched_by"}  # fmt: skip


def _offline_config(tmp_path: Path) -> str:
    cfg = tmp_path / "wattlens.toml"
    cfg.write_text("[models]\nhub = false\n")
    return str(cfg)


def test_list_json_has_the_fields_and_a_family_filter() -> None:
    out = RUNNER.invoke(app, ["models", "list", "--family", "qwen2.5", "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert rows and all(set(r) >= FIELDS for r in rows)
    assert {r["family"] for r in rows} >= {"qwen2.5", "qwen2.5-coder"}
    q72 = next(r for r in rows if r["id"] == "qwen2.5-72b")
    # Qwen2.5-72B config.json: 80 layers, 64 heads, 8 KV heads; model card 72.7B.
    assert (q72["layers"], q72["num_attention_heads"], q72["num_kv_heads"]) == (80, 64, 8)
    assert abs(q72["params_total"] / 72.7e9 - 1) < 0.02


def test_list_table_and_unknown_family() -> None:
    assert "gemma-3-12b" in RUNNER.invoke(app, ["models", "list", "-f", "gemma"]).output
    bad = RUNNER.invoke(app, ["models", "list", "--family", "nosuch"])
    assert isinstance(bad.exception, CatalogError) and "nosuch" in str(bad.exception)


def test_show_says_what_matched_and_the_dtype(tmp_path: Path) -> None:
    c = _offline_config(tmp_path)
    out = RUNNER.invoke(app, ["models", "show", "Qwen/Qwen2.5-72B-Instruct-AWQ", "--json", "-c", c])
    assert out.exit_code == 0, out.output
    rec = json.loads(out.output)
    assert (rec["id"], rec["dtype"], rec["matched_by"]) == ("qwen2.5-72b", "int4", "core_name")
    assert rec["source"] == "catalog_hf_config"
    est = json.loads(
        RUNNER.invoke(app, ["models", "show", "acme/big-70B", "--json", "-c", c]).output
    )
    assert est["source"] == "estimated_from_name" and est["uncertainty_fraction"] == 0.25
    table = RUNNER.invoke(app, ["models", "show", "acme/big-70B", "-c", c]).output
    assert "estimated_from_name" in table


def test_show_unknown_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["models", "show", "acme/mystery", "-c", _offline_config(tmp_path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1
    assert "acme/mystery" in err and "[models]" in err


@pytest.mark.parametrize(
    ("family", "want"),
    [
        ("c4ai-command-r", "c4ai-command-r-v01"),
        ("mistral-nemo", "mistral-nemo"),
        ("qwen2.5-vl", "qwen2.5-vl-7b"),
        ("internlm", "internlm3-8b"),
        ("bge", "bge-reranker-v2-m3"),
    ],
)
def test_list_new_families(family: str, want: str) -> None:
    out = RUNNER.invoke(app, ["models", "list", "--family", family, "--json"])
    assert out.exit_code == 0, out.output
    assert want in {r["id"] for r in json.loads(out.output)}


def test_show_an_embedding_model_says_it_pools(tmp_path: Path) -> None:
    c = _offline_config(tmp_path)
    rec = json.loads(
        RUNNER.invoke(app, ["models", "show", "BAAI/bge-m3", "--json", "-c", c]).output
    )
    # bge-m3 config.json: XLM-R, 24 layers, 16 heads (MHA); hub page 568M parameters
    assert (rec["id"], rec["task"], rec["layers"], rec["num_kv_heads"]) == (
        "bge-m3",
        "pooling",
        24,
        16,
    )
    assert abs(rec["params_total"] / 568e6 - 1) < 0.02
