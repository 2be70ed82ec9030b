"""The service's live path does not load pyarrow (issue #11, steady RSS <= 200 MB: its library
pages stayed in the service's RSS, ~59 MB). Starting `serve` and parsing a live-sized Prometheus
answer (200 deployments' ~10,400 series, 3 samples each, as bench backfill_cpu's live cycles read)
leave it unloaded; only the backfill child's large answers load it (telemetry.rangejson)."""

from __future__ import annotations

import json
import subprocess
import sys

CODE = """
import json, sys
import wattlens.app.backfill_worker, wattlens.app.collector, wattlens.web.app
from wattlens.telemetry.rangejson import matrix_columns, matrix_rows

result = [
    {"metric": {"__name__": "DCGM_FI_DEV_POWER_USAGE", "gpu": str(i % 8), "Hostname": f"n{i}"},
     "values": [[1700000000 + 15 * k, str(100.5 + k)] for k in range(3)]}
    for i in range(10_400)
]
body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": result}},
                  separators=(",", ":")).encode()
m = matrix_columns(body)
rows = list(matrix_rows(m, "sel", {}))
print(json.dumps([len(rows), float(rows[-1][2][-1]), "pyarrow" in sys.modules]))
"""


def test_live_sized_answer_parses_without_pyarrow() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [10_400, 102.5, False]
