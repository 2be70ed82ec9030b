"""Schemathesis against the `/openapi.json` of a real `wattlens serve` (issue 14): generated
requests to every operation never get a 5xx, and every answer matches the documented schema
(JSON routes answer through `JSONBytes`, a `JSONResponse`, so they are documented as JSON).

`make test` sends a few cases per operation; `make reliability` raises WATTLENS_API_EXAMPLES.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from servers import free_port, wait_until
from store.factories import deployment, intervals
from wattlens.store import Store

from .procs import wattlens

API_EXAMPLES = int(os.environ.get("WATTLENS_API_EXAMPLES", "8"))


@pytest.fixture(scope="module")
def served_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("api") / "w.duckdb"
    now = math.floor(time.time() / 30.0) * 30.0
    with Store.open(db) as store:
        for dep_id in ("llm/qwen", "llm/llama", "batch/embed"):
            store.upsert_deployments([deployment(dep_id)], now)
            store.write_intervals(intervals(dep_id, n=240, start_s=now - 240 * 30.0))
        store.rollup_pending()
    port = free_port()
    proc = wattlens("serve", "--db", str(db), "--port", str(port))  # stored history, read-only
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
        try:
            return httpx.get(url + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, "wattlens serve", timeout_s=60)
    yield url
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)


def _fuzz(url: str, checks: list[object]) -> tuple[int, list[str]]:
    """Run `checks` on `API_EXAMPLES` generated cases of every operation (schemathesis's pytest
    plugin does not load under pytest 9, so operations are driven through `as_strategy`)."""
    api = schemathesis.openapi.from_url(url + "/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in api.get_all_operations():
        op = result.ok()
        operations += 1

        @given(op.as_strategy())
        @settings(max_examples=API_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=checks, timeout=60)

        try:
            run()
        except (Exception, BaseExceptionGroup) as e:  # noqa: BLE001 - report them all at the end
            failures.append(f"{op.method.upper()} {op.path}: {_summary(e)}")
    return operations, failures


def test_generated_requests_never_get_a_5xx(served_url: str) -> None:
    operations, failures = _fuzz(served_url, [not_a_server_error])
    assert operations > 20
    assert not failures, "\n\n".join(failures)


def test_answers_match_the_documented_schema(served_url: str) -> None:
    operations, failures = _fuzz(served_url, [response_schema_conformance])
    assert operations > 20
    assert not failures, "\n\n".join(failures)


def test_json_routes_are_documented_as_json(served_url: str) -> None:
    """No `application/json` answer is documented as a string (the old `JSONBytes` schema)."""
    spec = httpx.get(served_url + "/openapi.json", timeout=30).json()
    as_json = as_string = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            content = op["responses"].get("200", {}).get("content", {})
            if "application/json" in content:
                as_json += 1
                if content["application/json"].get("schema", {}).get("type") == "string":
                    as_string += 1
                    print(method.upper(), path)
    assert as_json > 20 and as_string == 0, (as_json, as_string)


def _summary(e: BaseException) -> str:
    """The failed checks' titles (schemathesis groups them), not the whole bodies."""
    subs = getattr(e, "exceptions", None) or [e]
    return "; ".join(sorted({str(s).strip().splitlines()[0][:160] for s in subs}))
