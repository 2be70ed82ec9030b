"""Which model a deployment serves: the user's models, the catalog, the hub, or the name alone.

`ModelResolver.resolve(name)` tries, in order:
1. the user's `[models.NAME]` entries in wattlens.toml (`user_toml`),
2. the user's directory of config.json files, e.g. a mounted HF cache (`user_config_dir`),
3. the shipped catalog: hand-checked entries (`catalog`) and entries built from config.json
   copies (`catalog_hf_config`), by exact spelling, core name or squashed name,
4. the Hugging Face hub, for 'org/name' spellings, config.json only (`hub`),
5. the size in the name with the shape of a catalog model of that size (`estimated_from_name`),
and says which step matched (`matched_by`). None means the model truly cannot be resolved;
`explain(name)` says why. A quantisation suffix in the served name sets the dtype.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from wattlens.catalog import hub
from wattlens.catalog.estimate import ESTIMATE_UNCERTAINTY, estimate_from_name
from wattlens.catalog.hfconfig import shapes_from_config
from wattlens.catalog.models import all_models, match_model, model_source
from wattlens.catalog.naming import core_name, dtype_from_name, squashed
from wattlens.catalog.specs import ModelSpec
from wattlens.core.errors import CatalogError

# Shapes read from a config.json give the weights within 2 % of the model cards (the catalog's
# acceptance test, tests/catalog/test_served_names.py); an estimate from the name within 25 %.
CONFIG_UNCERTAINTY = 0.02


@dataclass(frozen=True, slots=True)
class ModelMatch:
    """A resolved model and how it was found."""

    spec: ModelSpec
    source: str  # user_toml, user_config_dir, catalog, catalog_hf_config, hub, estimated_from_name
    matched_by: str  # exact, core_name, squashed_name, user_entry, config_dir, hub, name_size
    query: str
    dtype: str
    dtype_source: str
    uncertainty_fraction: float
    origin: str = ""  # the file, entry or repo the shapes came from

    @property
    def estimated(self) -> bool:
        """True when only the name was known."""
        return self.source == "estimated_from_name"

    def as_dict(self) -> dict[str, Any]:
        """The fields every analysis output carries per deployment."""
        return {
            "id": self.spec.id,
            "name": self.spec.name,
            "source": self.source,
            "matched_by": self.matched_by,
            "query": self.query,
            "dtype": self.dtype,
            "dtype_source": self.dtype_source,
            "uncertainty_fraction": self.uncertainty_fraction,
            "origin": self.origin,
        }


def spec_from_config(
    config: Mapping[str, Any], name: str, source: str, aliases: Iterable[str] = ()
) -> ModelSpec:
    """A ModelSpec from a config.json (keys as on the hub) under the given name."""
    shapes = shapes_from_config(config)
    return ModelSpec(
        id=core_name(name),
        name=name,
        **shapes.fields,
        total_params=shapes.total_params,
        active_params=shapes.active_params,
        hf_repos=(name,),
        aliases=tuple(aliases),
        sources=(f"{source} (config.json read 2026 or later)",),
    )


def _toml_table(name: str) -> str:
    """How wattlens.toml spells the user's model `name`: [models.NAME], quoted where TOML needs
    it, and [models.custom.NAME] for a model named like a [models] setting."""
    key = name if _BARE_KEY.fullmatch(name) else json.dumps(name)
    return f"[models.custom.{key}]" if name in _SETTINGS else f"[models.{key}]"


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SETTINGS = ("directory", "custom", "hub")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as e:
        raise CatalogError(
            f"{path} is not a readable config.json ({e}); fix or remove it from [models] directory"
        ) from e


def _name_for(path: Path) -> str:
    """HF cache 'models--Qwen--Qwen2.5-7B/snapshots/<hash>/config.json' -> 'Qwen/Qwen2.5-7B'."""
    for part in reversed(path.parts[:-1]):
        if part.startswith("models--"):
            return part[len("models--") :].replace("--", "/", 1)
    return path.stem if path.name != "config.json" else path.parent.name


class ModelResolver:
    """Resolves served model names; inject the user's models, the hub and the environment."""

    def __init__(
        self,
        *,
        directory: Path | str | None = None,
        custom: Mapping[str, Mapping[str, Any]] | None = None,
        hub_enabled: bool = True,
        hub_endpoint: str | None = None,
        hub_cache_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.directory = Path(directory) if directory else None
        self.custom = dict(custom or {})
        self.hub_enabled = hub_enabled
        self.hub_endpoint = hub_endpoint
        self.hub_cache_dir = hub_cache_dir
        self.environ = os.environ if environ is None else environ
        self._hub_done: dict[str, ModelSpec | str] = {}
        self._hub_up: bool | None = None

    @cached_property
    def _user(self) -> dict[str, tuple[ModelSpec, str, str]]:
        """squashed name -> (spec, source, origin) for the user's entries and config files."""
        out: dict[str, tuple[ModelSpec, str, str]] = {}
        if self.directory is not None:
            if not self.directory.is_dir():
                raise CatalogError(
                    f"[models] directory {str(self.directory)!r} is not a directory; point it "
                    "at a folder of config.json files (e.g. a Hugging Face cache)"
                )
            files = [*self.directory.rglob("config.json"), *self.directory.glob("*.json")]
            for path in sorted(set(files)):
                name = _name_for(path)
                try:
                    spec = spec_from_config(_read_json(path), name, f"{path}")
                except CatalogError:
                    continue  # not an LLM config (tokenizer, adapter, ...): not a model entry
                out.setdefault(squashed(name), (spec, "user_config_dir", str(path)))
        for name, entry in self.custom.items():
            table = dict(entry)
            aliases = [str(a) for a in table.pop("aliases", [])]
            dtype = table.pop("dtype", None)
            if "config" in table:
                table = {**_read_json(Path(str(table.pop("config")))), **table}
            where = _toml_table(name)
            spec = spec_from_config(table, name, f"wattlens.toml {where}", aliases)
            if dtype:
                spec = replace(spec, default_dtype=str(dtype))
            for spelling in (name, *aliases):
                out[squashed(spelling)] = (spec, "user_toml", where)
        return out

    def resolve(self, name: str | None) -> ModelMatch | None:
        """The model a served name means, or None when nothing, not even its name, tells."""
        if not name or not name.strip():
            return None
        user = self._user.get(squashed(name))
        if user is not None:
            spec, source, origin = user
            return self._match(spec, source, "user_entry", name, origin)
        found = match_model(name)
        if found is not None:
            spec, step = found
            return self._match(spec, model_source(spec.id), step, name, spec.sources[0])
        if self._hub_allowed(name):
            got = self._from_hub(name.strip())
            if isinstance(got, ModelSpec):
                return self._match(got, "hub", "hub", name, f"hf.co/{name.strip()}")
        estimate = estimate_from_name(name, all_models())
        if estimate is not None:
            return self._match(estimate, "estimated_from_name", "name_size", name, "")
        return None

    def explain(self, name: str | None) -> str:
        """Why `resolve(name)` gives None, with the fix."""
        if not name or not name.strip():
            return (
                "the deployment reports no model name (vLLM's model_name label); add the label "
                "or a [models.NAME] entry"
            )
        tried = ["the catalog", "the name's size (no '7B'-style size in it)"]
        if self.directory or self.custom:
            tried.insert(0, "your [models] entries")
        failure = self._hub_done.get(name.strip())
        if isinstance(failure, str):
            tried.append(f"the Hugging Face hub ({failure})")
        return (
            f"model {name!r} is unknown: tried {', '.join(tried)}; add its config.json to "
            "[models] directory or a [models.NAME] entry in wattlens.toml"
        )

    def _hub_allowed(self, name: str) -> bool:
        return self.hub_enabled and hub.looks_like_repo_id(name)

    def _from_hub(self, repo_id: str) -> ModelSpec | str:
        offline = hub.hub_offline(self.environ)
        endpoint = self.hub_endpoint or self.environ.get("HF_ENDPOINT") or None
        if repo_id not in self._hub_done and not offline:
            if self._hub_up is None:
                self._hub_up = hub.reachable(endpoint)
            if not self._hub_up:
                self._hub_done[repo_id] = "the hub cannot be reached from here"
        if repo_id not in self._hub_done:
            try:
                config = hub.fetch_config(
                    repo_id,
                    endpoint=endpoint,
                    token=self.environ.get("HF_TOKEN") or None,
                    cache_dir=self.hub_cache_dir,
                    offline=offline,
                )
                self._hub_done[repo_id] = spec_from_config(config, repo_id, f"hf.co/{repo_id}")
            except CatalogError as e:
                self._hub_done[repo_id] = str(e)
        return self._hub_done[repo_id]

    @staticmethod
    def _match(spec: ModelSpec, source: str, how: str, query: str, origin: str) -> ModelMatch:
        hinted = dtype_from_name(query)
        if hinted and hinted != spec.default_dtype:
            dtype, dsrc = hinted, f"served name {query!r}"
        else:
            dtype, dsrc = spec.default_dtype, f"default of {spec.id} ({source})"
        u = ESTIMATE_UNCERTAINTY if source == "estimated_from_name" else CONFIG_UNCERTAINTY
        return ModelMatch(spec, source, how, query, dtype, dsrc, u, origin)


__all__ = ["CONFIG_UNCERTAINTY", "ModelMatch", "ModelResolver", "spec_from_config"]
