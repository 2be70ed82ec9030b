"""Request-length CDFs against the statistics in data/traces/README.md (shared reference, computed
from the files with fleet_sim's conventions) and fleet_sim's `_split_cdf` behaviour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wattlens.core.errors import InputError
from wattlens.plan.traces import (
    TRACES,
    load_trace,
    mean_output_published,
    sample_lengths,
    sample_lengths_published,
    split,
    split_lengths,
)


@pytest.mark.parametrize("name", sorted(TRACES))
def test_every_bundled_trace_loads(name: str) -> None:
    cdf = load_trace(name)
    assert cdf.fractions[-1] == 1.0 and np.all(np.diff(cdf.knots) > 0)


@pytest.mark.parametrize(
    ("name", "mean_out", "le4096"),
    [("azure", 325, 0.898), ("lmsys", 136, 0.984), ("agent", 1302, 0.538)],
)
def test_descriptive_statistics(name: str, mean_out: int, le4096: float) -> None:
    cdf = load_trace(name)
    assert mean_output_published(cdf) == mean_out
    assert cdf.at(4096) == pytest.approx(le4096, abs=0.001)


def test_split_renormalises_and_routes_the_tail() -> None:
    cdf = load_trace("azure")
    short, long_, alpha = split(cdf, 4096)
    assert alpha == pytest.approx(0.898, abs=0.001)
    assert short.fractions[-1] == 1.0 and short.knots[-1] == 4096
    assert long_.lo == 4096 and long_.knots[0] == 6144
    assert split(cdf, 4096, published=True)[1].lo == 0.0  # fleet_sim's long pool starts at 0


def test_samples_stay_in_their_bins_and_are_clamped_to_the_window() -> None:
    cdf = load_trace("azure")
    _, long_, _ = split(cdf, 4096)
    rng = np.random.default_rng(1)
    lengths = sample_lengths(long_, 65536, rng.random(2000), rng.random(2000))
    assert lengths.min() > 4096 and lengths.max() <= 16384
    clamped = sample_lengths(long_, 2048, rng.random(100), rng.random(100))
    assert set(clamped.tolist()) == {2048}
    pub = sample_lengths_published(cdf, 65536)
    assert pub.size == 3000 and pub.min() >= 1
    l_in, l_out = split_lengths(np.array([1, 10, 4096]))
    assert l_in.tolist() == [1, 8, 3276] and l_out.tolist() == [1, 2, 820]


@pytest.mark.parametrize("pairs", ["[[1e999, 0.5], [1e999, 1.0]]", "[[1, NaN], [2, 1.0]]"])
def test_non_finite_trace_is_a_clean_error(tmp_path: Path, pairs: str) -> None:
    # Found by the 10^5-case fuzz run (2026-12-03): [inf, inf] knots reached np.diff.
    path = tmp_path / "trace.json"
    path.write_text(pairs)
    with pytest.raises(InputError, match="finite"):
        load_trace(path)
