"""Child for the crash test: writes one interval per commit and prints its ts_end_s after it.

Usage: python crash_writer.py DB_PATH. Runs until killed.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from wattlens.store import Store

sys.path.insert(0, __file__.rsplit("/", 2)[0])  # tests/, so `store.factories` imports
from store.factories import deployment, intervals  # noqa: E402

template = intervals(n=1)[0]
with Store.open(sys.argv[1]) as store:
    store.upsert_deployments([deployment(template.deployment_id)], template.ts_end_s)
    i = 0
    while True:
        ts = template.ts_end_s + 30.0 * i
        store.write_intervals([replace(template, ts_end_s=ts)])
        sys.stdout.write(f"{ts!r}\n")
        sys.stdout.flush()
        i += 1
