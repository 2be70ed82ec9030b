"""`POST /api/v2/fit/sweetspot` (uploaded CSV) and `GET /api/v2/fit/sweetspot/grid` on a real
server: planted θ come back, the heatmap's ridge is n_out*, bad files get the one error shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from wattlens.store import Store

from .conftest import Served, make_config, serve

THETA = [0.1, 2e-5, 3e-5, 2e-3, 4e-5]  # planted, J per output token per feature unit
AXIS = [64, 128, 256, 512, 1024, 2048, 4096]


def planted_csv() -> str:
    lines = ["n_in,n_out,energy_joules"]
    for i in AXIS:
        for o in AXIS:
            e_tok = (THETA[0] + THETA[1] * i * i / o + THETA[2] * i + THETA[3] * i / o
                     + THETA[4] * o)  # fmt: skip
            lines.append(f"{i},{o},{e_tok * o!r}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp: Path = tmp_path_factory.mktemp("sweetspot")
    s = serve(Store.open(tmp / "empty.duckdb"), None, make_config(tmp))
    yield s
    s.close()


def post(s: Served, text: str, **params: str):  # noqa: ANN201
    files = {"data": ("grid.csv", text.encode(), "text/csv")}
    return s.client.post("/api/v2/fit/sweetspot", params={"model": "llama-3.1-8b", **params},
                         files=files)  # fmt: skip


def test_upload_recovers_planted_theta_and_sweet_spots(bare: Served) -> None:
    r = post(bare, planted_csv(), cells="16")
    assert r.status_code == 200, r.text
    body = r.json()
    theta = [body["theta"][f"theta{i}"] for i in range(5)]
    np.testing.assert_allclose(theta, THETA, rtol=1e-6)
    assert body["mape_percent"] < 1e-4
    stars = {row["n_in"]: row["n_out_star"] for row in body["n_out_star"]}
    assert sorted(stars) == AXIS
    for i, star in stars.items():  # sqrt((θ1 n_in² + θ3 n_in) / θ4), by hand
        assert star == pytest.approx(((THETA[1] * i * i + THETA[3] * i) / THETA[4]) ** 0.5, 1e-4)
    hm = body["heatmap"]
    assert len(hm["tokens_per_joule"]) == len(hm["n_in"]) and len(hm["ridge_n_out_star"]) == len(
        hm["n_in"]
    )
    assert all(len(row) == len(hm["n_out"]) for row in hm["tokens_per_joule"])


def test_grid_csv_round_trips_into_the_fit(bare: Served) -> None:
    r = bare.get("/api/v2/fit/sweetspot/grid", params={"model": "llama-3.1-8b", "size": "7"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    f = post(bare, r.text, form="memory")
    assert f.status_code == 200, f.text
    assert set(f.json()["theta"]) == {f"theta{i}" for i in range(6)}


def _error(r, status: int) -> str:  # noqa: ANN001
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"ok", "error", "status"} and body["ok"] is False
    return str(body["error"])


def test_bad_uploads_and_parameters_get_the_error_shape(bare: Served) -> None:
    assert "missing column" in _error(post(bare, "n_in,n_out\n1,2\n"), 400)
    assert "line 3" in _error(post(bare, "n_in,n_out,energy_joules\n64,64,1\nx,64,1\n"), 400)
    assert "form" in _error(post(bare, planted_csv(), form="quadratic"), 400)
    assert "concurrency" in _error(post(bare, planted_csv(), concurrency="8"), 400)
    assert "no-such" in _error(
        bare.client.post("/api/v2/fit/sweetspot", params={"model": "no-such"},
                         files={"data": ("a.csv", b"n_in\n", "text/csv")}),
        404,
    )  # fmt: skip
    assert "size" in _error(
        bare.get("/api/v2/fit/sweetspot/grid", params={"model": "llama-3.1-8b", "size": "5"}), 400
    )
