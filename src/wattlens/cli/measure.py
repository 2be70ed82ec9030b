"""`wattlens bench` and `wattlens emulate` (issue #13): thin commands over `wattlens.measure`.

`mount(app, plan_app)` adds `bench` and `emulate` to the root app and `powercap` to `plan`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from wattlens.cli.options import naming_flags
from wattlens.core.errors import InputError

FLAGS = {
    "concurrency": "--concurrency", "count": "--count", "energy": "--energy",
    "energy_labels": "--energy-labels", "gpu": "--gpu", "grid": "--grid", "model": "--model",
    "out": "--out", "power_cap": "--power-cap", "prompts": "--prompts",
    "prometheus_url": "--prometheus", "synthetic": "--synthetic", "cap": "--cap",
    "base": "--base", "max_tokens": "--max-tokens", "requests": "--requests",
    "rounds": "--rounds", "sample_interval_s": "--sample-interval", "idle_s": "--idle-seconds",
    "min_steady_s": "--min-steady", "max_num_seqs": "--max-num-seqs", "param": "--param",
}  # fmt: skip
_SHOWN = (
    ("concurrency", "c", 0), ("max_tokens", "max tok", 0), ("power_cap_watts", "cap W", 0),
    ("requests", "req", 0), ("output_tokens", "out tok", 0), ("power_watts", "W", 1),
    ("energy_joules", "J", 1), ("joules_per_output_token", "J/out tok", 4),
    ("joules_per_token", "J/tok", 4), ("tokens_per_s", "tok/s", 1),
    ("ttft_p50_s", "TTFT p50 s", 3), ("itl_p50_s", "ITL p50 s", 4), ("e2e_p90_s", "e2e p90 s", 2),
    ("flags", "flags", 0),
)  # fmt: skip


_flag_names = naming_flags(FLAGS)


def _list(text: str | None, field: str, kind: Callable[[str], Any] = int) -> list[Any]:
    if not text:
        return []
    try:
        values = [kind(t) for t in text.split(",") if t.strip()]
    except ValueError as e:
        raise InputError(f"{field} {text!r}: expected comma-separated numbers", field=field) from e
    if any(v <= 0 for v in values):
        raise InputError(f"{field} {text!r}: expected positive numbers", field=field)
    return values


def _labels(text: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise InputError(f"energy_labels {text!r}: expected k=v,k=v", field="energy_labels")
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _fmt(v: Any, digits: int) -> str:
    if v is None or v == "" or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


def _table(rows: list[dict[str, Any]], idle: float | None, source: str) -> None:
    from rich.table import Table

    from wattlens.cli.render import console

    table = Table(title=f"wattlens bench (energy: {source})")
    for _, head, _ in _SHOWN:
        table.add_column(head, justify="left" if head == "flags" else "right")
    for r in rows:
        table.add_row(*[_fmt(r.get(k), d) for k, _, d in _SHOWN])
    console.print(table)
    if idle is not None:
        sub = rows[0]["idle_subtracted"] if rows else False
        console.print(
            f"idle baseline: {idle:,.1f} W; energy above idle: "
            + ", ".join(_fmt(r["energy_joules_above_idle"], 1) + " J" for r in rows)
            + (" (per-token figures above idle)" if sub else " (per-token figures include idle)")
        )


@_flag_names
def bench(
    endpoint: Annotated[str, typer.Option(help="OpenAI base URL, e.g. http://h:8000/v1")],
    model: Annotated[str, typer.Option(help="Model name the endpoint serves.")],
    prompts: Annotated[Path | None, typer.Option(help="JSONL: prompt or messages.")] = None,
    synthetic: Annotated[str | None, typer.Option(help="n_in=N[,n_out=M].")] = None,
    grid: Annotated[list[str] | None, typer.Option(help="n_in=64..4096 n_out=64..4096")] = None,
    concurrency: Annotated[str, typer.Option(help="Concurrent streams, e.g. 1,8,64.")] = "1",
    max_tokens: Annotated[str | None, typer.Option(help="Max output tokens, e.g. 256,512.")] = None,
    requests: Annotated[int | None, typer.Option(help="Requests per configuration.")] = None,
    rounds: Annotated[int, typer.Option(help="Else requests = rounds x concurrency.")] = 4,
    power_cap: Annotated[str | None, typer.Option(help="NVML caps W, e.g. 250,175.")] = None,
    energy: Annotated[str, typer.Option(help="nvml, prometheus or emulator.")] = "emulator",
    energy_labels: Annotated[str | None, typer.Option(help="GPU series labels: k=v,k=v.")] = None,
    prometheus: Annotated[str | None, typer.Option(help="Prometheus-API URL.")] = None,
    metrics_url: Annotated[str | None, typer.Option(help="dcgm-format /metrics URL.")] = None,
    idle_seconds: Annotated[float, typer.Option(help="Idle baseline length; 0 skips.")] = 2.0,
    sample_interval: Annotated[float, typer.Option(help="Energy sampling interval s.")] = 0.25,
    min_steady: Annotated[float, typer.Option(help="Shortest valid steady window s.")] = 5.0,
    subtract_idle: Annotated[bool, typer.Option(help="Per-token energy above idle.")] = False,
    ignore_eos: Annotated[bool, typer.Option(help="Ask for exactly max tokens (vLLM).")] = False,
    out: Annotated[Path | None, typer.Option(help="Results: .csv or .parquet.")] = None,
    mlenergy: Annotated[Path | None, typer.Option(help="Also write ML.ENERGY layout CSV.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Charts to this .png/.svg.")] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON rows.")] = False,
) -> None:  # fmt: skip
    """Benchmark an endpoint's energy: J/token, tok/s and latency per configuration."""
    from wattlens.measure.bench import BenchOptions, run_bench
    from wattlens.measure.dataset import load_prompts, parse_grid, parse_synthetic
    from wattlens.measure.output import mlenergy_rows, write_grid, write_rows
    from wattlens.measure.output import plot as plot_rows

    if sum(x is not None and x != [] for x in (prompts, synthetic, grid)) != 1:
        raise InputError("prompts: give exactly one of --prompts, --synthetic or --grid",
                         field="prompts")  # fmt: skip
    if plot is not None:  # before the run, not after minutes of measuring
        from wattlens.plan.figures import check_plot_path

        check_plot_path(plot)
    if energy not in ("nvml", "prometheus", "emulator"):
        raise InputError(f"energy {energy!r}: expected nvml, prometheus or emulator",
                         field="energy")  # fmt: skip
    opts = BenchOptions(endpoint=endpoint, model=model,
                        concurrency=_list(concurrency, "concurrency"), energy=energy,  # type: ignore[arg-type]
                        energy_labels=_labels(energy_labels),
                        prometheus_url=prometheus, metrics_url=metrics_url, idle_s=idle_seconds,
                        sample_interval_s=sample_interval, min_steady_s=min_steady,
                        subtract_idle=subtract_idle, ignore_eos=ignore_eos, requests=requests,
                        rounds=rounds,
                        power_caps=_list(power_cap, "power_cap", float))  # fmt: skip
    mts: list[int | None] = list(_list(max_tokens, "max_tokens")) or [None]
    opts.max_tokens = mts
    if prompts is not None:
        opts.prompts = load_prompts(prompts)
    elif synthetic is not None:
        opts.n_in, n_out = parse_synthetic(synthetic)
        if n_out is not None and mts == [None]:
            opts.max_tokens = [n_out]
    else:
        opts.grid = parse_grid(grid or [])
        if len(opts.concurrency) != 1:
            raise InputError("grid: runs at one concurrency; pass one value", field="concurrency")
    if (requests is not None and requests < 1) or rounds < 1:
        raise InputError(f"requests {requests} / rounds {rounds}: expected at least 1",
                         field="requests")  # fmt: skip
    result = _run(opts, run_bench, quiet=json_)
    if out is not None:
        (write_grid if opts.grid is not None else write_rows)(result.rows, out)
    if mlenergy is not None:
        write_rows(mlenergy_rows(result.rows, model=model, gpu=""), mlenergy)
    if plot is not None:
        plot_rows(result.rows, plot)
    if json_:  # strict JSON: NaN (no steady window, no tokens) becomes null
        rows = [{k: None if isinstance(v, float) and not math.isfinite(v) else v
                 for k, v in r.items()} for r in result.rows]  # fmt: skip
        typer.echo(json.dumps(rows, indent=2, default=str, allow_nan=False))
        return
    _table(result.rows, result.idle_power_watts, result.energy_source)
    for path in (out, mlenergy, plot):
        if path is not None:
            typer.echo(f"written: {path}")


def _run(opts: Any, run_bench: Callable[..., Any], quiet: bool) -> Any:
    if quiet:
        return run_bench(opts)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  transient=True) as bar:  # fmt: skip
        tasks: dict[str, Any] = {}

        def tick(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done)

        return run_bench(opts, progress=tick)


def emulate(
    model: Annotated[str, typer.Option(help="Catalog model, e.g. llama-3.1-8b.")],
    gpu: Annotated[str, typer.Option(help="Catalog GPU, e.g. H100-SXM.")],
    count: Annotated[int, typer.Option(help="GPUs (one tensor-parallel instance).")] = 1,
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    host: Annotated[str, typer.Option(help="Bind address.")] = "127.0.0.1",
    dtype: Annotated[str | None, typer.Option(help="Weight dtype (default: the model's).")] = None,
    max_num_seqs: Annotated[int, typer.Option(help="Batch slots (vLLM max_num_seqs).")] = 256,
    param: Annotated[
        list[str] | None, typer.Option(help="Planted step-model parameter NAME=VALUE; repeatable.")
    ] = None,
) -> None:
    """Serve one emulated deployment: OpenAI API at /v1, dcgm/vLLM metrics at /metrics."""
    from wattlens.emulator.endpoint import serve_blocking
    from wattlens.emulator.engine import EngineSpec, planted_params

    spec = EngineSpec.build(model, gpu, count, dtype=dtype, max_num_seqs=max_num_seqs,
                            params=planted_params(param or []))  # fmt: skip
    typer.echo(f"wattlens emulate: {spec.model.id} on {count}x {spec.gpu.id} at "
               f"http://{host}:{port}/v1 (metrics at /metrics; Ctrl-C to stop)")  # fmt: skip
    serve_blocking(spec, host, port)


def mount(app: typer.Typer, plan_app: typer.Typer) -> None:
    """Register `bench`, `emulate` (root) and `powercap` (plan)."""
    app.command("bench")(bench)
    app.command("emulate")(_flag_names(emulate))
    from wattlens.cli.powercap import powercap

    plan_app.command("powercap")(powercap)


__all__ = ["bench", "emulate", "mount"]
