"""read_telemetry_file: format detection over real files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DATA

from wattlens.core.errors import InputError
from wattlens.telemetry.importer import detect_format, read_telemetry_file


def test_detects_json_and_openmetrics(tmp_path: Path) -> None:
    om = tmp_path / "x.txt"  # the extension is not trusted; the content decides
    om.write_text('# TYPE m gauge\nm{a="1"} 5 100\n# EOF\n')
    assert detect_format(om) == "openmetrics"
    assert read_telemetry_file(om).sample_count() == 1
    js = DATA / "prometheus-2.42+query_range-power-exported.json"
    assert detect_format(js) == "json"
    assert read_telemetry_file(js).sample_count() == 8
    assert len(read_telemetry_file(js, wanted=frozenset({"other"}))) == 0
    spaced = tmp_path / "spaced.json"
    spaced.write_text("\n  " + js.read_text())
    assert read_telemetry_file(spaced).sample_count() == 8


def test_progress_is_passed_to_the_openmetrics_reader(tmp_path: Path) -> None:
    om = tmp_path / "x.om"
    om.write_text("m 1 1\nm 2 2\n# EOF\n")
    seen: list[int] = []
    read_telemetry_file(om, progress=seen.append)
    assert seen[-1] == 2


@pytest.mark.parametrize(
    ("make", "what"),
    [
        (lambda p: p / "missing.om", "no such file"),
        (lambda p: p, "is a directory"),
        (lambda p: (p / "empty.om").write_text("") and p / "empty.om" or p / "empty.om", "empty"),
    ],
)
def test_unreadable_inputs(tmp_path: Path, make: Callable[[Path], Path], what: str) -> None:
    with pytest.raises(InputError, match=what):
        read_telemetry_file(make(tmp_path))
