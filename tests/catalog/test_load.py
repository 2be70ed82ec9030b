"""Every catalog file loads, and every entry carries sources with a four-digit year."""

from __future__ import annotations

import re
from importlib import resources

import pytest

import wattlens.catalog as catalog
from wattlens.catalog._load import DATA_FILES, load_toml
from wattlens.core.errors import CatalogError

YEAR = re.compile(r"(?<!\d)(19|20)\d{2}(?!\d)")


def _has_year(text: str) -> bool:
    return YEAR.search(text) is not None


def test_data_files_listed_match_the_package_folder() -> None:
    shipped = sorted(
        p.name for p in resources.files("wattlens.catalog").iterdir() if p.name.endswith(".toml")
    )
    assert shipped == sorted(DATA_FILES)


@pytest.mark.parametrize("filename", DATA_FILES)
def test_every_file_parses(filename: str) -> None:
    assert load_toml(filename)


def test_missing_file_is_a_catalog_error() -> None:
    with pytest.raises(CatalogError, match="nope.toml"):
        load_toml("nope.toml")


def test_every_typed_entry_has_dated_sources() -> None:
    entries = [*catalog.all_gpus(), *catalog.all_models(), *catalog.all_frontiers()]
    assert len(entries) >= 14 + 25 + 2
    for e in entries:
        assert e.sources, e.id
        for s in e.sources:
            assert _has_year(s), (e.id, s)


def test_every_constant_has_source_and_year() -> None:
    for name, c in catalog.all_constants().items():
        assert c.source and _has_year(c.source), name
        assert 1900 <= c.year <= 2100, name
        assert c.unit, name


def test_every_grid_table_and_rule_set_is_sourced() -> None:
    data = load_toml("grid.toml")
    for vid, sec in data["vintages"].items():
        assert _has_year(sec["source"]), vid
    assert _has_year(data["supplementary"]["source"])
    assert _has_year(data["rules"]["source"])
    for vintage in catalog.vintages():
        for region in catalog.regions(vintage).values():
            assert _has_year(region.source), region


def test_every_paper_group_is_sourced() -> None:
    for pid in catalog.paper_ids():
        params = catalog.paper_params(pid)
        assert _has_year(params["citation"]), pid
        groups = {k: v for k, v in params.items() if isinstance(v, dict)}
        assert groups, pid
        for gname, group in groups.items():
            assert "source" in group and _has_year(group["source"]), (pid, gname)


def test_public_api_is_exported() -> None:
    public = {n for n in dir(catalog) if not n.startswith("_")}
    # submodules show up in dir() once anything imported them: every module file is one
    modules = {p.stem for p in resources.files("wattlens.catalog").iterdir()
               if p.name.endswith(".py")}  # fmt: skip
    assert set(catalog.__all__) == public - modules
