"""The catalog built from config.json copies: provenance, consistency, the builder, user models
and the hub (against a loopback server holding recorded config files)."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

import pytest

from wattlens.catalog import ModelResolver, all_models, model_arch, model_source
from wattlens.catalog.build_models import build, data_files
from wattlens.catalog.estimate import size_from_name
from wattlens.catalog.hfconfig import shapes_from_config
from wattlens.core.errors import CatalogError

DATA = Path(__file__).parent / "data"
GENERATED = [m for m in all_models() if model_source(m.id) == "catalog_hf_config"]


def test_catalog_has_at_least_150_models() -> None:
    assert len(all_models()) >= 150


def test_every_data_file_names_its_source_and_date() -> None:
    for name, doc in data_files():
        assert set(doc) >= {"repo", "source", "read", "config"}, name
        assert "/" in doc["repo"] and "config.json" in doc["source"], name
        assert len(doc["read"]) == 10 and doc["read"].startswith("20"), name


def test_generated_file_is_up_to_date() -> None:
    shipped = resources.files("wattlens.catalog").joinpath("models_hf.toml").read_text("utf-8")
    assert build()[0] == shipped, "run python -m wattlens.catalog.build_models"


def _independent_count(m, arch: dict[str, int]) -> float:  # noqa: ANN001
    """Embedding + head + attention + (gated) MLP or experts, written out apart from hfconfig."""
    h = m.hidden_size
    if m.attention_type == "MLA":
        return 0.0  # checked by the served-name acceptance list instead
    attn = 2 * h * m.attention_heads * m.head_dim + 2 * h * m.kv_heads * m.head_dim
    matrices = 2 if arch.get("plain_mlp") or arch.get("encoder_only") else 3  # GELU vs gated
    ffn = matrices * h * m.intermediate_size
    if m.is_moe:
        ffn = 3 * h * (m.moe_experts * m.moe_intermediate_size + m.intermediate_size)
    return m.layers * (attn + ffn) + m.vocab_size * h


@pytest.mark.parametrize("m", GENERATED, ids=[m.id for m in GENERATED])
def test_generated_entry_is_consistent(m) -> None:  # noqa: ANN001
    assert m.sources and "config.json" in m.sources[0] and "20" in m.sources[0]
    assert m.attention_heads % m.kv_heads == 0
    assert 0 < m.active_params <= m.total_params
    assert m.is_moe == (m.active_params < m.total_params)
    arch = model_arch(m.id)
    size = size_from_name(m.name)
    if size:  # the size in the name agrees with the shapes (the builder's own rule)
        assert abs(m.total_params - size[0]) <= max(0.25 * size[0], 0.7e9)
    plain = not (set(arch) & {"full_attention_layers", "linear_attention_layers",
                              "first_dense_layers", "global_kv_heads"})  # fmt: skip
    plain = plain and not arch.get("encoder_only")  # positions and pooler: see the name list
    if plain and m.attention_type != "MLA":
        # Recomputed from the dimensions: within 5 % (tied heads and biases explain the rest).
        want = _independent_count(m, arch)
        assert m.total_params == pytest.approx(want, rel=0.05) or m.total_params == (
            pytest.approx(want + m.vocab_size * m.hidden_size, rel=0.05)
        )


def test_qwen25_72b_from_its_config_by_hand() -> None:
    # Qwen2.5-72B config.json: 80 layers, hidden 8192, 64 heads / 8 KV heads of 128,
    # intermediate 29568, vocab 152064, untied, q/k/v biases: 72.7B (model card).
    cfg = {"model_type": "qwen2", "hidden_size": 8192, "num_hidden_layers": 80,
           "num_attention_heads": 64, "num_key_value_heads": 8, "intermediate_size": 29568,
           "vocab_size": 152064, "tie_word_embeddings": False}  # fmt: skip
    s = shapes_from_config(cfg)
    attn = 8192 * 8192 * 2 + 2 * 8192 * 1024 + (8192 + 2 * 1024)
    want = 80 * (attn + 3 * 8192 * 29568 + 2 * 8192) + 2 * 152064 * 8192 + 8192
    assert s.total_params == want
    assert s.total_params == pytest.approx(72.7e9, rel=0.005)
    assert (s.fields["kv_heads"], s.fields["head_dim"], s.fields["attention_type"]) == (
        8,
        128,
        "GQA",
    )


def test_ssm_hybrids_are_refused_with_a_reason() -> None:
    with pytest.raises(CatalogError, match="Mamba"):
        shapes_from_config({"hidden_size": 8, "hybrid_override_pattern": "M-M*"})


def test_estimate_from_name_is_flagged_and_wider() -> None:
    r = ModelResolver(hub_enabled=False, environ={})
    m = r.resolve("acme/Frontier-72B-Instruct")
    assert m is not None and m.source == "estimated_from_name" and m.estimated
    assert m.spec.total_params == 72e9 and m.uncertainty_fraction == 0.25
    moe = r.resolve("acme/Sparse-30B-A3B")
    assert moe is not None and (moe.spec.total_params, moe.spec.active_params) == (30e9, 3e9)
    assert moe.spec.is_moe
    assert r.resolve("totally-custom-model") is None
    assert "totally-custom-model" in r.explain("totally-custom-model")
    # InternLM writes the decimal point as '_': internlm2_5-1_8b is 1.8B (its card), not 8B
    small = r.resolve("acme/internlm2_5-1_8b-chat")
    assert small is not None and small.spec.total_params == pytest.approx(1.8e9)


def test_user_directory_and_toml_entries_override_the_catalog(tmp_path: Path) -> None:
    # An HF-cache layout holding a recorded config under the name of a catalog model.
    snap = tmp_path / "models--Qwen--Qwen2.5-7B-Instruct" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    shutil.copy(DATA / "hub" / "acme--Tiny-1B.json", snap / "config.json")
    custom = {"my-llm": {"config": str(DATA / "hub" / "acme--Tiny-1B.json"), "aliases": ["mine"],
                         "dtype": "fp8"}}  # fmt: skip
    r = ModelResolver(directory=tmp_path, custom=custom, hub_enabled=False, environ={})
    m = r.resolve("Qwen/Qwen2.5-7B-Instruct")
    assert m is not None and (m.source, m.matched_by) == ("user_config_dir", "user_entry")
    assert m.spec.layers == 16  # the user's file, not the catalog's 28
    mine = r.resolve("mine")
    assert mine is not None and mine.source == "user_toml" and mine.dtype == "fp8"
    assert mine.origin == "[models.my-llm]"  # how wattlens.toml writes it


def test_toml_entries_from_the_config_file_resolve(tmp_path: Path) -> None:
    """[models.NAME] tables in wattlens.toml reach the resolver; a model named like a setting is
    written [models.custom.NAME]."""
    from wattlens.config import load_config

    conf = DATA / "hub" / "acme--Tiny-1B.json"
    toml = tmp_path / "wattlens.toml"
    toml.write_text(
        f'[models]\nhub = false\n\n[models.my-llm]\nconfig = "{conf}"\n\n'
        f'[models."acme/llm"]\nconfig = "{conf}"\n\n[models.custom.directory]\nconfig = "{conf}"\n'
    )
    c = load_config(toml, environ={})
    r = ModelResolver(custom=dict(c.models.custom), hub_enabled=c.models.hub, environ={})
    for name, origin in [("my-llm", "[models.my-llm]"), ("acme/llm", '[models."acme/llm"]'),
                         ("directory", "[models.custom.directory]")]:  # fmt: skip
        m = r.resolve(name)
        assert m is not None and (m.source, m.origin) == ("user_toml", origin)
        assert m.spec.layers == 16
    with pytest.raises(CatalogError, match="not a directory"):
        ModelResolver(directory=tmp_path / "nope", hub_enabled=False).resolve("x")


class _Hub(BaseHTTPRequestHandler):
    """The hub file endpoint for recorded configs: /{org}/{name}/resolve/{rev}/config.json."""

    def _file(self) -> Path | None:
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) == 5 and parts[2] == "resolve" and parts[4] == "config.json":
            p = DATA / "hub" / f"{parts[0]}--{parts[1]}.json"
            return p if p.exists() else None
        return None

    def _send(self, body: bool) -> None:
        p = self._file()
        if p is None:
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
            self.end_headers()
            return
        data = p.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("ETag", '"recorded-1"')
        self.send_header("X-Repo-Commit", "0" * 40)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_HEAD(self) -> None:  # noqa: N802
        self._send(False)

    def do_GET(self) -> None:  # noqa: N802
        self._send(True)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hub_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_hub_resolves_unknown_repo_config_only(hub_url: str, tmp_path: Path) -> None:
    r = ModelResolver(hub_endpoint=hub_url, hub_cache_dir=tmp_path, environ={"HF_TOKEN": "t"})
    m = r.resolve("acme/Tiny-1B")
    assert m is not None and (m.source, m.matched_by) == ("hub", "hub")
    assert (m.spec.layers, m.spec.kv_heads, m.spec.hidden_size) == (16, 8, 2048)
    # cached: offline now, the same answer from the cache
    off = ModelResolver(hub_endpoint=hub_url, hub_cache_dir=tmp_path,
                        environ={"HF_HUB_OFFLINE": "1"})  # fmt: skip
    assert off.resolve("acme/Tiny-1B") is not None
    # a repo the hub does not have: estimated from the name, the hub failure explained
    missing = r.resolve("acme/Missing-13B")
    assert missing is not None and missing.source == "estimated_from_name"


def test_hub_offline_never_asks(tmp_path: Path) -> None:
    r = ModelResolver(hub_endpoint="http://127.0.0.1:9", hub_cache_dir=tmp_path,
                      environ={"HF_HUB_OFFLINE": "1"})  # fmt: skip
    assert r.resolve("acme/NoSize") is None
    assert "HF_HUB_OFFLINE" in r.explain("acme/NoSize")
