"""promtool and Prometheus helpers for the rules tests: check, backfill, evaluate, read back.

`evaluate_rules` runs `promtool tsdb create-blocks-from rules` against a live Prometheus (the
server evaluates every expression as range queries) and reads the written blocks back with
`promtool tsdb dump`, so the numbers are Prometheus's own.
"""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from pathlib import Path

_LINE = re.compile(r"^\{(?P<labels>.*)\} (?P<value>\S+) (?P<ts>\d+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

Series = dict[tuple[tuple[str, str], ...], list[tuple[float, float]]]


def run(argv: list[str]) -> str:
    """Run a command; raise with its output when it fails."""
    out = subprocess.run(argv, capture_output=True, text=True)
    if out.returncode != 0:
        raise AssertionError(f"{' '.join(argv[:4])} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout + out.stderr


def check_rules(path: Path) -> str:
    """`promtool check rules FILE` (parses every PromQL expression)."""
    return run(["promtool", "check", "rules", str(path)])


def evaluate_rules(url: str, rules: Path, out: Path, start_s: float, end_s: float) -> Series:
    """Backfill the recording rules over [start, end] from a live Prometheus; read them back."""
    run(["promtool", "tsdb", "create-blocks-from", "rules", "--url", url,
         "--start", str(int(start_s)), "--end", str(int(end_s)),
         "--output-dir", str(out), str(rules)])  # fmt: skip
    (out / "wal").mkdir(exist_ok=True)  # `tsdb dump` opens a DB, which wants a WAL folder
    series: Series = defaultdict(list)
    for line in run(["promtool", "tsdb", "dump", str(out)]).splitlines():
        m = _LINE.match(line)
        if m:
            key = tuple(sorted(_LABEL.findall(m["labels"])))
            series[key].append((int(m["ts"]) / 1000.0, float(m["value"])))
    return series


def by_name(series: Series, name: str, label: str) -> dict[str, list[tuple[float, float]]]:
    """The samples of one recorded metric, keyed by one of its labels."""
    out: dict[str, list[tuple[float, float]]] = {}
    for key, samples in series.items():
        labels = dict(key)
        if labels.get("__name__") == name:
            out[labels.get(label, "")] = sorted(samples)
    return out
