"""`plan fleet --rate 1e12` (issue 14): refused in one line that quotes the rate readably (with
thousands separators, not `2.88629e+11`), before any per-instance allocation."""

from __future__ import annotations

import re

import pytest

from wattlens.cli.main import main


@pytest.mark.parametrize("topology", ["homo", "fleetopt"])
def test_huge_rate_is_refused_with_a_readable_rate(
    topology: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["plan", "fleet", "--model", "llama-3.1-8b", "--gpu", "H100-SXM", "--rate", "1e12",
            "--topology", topology]  # fmt: skip
    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and len(err.splitlines()) == 1, err
    assert not re.search(r"\de[+-]\d", err), err  # no scientific notation anywhere
    rate = re.search(r"--rate ([\d,]+) req/s", err)
    assert rate, err
    rps = int(rate.group(1).replace(",", ""))
    if topology == "homo":  # one pool serves the whole rate
        assert rps == 10**12
    else:  # a pool's share of it
        assert 0 < rps < 10**12
    assert "1,000,000 this sizing handles" in err
