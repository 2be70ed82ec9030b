"""Recorded series read back from a real Prometheus (issue 15).

The backend is backfilled (promtool) with planted `wattlens:deployment_*` series, as if it had
evaluated `wattlens rules` every minute until half an hour ago: power and token rates per
deployment that change every evaluation. Expected energy and tokens are Σ planted rate x 60 s
over the period's evaluation points, by hand; detection is checked on that backend and on one
holding only raw series.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import pytest
from tests.servers import start_prometheus
from typer.testing import CliRunner

from wattlens.cli.main import app
from wattlens.integrations.recorded import detect_recorded, recorded_totals
from wattlens.telemetry.promapi import PrometheusClient

STEP_S = 60.0
N = 120  # two hours of evaluations, ending half an hour ago (within detection's lookback)
START_S = math.floor(time.time() / STEP_S) * STEP_S - 1800.0 - N * STEP_S


def _power(i: int) -> float:
    return 500.0 + (i % 7) * 10.0


def _gen(i: int) -> float:
    return 40.0 + (i % 5)


def _openmetrics(path: Path, *, recorded: bool) -> Path:
    lines = []
    if recorded:
        lines.append("# TYPE wattlens:deployment_power_watts gauge")
        for dep, scale in (("ml/a", 1.0), ("ml/gpu-only", 0.5)):
            ns, wl = dep.split("/")
            for i in range(N + 1):
                labels = f'deployment="{dep}",namespace="{ns}",workload="{wl}"'
                t = START_S + i * STEP_S
                lines.append(
                    f"wattlens:deployment_power_watts{{{labels}}} {_power(i) * scale} {t:.0f}"
                )
        for name, rate in (("prompt", lambda i: 400.0), ("generation", _gen)):
            lines.append(f"# TYPE wattlens:deployment_{name}_tokens_per_s gauge")
            for i in range(N + 1):
                labels = 'deployment="ml/a",namespace="ml",workload="a"'
                t = START_S + i * STEP_S
                lines.append(
                    f"wattlens:deployment_{name}_tokens_per_s{{{labels}}} {rate(i)} {t:.0f}"
                )
    else:
        lines.append("# TYPE DCGM_FI_DEV_POWER_USAGE gauge")
        lines += [f'DCGM_FI_DEV_POWER_USAGE{{gpu="0"}} 300 {START_S + i * STEP_S:.0f}'
                  for i in range(N + 1)]  # fmt: skip
    path.write_text("\n".join(lines) + "\n# EOF\n")
    return path


def test_recorded_series_detected_and_read_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    om = _openmetrics(tmp_path / "recorded.om", recorded=True)
    with start_prometheus(tmp_path, backfill_openmetrics=om) as server:
        client = PrometheusClient(server.url)
        with caplog.at_level(logging.INFO, logger="wattlens.telemetry.recorded"):
            found = detect_recorded(client, START_S + N * STEP_S)
        assert found.usable and found.series_count == 4
        assert "can be read from them" in caplog.text and server.url in caplog.text
        got = recorded_totals(client, START_S, START_S + N * STEP_S, STEP_S)
        env = {"WATTLENS_BACKEND_PROMETHEUS_URL": server.url}
        out = CliRunner().invoke(app, ["rules", "--detect"], env=env)
        assert out.exit_code == 0, out.output
        assert "holds the wattlens recorded series (3 names, 4 series)" in out.stdout
    points = range(1, N + 1)  # evaluations in (start, end]
    energy_a = sum(_power(i) for i in points) * STEP_S
    gen_a = sum(_gen(i) for i in points) * STEP_S
    assert got["ml/a"]["energy_joules"] == pytest.approx(energy_a)
    assert got["ml/a"]["prompt_tokens"] == pytest.approx(400.0 * N * STEP_S)
    assert got["ml/a"]["generation_tokens"] == pytest.approx(gen_a)
    assert got["ml/a"]["joules_per_token"] == pytest.approx(energy_a / (400.0 * N * STEP_S + gen_a))
    assert got["ml/gpu-only"]["energy_joules"] == pytest.approx(0.5 * energy_a)
    assert got["ml/gpu-only"]["prompt_tokens"] is None
    assert got["ml/a"]["covered_s"] == N * STEP_S


def test_raw_only_backend_is_named_and_falls_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    om = _openmetrics(tmp_path / "raw.om", recorded=False)
    with (
        start_prometheus(tmp_path, backfill_openmetrics=om) as server,
        caplog.at_level(logging.INFO, logger="wattlens.telemetry.recorded"),
    ):
        found = detect_recorded(PrometheusClient(server.url), START_S + N * STEP_S)
    assert not found.usable and found.present == ()
    assert "holds no wattlens recorded series: reading the raw series" in caplog.text
