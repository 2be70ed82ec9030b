"""Every numeric option of the planning commands, and the run-length options of the long-running
commands, given nan, inf, zero, negative, huge and non-numeric values: a clear one-line error
(exit 2) or an answer (exit 0), never a traceback and never a hang."""

from __future__ import annotations

from typing import Any

import pytest
import typer

from wattlens.cli.main import app, main

BASE = {
    ("plan", "tokw"): ["--model", "llama-3.1-8b", "--gpu", "H100-SXM"],
    ("plan", "fleet"): ["--model", "llama-3.1-8b", "--gpu", "H100-SXM", "--rate", "10"],
}
VALUES = ["nan", "inf", "-inf", "0", "-1", "1e12", "abc"]
# Long-running commands: only values that must be refused before anything runs.
REFUSED = {
    ("demo",): {"--seconds": ["nan", "inf", "-1", "abc"], "--history-days": ["nan", "inf", "-1"],
                "--port": ["-1", "70000", "abc"]},
    ("collect",): {"--seconds": ["nan", "-1", "abc"]},
    ("serve",): {"--seconds": ["nan", "-1", "abc"], "--port": ["-1", "70000"]},
}  # fmt: skip


def _numeric_options(path: tuple[str, ...]) -> list[str]:
    cmd: Any = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    numbers = (int, float, int | None, float | None)
    return [p.opts[0] for p in cmd.params
            if p.param_type_name == "option"
            and p.type_descriptor.annotation in numbers]  # fmt: skip


CASES = [(path, opt, v) for path in BASE for opt in _numeric_options(path) for v in VALUES]
CASES += [(path, opt, v) for path, opts in REFUSED.items() for opt, vs in opts.items() for v in vs]


def test_every_planning_command_has_numeric_options() -> None:
    for path in BASE:
        assert _numeric_options(path), path


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("path", "option", "value"), CASES,
                         ids=[f"{' '.join(p)} {o} {v}" for p, o, v in CASES])  # fmt: skip
def test_no_traceback(
    path: tuple[str, ...],
    option: str,
    value: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> None:
    args = [*path, *BASE.get(path, []), option, value]
    if path[0] in ("demo", "collect", "serve"):
        args += ["--db", str(tmp_path / "w.duckdb")]
    with pytest.raises(SystemExit) as exit_:
        main(args)
        raise SystemExit(0)
    err = capsys.readouterr().err
    assert exit_.value.code in (0, 2), err
    assert "Traceback" not in err
    if path in REFUSED:
        assert exit_.value.code == 2, f"{args} was not refused"
    if exit_.value.code == 2:
        assert err.strip().startswith("error: ") or "Invalid value" in err or "Usage" in err, err
        assert len(err.strip().splitlines()) == 1 or "Usage" in err, err
