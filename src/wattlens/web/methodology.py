"""The methodology, generated from the catalog, the config and the unit constants.

`methodology_sections(config)` builds a list of sections of blocks (paragraphs, tables, code);
the `/methodology` page renders them through a Jinja template and `render_methodology_markdown`
as Markdown (for docs/methodology.md). No number is typed here or in the template: every figure
comes from `catalog/*.toml`, the config or `physics.units` (a test checks this file's strings).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from wattlens.catalog.constants import all_constants, constant
from wattlens.catalog.frontier import all_frontiers
from wattlens.catalog.grid import GridRule, get_region, regions
from wattlens.config import Config
from wattlens.core.durations import format_duration
from wattlens.core.units import (
    GRAMS_PER_KG,
    JOULES_PER_KWH,
    MG_PER_GRAM,
    SECONDS_PER_HOUR,
    joules_from_millijoules,
)
from wattlens.telemetry.metrics import METRIC_ALIASES, Quantity
from wattlens.web.snapshot import DAY_S, WEEK_S


@dataclass(frozen=True, slots=True)
class Block:
    """A paragraph (`text`), a code block (`code`) or a table (`headers` + `rows`)."""

    kind: str  # "p", "code" or "table"
    text: str = ""
    headers: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class Section:
    """A titled section of the methodology."""

    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)


def _g(x: float) -> str:
    """A number as written in the data: whole numbers in full, others without trailing zeros."""
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:g}"


def _names(q: Quantity) -> list[str]:
    return sorted(n for n, qq in METRIC_ALIASES.items() if qq == q)


def _vintage_meta(vintage: str) -> dict[str, Any]:
    text = resources.files("wattlens.catalog").joinpath("grid.toml").read_text(encoding="utf-8")
    return dict(tomllib.loads(text).get("vintages", {}).get(vintage, {}))


def _cite(name: str) -> str:
    c = constant(name)
    return f"{c.source}; year {c.year}"


def _measurement(config: Config) -> Section:
    step = format_duration(config.collect.step_s)
    mj_per_j = _g(1 / joules_from_millijoules(1.0))
    return Section(
        "measurement",
        "What is measured",
        [
            Block(
                "p",
                "A deployment is the GPUs plus the engine replicas that serve one model in "
                "one namespace; GPU series join engine series on (namespace, pod), and pods group "
                "into deployments that survive restarts.",
            ),
            Block(
                "p",
                f"Telemetry is cut into {step} intervals. Energy comes from the DCGM total "
                f"energy counter (millijoules, divided by {mj_per_j}, resets handled); where it "
                "is missing the power gauge is integrated, and every figure says which was used.",
            ),
            Block(
                "p",
                "Only GPU board power is measured. CPU, memory, network and cooling are "
                "outside it, so CO2 at PUE one is a lower bound.",
            ),
        ],
    )


def _formulas(config: Config) -> Section:
    pue = _g(config.carbon.pue)
    legacy = constant("legacy_mg_per_token_factor")
    rows = (
        ("Power (W)", "energy (J) / seconds covered", "mean over the window"),
        ("Tokens/s", "(prompt + generation tokens) / seconds covered", "input plus output"),
        ("J/token", "energy (J) / (prompt + generation tokens)", "per total token"),
        ("J/output token", "energy (J) / generation tokens", "as ML.ENERGY reports it"),
        ("CO2 (g/h)", f"W x kg/kWh x PUE (PUE = {pue})", "W x kg/kWh is exactly g/h"),
        (
            "CO2 (mg/token)",
            f"g/h x {_g(MG_PER_GRAM)} / (tokens/s x {_g(SECONDS_PER_HOUR)})",
            f"the old code used the rounded factor {_g(legacy.value)}",
        ),
        ("Energy (kWh)", f"J / {_g(JOULES_PER_KWH)}", ""),
        ("CO2 (g)", f"kWh x PUE x kg/kWh x {_g(GRAMS_PER_KG)}", "summed per interval"),
        ("Decode speed (tokens/s)", "generation tokens / inter-token-latency seconds", "not "
         "diluted by idle time"),
    )  # fmt: skip
    return Section(
        "formulas",
        "Formulas",
        [
            Block("table", headers=("Quantity", "Formula", "Note"), rows=rows),
            Block(
                "p",
                f"Averages over {format_duration(DAY_S)} and {format_duration(WEEK_S)} are "
                "active-only: they use intervals whose token rate is above the ratio "
                "threshold, rates weighted by time and per-token ratios by tokens (total CO2 of "
                "active intervals / their tokens).",
            ),
        ],
    )


def _thresholds(config: Config) -> Section:
    t = config.thresholds
    rows = (
        ("Per-token ratios reported above", f"{_g(t.min_tokens_per_s_for_ratio)} tokens/s",
         _cite("min_tokens_per_s_for_ratio")),
        ("Deployment counts as active above", f"{_g(t.active_tokens_per_s)} tokens/s",
         _cite("active_tokens_per_s")),
        ("Live window", format_duration(config.collect.live_window_s),
         "config: collect.live_window"),
    )  # fmt: skip
    return Section(
        "thresholds",
        "Thresholds",
        [Block("table", headers=("Threshold", "Value", "Source"), rows=rows)],
    )


def _promql(config: Config) -> Section:
    step = format_duration(config.collect.step_s)
    win = format_duration(config.collect.live_window_s)
    energy = _names(Quantity.GPU_ENERGY_MILLIJOULES_TOTAL)[0]
    power = _names(Quantity.GPU_POWER_WATTS)[0]
    prompt = [n for n in _names(Quantity.PROMPT_TOKENS_TOTAL) if n.startswith("vllm")][0]
    gen = [n for n in _names(Quantity.GENERATION_TOKENS_TOTAL) if n.startswith("vllm")][0]
    itl = [n for n in _names(Quantity.ITL_SECONDS_SUM_TOTAL) if n.startswith("vllm")][0]
    fin = [n for n in _names(Quantity.REQUESTS_FINISHED_TOTAL) if n.startswith("vllm")][0]
    mj = _g(1 / joules_from_millijoules(1.0))
    h = _g(SECONDS_PER_HOUR)
    code = "\n".join(
        [
            f"# energy per {step} interval (J), per pod; pods group into deployments",
            f"sum by (namespace, pod) (increase({energy}[{step}])) / {mj}",
            "# fallback when the counter is missing: mean power (W) x interval",
            f"sum by (namespace, pod) (avg_over_time({power}[{step}]))",
            "# tokens per interval",
            f"sum by (namespace, pod) (increase({prompt}[{step}]))",
            f"sum by (namespace, pod) (increase({gen}[{step}]))",
            f"# live power (W) over the {win} window",
            f"sum by (namespace) (rate({energy}[{win}])) / {mj}",
            "# decode speed (tokens/s of generating time)",
            f"sum by (namespace) (rate({gen}[{win}])) / sum by (namespace) (rate({itl}[{win}]))",
            "# requests per hour",
            f"sum by (namespace) (rate({fin}[{win}])) * {h}",
        ]
    )
    return Section(
        "promql",
        "Equivalent PromQL",
        [
            Block("p", "wattlens reads raw samples and derives intervals itself (counter resets, "
                  "gaps and pod restarts handled in code), then answers from its store. These "
                  "queries compute the same quantities on a Prometheus backend; names are the "
                  "engine's and exporter's own."),
            Block("code", text=code),
        ],
    )  # fmt: skip


def _rule_row(rule: GridRule, vintage: str) -> tuple[str, ...]:
    try:
        ci = _g(round(get_region(rule.region, vintage).intensity_kg_per_kwh, 4))
    except Exception:  # noqa: BLE001 - a config rule may name a region missing in this vintage
        ci = "unknown"
    return (rule.field, rule.match, rule.pattern, rule.region, ci)


def _grid(config: Config) -> Section:
    vintage = config.carbon.grid_vintage
    meta = _vintage_meta(vintage)
    table = regions(vintage)
    rows = tuple(
        (r.code, r.name, _g(round(r.intensity_kg_per_kwh, 4)), r.vintage, r.source)
        for r in sorted(table.values(), key=lambda r: r.code)
    )
    rules = config.carbon.grid_rules()
    default = config.carbon.default_region
    blocks = [
        Block("p", f"Grid intensity table: {meta.get('label', vintage)} (year "
              f"{meta.get('year', 'not stated')}, pollutant {meta.get('pollutant', 'CO2')}). "
              f"Source: {meta.get('source', '')}. {meta.get('note', '')}"),
        Block("table", headers=("Region", "Name", "kg CO2/kWh", "Vintage", "Source"), rows=rows),
        Block("p", f"Nodes map to regions by the rules below, first match wins; no match means "
              f"{default}."),
        Block("table", headers=("Field", "Match", "Pattern", "Region", "kg CO2/kWh"),
              rows=tuple(_rule_row(r, vintage) for r in rules)),
    ]  # fmt: skip
    override = config.carbon.intensity_override_kg_per_kwh
    if override is not None:
        blocks.insert(
            0,
            Block(
                "p",
                f"This service overrides the table: every node uses "
                f"{_g(override)} kg CO2/kWh (config carbon.intensity_override).",
            ),
        )
    return Section("grid", "Grid carbon intensity", blocks)


def _pue(config: Config) -> Section:
    rows = tuple(
        (name, _g(c.value), c.unit, ", ".join(f"{k} {_g(v)}" for k, v in c.extra.items()),
         f"{c.source}; year {c.year}")
        for name, c in ((n, constant(n)) for n in (
            "default_pue", "pue_typical", "pue_commercial_cloud", "pue_oviedo_v1",
            "non_gpu_overhead_fraction"))
    )  # fmt: skip
    return Section(
        "pue",
        "PUE and overhead",
        [
            Block("p", f"This service applies PUE {_g(config.carbon.pue)} (config carbon.pue); "
                  "it is shown beside every CO2 figure."),
            Block("table", headers=("Constant", "Value", "Unit", "Range", "Source"), rows=rows),
        ],
    )  # fmt: skip


def _frontier() -> Section:
    blocks = [
        Block("p", "Frontier comparison: what a frontier-scale deployment would draw to serve the "
              "same prompt and generation token rates on the same grid, so the CO2 ratio equals "
              "the power ratio. It is an estimate, shown only when a deployment is active."),
    ]  # fmt: skip
    rows = []
    for s in all_frontiers():
        idle = _g(s.idle_floor_watts)
        pj = "physics" if s.prompt_joules_per_token is None else _g(s.prompt_joules_per_token)
        gj = (
            "physics"
            if s.generation_joules_per_token is None
            else _g(s.generation_joules_per_token)
        )
        rows.append((s.id, s.description, f"{s.gpu_count} x {s.gpu}", idle, pj, gj,
                     "; ".join(s.sources)))  # fmt: skip
        if s.prompt_joules_per_token is not None and s.generation_joules_per_token is not None:
            blocks.append(Block("code", text=(
                f"frontier_watts ({s.id}) = {s.gpu_count} x {_g(s.idle_floor_watts / s.gpu_count)}"
                f" + prompt tokens/s x {pj} + generation tokens/s x {gj}\n"
                f"ratio = frontier_watts / measured watts ({format_duration(DAY_S)} active-only "
                "means)")))  # fmt: skip
    blocks.append(Block("table", rows=tuple(rows), headers=(
        "Spec", "Description", "GPUs", "Idle floor (W)", "Prompt J/token", "Generation J/token",
        "Sources")))  # fmt: skip
    return Section("frontier", "Frontier comparison", blocks)


def _frames() -> Section:
    names = ("car_co2_grams_per_mile", "phone_charge_co2_grams", "fridge_power_watts",
             "tree_co2_kg_per_month")  # fmt: skip
    rows = tuple(
        (n, _g(c.value), c.unit, c.note, f"{c.source}; year {c.year}")
        for n, c in ((n, constant(n)) for n in names)
    )
    return Section(
        "frames",
        "Everyday reference frames",
        [
            Block("p", "The cumulative CO2 chart restates its total in everyday terms."),
            Block(
                "table", headers=("Constant", "Value", "Unit", "Conversion", "Source"), rows=rows
            ),
        ],
    )


def _limitations(config: Config) -> Section:
    items = (
        "GPU board power only: host CPU, memory, network and cooling are outside the measurement "
        f"unless PUE (now {_g(config.carbon.pue)}) accounts for them.",
        "Grid intensity is an annual average of generation in the region, not the marginal or "
        "hourly intensity, and ignores imports between regions.",
        "Shared GPUs (time-slicing, MIG) need an attribution choice; this service uses "
        f"'{config.carbon.shared_gpu_attribution}'.",
        "Per-token figures count prompt and generation tokens; compare J/output-token only with "
        "figures that use the same denominator.",
        "The frontier comparison is an informed estimate; its idle floor dominates at low traffic.",
    )
    return Section("limitations", "Limitations", [Block("p", text) for text in items])


def _constants() -> Section:
    rows = tuple(
        (n, _g(c.value), c.unit, str(c.year), c.source) for n, c in all_constants().items()
    )
    return Section(
        "constants",
        "All cited constants",
        [Block("table", headers=("Name", "Value", "Unit", "Year", "Source"), rows=rows)],
    )


def methodology_sections(config: Config) -> list[Section]:
    """Every section of the methodology for this configuration."""
    return [
        _measurement(config),
        _formulas(config),
        _thresholds(config),
        _promql(config),
        _grid(config),
        _pue(config),
        _frontier(),
        _frames(),
        _limitations(config),
        _constants(),
    ]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_methodology_markdown(config: Config | None = None) -> str:
    """The methodology as Markdown (default config when none is given)."""
    if config is None:
        from wattlens.config import load_config

        config = load_config(environ={})
    out = ["# wattlens methodology", "", "Generated from the catalog data files and the config."]
    for s in methodology_sections(config):
        out += ["", f"## {s.title}", ""]
        for b in s.blocks:
            if b.kind == "p":
                out += [b.text, ""]
            elif b.kind == "code":
                out += ["```", b.text, "```", ""]
            else:
                out.append("| " + " | ".join(_md_cell(h) for h in b.headers) + " |")
                out.append("|" + "---|" * len(b.headers))
                out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
                out.append("")
    return "\n".join(out).rstrip() + "\n"


__all__ = ["Block", "Section", "methodology_sections", "render_methodology_markdown"]
