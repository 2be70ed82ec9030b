"""Layouts added for #10's remaining families, counted by hand apart from hfconfig: NomicBERT,
Cohere2's sliding-window pattern, Granite's weightless multipliers, a head-less MistralModel."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from wattlens.catalog.hfconfig import shapes_from_config


def _config(name: str) -> dict:
    root = resources.files("wattlens.catalog").joinpath("data/model_configs")
    return json.loads(root.joinpath(name).read_text(encoding="utf-8"))["config"]


def test_nomic_embed_text_v15_matches_its_published_137m() -> None:
    s = shapes_from_config(_config("nomic-ai--nomic-embed-text-v1.5.json"))
    h, inter = 768, 3072
    embed = 30528 * h + 2 * h + 2 * h  # words, 2 token types, LayerNorm; rotary: no position table
    layer = h * 3 * h + h * h + 2 * h * inter + inter * h + 2 * 2 * h  # Wqkv, out, SwiGLU, 2 LN
    assert s.total_params == embed + 12 * layer
    assert s.total_params == pytest.approx(137e6, rel=0.01)  # nomic-embed-text-v1.5 card, 2024
    assert s.arch["encoder_only"] == 1 and s.fields["kv_heads"] == 12


def test_command_r7b_has_three_sliding_layers_per_global_one() -> None:
    s = shapes_from_config(_config("CohereForAI--c4ai-command-r7b-12-2024.json"))
    assert s.arch["full_attention_layers"] == 8 and s.fields["sliding_window"] == 4096
    h = 4096
    layer = 2 * h * h + 2 * h * 1024 + 3 * h * 14336 + h  # q, o, k, v, gated MLP, one LayerNorm
    assert s.total_params == 256000 * h + 32 * layer + h  # tied head (Cohere default)
    assert s.total_params == pytest.approx(8.03e9, rel=0.01)  # hub page, 2024


def test_granite_multipliers_carry_no_weights() -> None:
    s = shapes_from_config(_config("ibm-granite--granite-3.1-8b-instruct.json"))
    h = 4096
    layer = 2 * h * h + 2 * h * 1024 + 3 * h * 12800 + 2 * h
    assert s.total_params == 49155 * h + 40 * layer + h  # tied embeddings
    assert s.total_params == pytest.approx(8.1e9, rel=0.02)  # Granite 3.1 card's table, 2024


def test_e5_mistral_counts_no_lm_head() -> None:
    s = shapes_from_config(_config("intfloat--e5-mistral-7b-instruct.json"))
    assert s.arch["no_lm_head"] == 1
    assert s.total_params == pytest.approx(7.111e9, rel=0.002)  # card's MTEB size, 7111M
