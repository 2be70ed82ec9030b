"""The two number parsers of `matrix_columns` (Arrow's CSV reader for large answers, Python's
float for the service's small live ones: issue #11, steady RSS) read the same numbers, bit for
bit, as `json.loads` + float() of each text do."""

from __future__ import annotations

import json
import random
import sys
from decimal import Decimal

import numpy as np
import pytest

from wattlens.telemetry import rangejson
from wattlens.telemetry.rangejson import _TO_LINES, _numbers_arrow, _numbers_float, matrix_columns


def _go_f(x: float) -> str:
    """x as Prometheus writes a value or a time: Go's strconv.FormatFloat(x, 'f', -1, 64), the
    shortest digits that read back as x, never in exponent form."""
    return format(Decimal(repr(x)), "f")


def _random_value(rng: random.Random) -> str:
    kind = rng.randrange(8)
    if kind == 0:
        return rng.choice(["NaN", "+Inf", "-Inf", "0", "-0"])
    if kind == 1:  # integers (counters) up to 2^63
        return str(rng.randrange(0, 2**63))
    if kind == 2:  # any double, tiny and huge exponents included (subnormals too)
        return _go_f(float(np.frombuffer(rng.randbytes(8), np.float64)[0]) % 1e300 or 0.0)
    if kind == 3:
        return _go_f(rng.uniform(-1, 1) * 10.0 ** rng.randrange(-320, 300))
    if kind == 4:  # more digits than a double holds: needs correct rounding
        return f"{rng.randrange(10**25)}.{rng.randrange(10**25):025d}"
    if kind == 5:
        return repr(rng.random() * 1e3)  # exponent form where repr uses it
    return _go_f(rng.random() * 10.0 ** rng.randrange(-6, 12))


def _answer(rng: random.Random, series: int, samples: int) -> tuple[bytes, list[dict]]:
    result = []
    for i in range(series):
        t0_ms = rng.randrange(1_500_000_000_000, 1_800_000_000_000)
        values = [
            [json.loads(_go_f((t0_ms + 15_000 * k + rng.randrange(1000)) / 1000.0)),
             _random_value(rng)]
            for k in range(rng.randrange(samples + 1))
        ]  # fmt: skip
        result.append({"metric": {"__name__": "m", "i": str(i)}, "values": values})
    body = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    return json.dumps(body, separators=(",", ":")).encode(), result


def _bits(a: np.ndarray) -> list[int]:
    return np.asarray(a, np.float64).view(np.uint64).tolist()


@pytest.mark.parametrize("seed", range(5))
def test_both_parsers_read_the_numbers_json_does(seed: int) -> None:
    rng = random.Random(seed)
    body, result = _answer(rng, series=40, samples=30)
    want_t = [float(p[0]) for item in result for p in item["values"]]
    want_v = [float(p[1]) for item in result for p in item["values"]]
    want = [x for pair in zip(want_t, want_v, strict=True) for x in pair]
    blocks = b",".join(  # the samples as matrix_columns hands them to the parsers
        body[i + 12 : body.index(b"]]}", i) + 1]
        for i in range(len(body))
        if body.startswith(b'},"values":[[', i)
    )
    lines = blocks.translate(_TO_LINES, b'["]')
    got_arrow = _numbers_arrow(lines)
    got_float = _numbers_float(lines, len(want))
    assert got_arrow is not None and got_float is not None
    assert _bits(got_float) == _bits(want)
    assert _bits(got_arrow) == _bits(want)


@pytest.mark.parametrize("arrow_from", [0, 1 << 60])
def test_matrix_columns_with_either_parser(
    arrow_from: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 1 << 60: float(), unless pyarrow.csv is loaded already, so it is taken out of sys.modules
    monkeypatch.setattr(rangejson, "ARROW_MIN_NUMBERS", arrow_from)
    if arrow_from:
        monkeypatch.delitem(sys.modules, "pyarrow.csv", raising=False)
        monkeypatch.setattr(rangejson, "_numbers_arrow", _refuse)
    body, result = _answer(random.Random(7), series=25, samples=12)
    m = matrix_columns(body)
    assert m is not None
    assert m.counts.tolist() == [len(item["values"]) for item in result]
    assert _bits(m.t) == _bits([float(p[0]) for item in result for p in item["values"]])
    assert _bits(m.v) == _bits([float(p[1]) for item in result for p in item["values"]])


def _refuse(lines: bytes) -> None:
    raise AssertionError("Arrow's parser used for a small answer")


def test_float_parser_declines_what_json_would_not_read() -> None:
    assert _numbers_float(b"1_000\n2", 2) is None  # float() alone takes '1_000'
    assert _numbers_float(b"1\nx", 2) is None
    assert _numbers_float(b"1\n\n2", 3) is None  # an empty text is no number
