"""Node throughput against input and output length (Oviedo et al. 2025): the shipped table, the
per-model log regression `ln TPS = b0 + b1 ln L_in + b2 ln L_out` capped at the measured maximum,
and its leave-one-out error.

Data: `data/throughput/model_throughput_h100.csv` (aienergy_simulation, 2025; see the README
beside it). A user's own bench results can replace it: a CSV with columns `model`,
`input_tokens`, `output_tokens`, `tokens_per_s` (and optional `quantization`).
"""

from __future__ import annotations

import csv
import io
import math
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from wattlens.core.errors import CatalogError, InputError

F64 = NDArray[np.float64]
TABLE_FILE = "model_throughput_h100.csv"
_USER_COLUMNS = ("model", "input_tokens", "output_tokens", "tokens_per_s")


@cache
def oviedo_params() -> dict[str, Any]:
    """The parsed `data/oviedo.toml` (cached; callers must not mutate)."""
    raw = resources.files("wattlens.plan").joinpath("data/oviedo.toml").read_text("utf-8")
    return tomllib.loads(raw)


@dataclass(frozen=True, slots=True)
class ThroughputPoint:
    """One measured node throughput: model id, lengths in tokens, output tokens/s."""

    model: str
    input_tokens: float
    output_tokens: float
    tokens_per_s: float
    quantization: str
    source: str


@dataclass(frozen=True, slots=True)
class ThroughputFit:
    """A model's throughput law: the regression (None with < min_points) and its cap.

    `loo_rmse_log` is the leave-one-out RMS error of ln TPS (held-out points, before the cap);
    `loo_mape_percent` the same as a mean absolute percentage error of TPS. Both are None when
    the model has too few points to hold one out and still fit three coefficients.
    """

    model: str
    points: int
    beta: tuple[float, float, float] | None
    tps_max: float
    rmse_log: float | None
    loo_rmse_log: float | None
    loo_mape_percent: float | None

    def tokens_per_s(self, input_tokens: float | F64, output_tokens: float | F64) -> F64:
        """Node output throughput (tokens/s) at these lengths; the cap where no regression."""
        lin = np.asarray(input_tokens, dtype=np.float64)
        lout = np.asarray(output_tokens, dtype=np.float64)
        if self.beta is None:
            return np.broadcast_to(np.float64(self.tps_max), np.broadcast(lin, lout).shape)
        b0, b1, b2 = self.beta
        with np.errstate(divide="ignore", over="ignore"):
            log_tps = b0 + b1 * np.log(lin) + b2 * np.log(lout)
            return np.minimum(np.exp(log_tps), self.tps_max)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (snake_case)."""
        return {
            "model": self.model,
            "points": self.points,
            "beta": None if self.beta is None else list(self.beta),
            "tokens_per_s_max": self.tps_max,
            "rmse_log": self.rmse_log,
            "loo_rmse_log": self.loo_rmse_log,
            "loo_mape_percent": self.loo_mape_percent,
            "form": "ln TPS = b0 + b1 ln L_in + b2 ln L_out, capped at max"
            if self.beta is not None
            else "TPS = max measured (fewer than 3 points)",
        }


def _model_id(name: str) -> str:
    ids: dict[str, str] = oviedo_params()["models"]["ids"]
    return ids.get(name, name.strip().lower().replace(" ", "-"))


def _number(value: str, where: str, column: str) -> float | None:
    text = value.strip()
    if text.lower() in ("variable", "na", ""):
        return None
    try:
        x = float(text)
    except ValueError as e:
        raise InputError(f"{where}: {column} {text!r} is not a number", field="throughput") from e
    if not (math.isfinite(x) and x > 0):
        raise InputError(
            f"{where}: {column} {text!r} must be a positive number", field="throughput"
        )
    return x


def _parse(text: str, origin: str) -> list[ThroughputPoint]:
    reader = csv.DictReader(io.StringIO(text))
    cols = set(reader.fieldnames or ())
    if "Tokens per Second (TPS)" in cols:  # the shipped table's own columns
        names = ("Model", "Input Length", "Output Length", "Tokens per Second (TPS)")
    else:
        missing = [c for c in _USER_COLUMNS if c not in cols]
        if missing:
            raise InputError(
                f"throughput {origin}: missing column(s) {', '.join(missing)}; expected "
                f"{', '.join(_USER_COLUMNS)} (and optional quantization)",
                field="throughput",
            )
        names = _USER_COLUMNS
    out = []
    for i, row in enumerate(reader, start=2):
        where = f"throughput {origin} line {i}"
        lin = _number(row[names[1]] or "", where, names[1])
        lout = _number(row[names[2]] or "", where, names[2])
        tps = _number(row[names[3]] or "", where, names[3])
        if tps is None:
            raise InputError(f"{where}: {names[3]} is empty", field="throughput")
        if lin is None or lout is None:
            continue  # averages over variable prompts (ML.ENERGY rows): no point on the surface
        quant = (row.get("Quantization") or row.get("quantization") or "FP8").strip().upper()
        source = (row.get("Source") or row.get("source") or origin).strip()
        out.append(ThroughputPoint(_model_id(row[names[0]] or ""), lin, lout, tps, quant, source))
    if not out:
        raise InputError(f"throughput {origin}: no rows with numeric lengths", field="throughput")
    return out


@cache
def shipped_points() -> tuple[ThroughputPoint, ...]:
    """Rows of the shipped throughput table (all quantizations)."""
    path = resources.files("wattlens.plan").joinpath(f"data/throughput/{TABLE_FILE}")
    return tuple(_parse(path.read_text("utf-8"), TABLE_FILE))


def read_points(path: Path) -> list[ThroughputPoint]:
    """Throughput points from a user's CSV (own bench results) or a copy of the shipped table."""
    try:
        text = path.read_text("utf-8")
    except OSError as e:
        raise InputError(f"throughput {str(path)!r}: cannot read ({e.strerror})",
                         field="throughput") from e  # fmt: skip
    return _parse(text, repr(str(path)))


def _ols(x: F64, y: F64) -> F64:
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    return np.asarray(coef, dtype=np.float64)


def fit_model(points: list[ThroughputPoint], model: str, *, min_points: int = 3) -> ThroughputFit:
    """The regression (and cap) of one model's points, with its leave-one-out error."""
    pts = [p for p in points if p.model == model]
    if not pts:
        raise CatalogError(f"model {model!r} has no throughput points", field="model")
    lin = np.log([p.input_tokens for p in pts])
    lout = np.log([p.output_tokens for p in pts])
    y = np.log([p.tokens_per_s for p in pts])
    tps_max = max(p.tokens_per_s for p in pts)
    if len(pts) < min_points:
        return ThroughputFit(model, len(pts), None, tps_max, None, None, None)
    x = np.column_stack([np.ones_like(lin), lin, lout])
    beta = _ols(x, y)
    rmse = float(np.sqrt(np.mean((x @ beta - y) ** 2)))
    loo_rmse = loo_mape = None
    if len(pts) > 3:  # holding one out must leave three points for three coefficients
        errs = []
        for i in range(len(pts)):
            keep = np.arange(len(pts)) != i
            b = _ols(x[keep], y[keep])
            errs.append(float(x[i] @ b - y[i]))
        e = np.asarray(errs)
        loo_rmse = float(np.sqrt(np.mean(e**2)))
        loo_mape = float(np.mean(np.abs(np.expm1(e))) * 100.0)
    b0, b1, b2 = (float(v) for v in beta)
    return ThroughputFit(model, len(pts), (b0, b1, b2), tps_max, rmse, loo_rmse, loo_mape)


def fit_all(
    points: list[ThroughputPoint] | tuple[ThroughputPoint, ...] | None = None,
    *,
    quantization: str | None = None,
) -> dict[str, ThroughputFit]:
    """Fits of every model in `points` (default: the shipped table) at one quantization.

    Args:
        points: throughput points; None reads the shipped table.
        quantization: keep rows of this quantization (default: the paper's FP8); "all" keeps all.
    """
    reg = oviedo_params()["regression"]
    quant = (quantization or reg["quantization"]).upper()
    pts = list(shipped_points() if points is None else points)
    if quant != "ALL":
        known = sorted({p.quantization for p in pts})
        pts = [p for p in pts if p.quantization == quant]
        if not pts:
            raise InputError(f"quantization {quant!r}: no throughput rows with numeric input and "
                             f"output lengths; the table has {', '.join(known)} (or 'all')",
                             field="quantization")  # fmt: skip
    models = list(dict.fromkeys(p.model for p in pts))
    return {m: fit_model(pts, m, min_points=int(reg["min_points"])) for m in models}


__all__ = [
    "TABLE_FILE",
    "ThroughputFit",
    "ThroughputPoint",
    "fit_all",
    "fit_model",
    "oviedo_params",
    "read_points",
    "shipped_points",
]
