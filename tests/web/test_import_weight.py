"""The service's import weight (issue #11, steady RSS <= 200 MB): importing the web app, and so
starting `serve`, must not load scipy, matplotlib or pandas; they load on first use only."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("scipy", "matplotlib", "pandas")


def test_web_app_import_loads_no_heavy_modules() -> None:
    code = (
        "import json, sys\n"
        "from wattlens.web.app import create_app\n"
        "from wattlens.web.views import frontier_ratio\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
