"""OpenMetrics file import: planted ground truth, round trip, malformed inputs."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA
from synth import planted_value, write_synthetic_openmetrics

from wattlens.core.errors import InputError
from wattlens.telemetry.openmetrics import format_openmetrics, read_openmetrics, write_openmetrics
from wattlens.telemetry.records import SeriesKey, SeriesSet
from wattlens.telemetry.scrape import parse_exposition


def _assert_same(a: SeriesSet, b: SeriesSet) -> None:
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_array_equal(a.series[key][0], b.series[key][0])
        np.testing.assert_array_equal(a.series[key][1], b.series[key][1])


@pytest.mark.parametrize("time_major", [False, True])
def test_synthetic_file_gives_back_every_planted_sample(tmp_path: Path, time_major: bool) -> None:
    path = tmp_path / "synth.om"
    n_series, n_per = 40, 250
    write_synthetic_openmetrics(path, n_series, n_per, step_s=15.0, time_major=time_major)
    progress: list[int] = []
    got = read_openmetrics(path, progress=progress.append)
    assert len(got) == n_series and got.sample_count() == n_series * n_per
    assert progress[-1] == n_series * n_per
    for key, (t, v) in got.series.items():
        s = int(key.label("UUID")[4:12], 16)  # series index planted in the UUID
        assert key.name == "DCGM_FI_DEV_POWER_USAGE"
        assert key.label("Hostname") == f"gpu-node-{s // 8}"
        np.testing.assert_array_equal(t, 1_700_000_000.0 + 15.0 * np.arange(n_per))
        np.testing.assert_array_equal(v, [planted_value(s, k) for k in range(n_per)])


def test_blocks_boundaries_do_not_lose_or_split_lines(tmp_path: Path) -> None:
    # > 1 MiB so the reader sees several blocks; time-major so every block has every series.
    path = tmp_path / "big.om"
    write_synthetic_openmetrics(path, 97, 120, time_major=True)
    assert path.stat().st_size > 2 << 20
    got = read_openmetrics(path)
    assert got.sample_count() == 97 * 120


def test_round_trip_recorded_expositions_through_openmetrics(tmp_path: Path) -> None:
    """parse exporter text -> write OpenMetrics -> read back -> the same SeriesSet."""
    original = SeriesSet()
    for i, f in enumerate(sorted(DATA.glob("*.prom"))):
        original.merge(parse_exposition(f.read_text(), now_s=1_762_099_200.0 + i, wanted=None))
    original.add(
        SeriesKey("odd", (("v", 'q"\\\n} x'),)), np.array([1.5, 2.5]), np.array([np.nan, 3])
    )
    path = tmp_path / "rt.om"
    write_openmetrics(original, path)
    back = read_openmetrics(path)
    _assert_same(original, back)
    assert format_openmetrics(back) == path.read_text()


def test_unsorted_and_repeated_timestamps_are_sorted_first_value_kept(tmp_path: Path) -> None:
    path = tmp_path / "u.om"
    path.write_text(
        'm{a="1"} 3 30\nm{a="1"} 1 10\nm{a="2"} 7 10\nm{a="1"} 2 20\nm{a="1"} 9 10\n# EOF\n'
    )
    got = read_openmetrics(path)
    t, v = got.series[SeriesKey("m", (("a", "1"),))]
    np.testing.assert_array_equal(t, [10, 20, 30])
    np.testing.assert_array_equal(v, [1, 2, 3])


def test_wanted_filter_exemplars_comments_and_streams(tmp_path: Path) -> None:
    text = (
        "# HELP vllm:generation_tokens Number of generation tokens processed.\n"
        "# TYPE vllm:generation_tokens counter\n"
        'vllm:generation_tokens_total{model_name="m"} 10 100.5 # {trace_id="a"} 1.0 100.4\n'
        'vllm:generation_tokens_total{model_name="m"} 20 130.5\n'
        'vllm:generation_tokens_created{model_name="m"} 50.0 130.5\n'
        "# EOF\n"
    )
    wanted = frozenset({"vllm:generation_tokens_total"})
    for source in (io.StringIO(text), io.BytesIO(text.encode())):
        got = read_openmetrics(source, wanted=wanted)
        ((key, (t, v)),) = got.series.items()
        assert key == SeriesKey("vllm:generation_tokens_total", (("model_name", "m"),))
        np.testing.assert_array_equal(t, [100.5, 130.5])
        np.testing.assert_array_equal(v, [10, 20])
    assert len(read_openmetrics(io.StringIO(text))) == 2


MALFORMED = [
    ('m{a="1"} 5\n# EOF\n', 1, "missing value or timestamp"),
    ('m{a="1"} 5 100\nm{a="1"} five 110\n# EOF\n', 2, "bad value or timestamp"),
    ('m{a="1"} 5 100\nm{a="1"} 5 soon\n# EOF\n', 2, "bad value or timestamp"),
    ('m{a="1"} 5 100\nm{a=1} 5 110\n# EOF\n', 2, "invalid series"),
    ('m{a="1"} 5 100\nm{a="1",,} 5 110\n# EOF\n', 2, "invalid series"),
    ('m{a="1"} 5 100\n\nm{a="1"} 6 110\n# EOF\n', 2, "empty line"),
    ('m{a="1"} 5 100\n# EOF\nm{a="1"} 6 110\n', 3, "after '# EOF'"),
    ('m{a="1"} 5 NaN\n# EOF\n', 1, "bad timestamp"),
    ('1m{a="1"} 5 100\n# EOF\n', 1, "invalid series"),
]


@pytest.mark.parametrize(("text", "line", "what"), MALFORMED)
def test_malformed_input_names_file_and_line(
    tmp_path: Path, text: str, line: int, what: str
) -> None:
    path = tmp_path / "bad.om"
    path.write_text(text)
    with pytest.raises(InputError) as e:
        read_openmetrics(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}:{line}: ") and what in msg, msg
    assert "expected `name{labels} value timestamp`" in msg


def test_missing_eof_means_truncated(tmp_path: Path) -> None:
    path = tmp_path / "trunc.om"
    path.write_text('m{a="1"} 5 100\n')
    with pytest.raises(InputError, match="no '# EOF'"):
        read_openmetrics(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_openmetrics(tmp_path / "nope.om")
