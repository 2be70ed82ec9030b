"""Green Software Foundation SCI per token: ((E x I) + M) / R for each deployment.

E x I is the operational CO2 wattlens already reports (energy x PUE x grid intensity); M is the
embodied emissions of the deployment's GPUs amortised over the time they served it
(M = TE x gpu_count x time / expected lifetime, the SCI's time share); R, the functional unit,
is tokens (prompt + generation), as the SCI for AI draft proposes. Embodied figures come from
`embodied.toml`, each with its source; a GPU without one gets no M and says so.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

SECONDS_PER_YEAR = 365.25 * 86400.0


@cache
def embodied_table() -> dict[str, Any]:
    """The embodied figures and the lifetime, with sources."""
    return tomllib.loads(
        resources.files("wattlens.integrations").joinpath("embodied.toml").read_text()
    )


def embodied_for(gpu_type: str | None) -> Mapping[str, Any] | None:
    """The embodied entry for a catalog GPU type, or None when no sourced figure exists."""
    for entry in embodied_table()["gpu"]:
        if gpu_type in entry["gpu_types"]:
            return dict(entry)
    return None


def missing_figure_note(gpu_type: str | None) -> str:
    """Why a GPU has no embodied term: what was checked for it (embodied.toml), or unknown."""
    for entry in embodied_table().get("checked_without_figure", []):
        if gpu_type in entry["gpu_types"]:
            return f"operational only: {entry['finding']} ({entry['year']})"
    return "operational only: no sourced embodied figure for this GPU"


def sci_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """SCI per deployment from a `wattlens report` body (its `deployments` rows)."""
    life = embodied_table()["lifetime"]
    life_s = float(life["years"]) * SECONDS_PER_YEAR
    rows = []
    for r in report["deployments"]:
        operational_g = None if r.get("co2_kg") is None else r["co2_kg"] * 1000.0
        tokens = (r.get("prompt_tokens") or 0) + (r.get("generation_tokens") or 0)
        entry = embodied_for(r.get("gpu_type"))
        embodied_g = None
        if entry is not None and r.get("covered_s"):
            embodied_g = entry["kg_co2e"] * 1000.0 * r["gpu_count"] * r["covered_s"] / life_s
        total = None if operational_g is None else operational_g + (embodied_g or 0.0)
        per_token = total / tokens if (total is not None and tokens > 0) else None
        rows.append({
            "deployment": r["deployment"],
            "gpu_type": r.get("gpu_type"),
            "gpu_count": r.get("gpu_count"),
            "tokens": tokens,
            "operational_co2_grams": operational_g,
            "embodied_co2_grams": embodied_g,
            "sci_grams_per_token": per_token,
            "sci_mg_per_token": None if per_token is None else per_token * 1000.0,
            "embodied_source": entry["source"] if entry else None,
            "embodied_included": entry is not None,
            "note": None if entry else missing_figure_note(r.get("gpu_type")),
        })  # fmt: skip
    return rows


def sci_report(report: Mapping[str, Any]) -> dict[str, Any]:
    """`{"deployments": [...], "method": ...}`: the rows and what went into them."""
    life = embodied_table()["lifetime"]
    return {
        "deployments": sci_rows(report),
        "method": {
            "formula": "SCI = ((E x I) + M) / R, R = tokens (prompt + generation)",
            "operational": "energy x PUE x grid intensity, as in wattlens report",
            "embodied": "M = TE x gpu_count x covered time / lifetime",
            "lifetime_years": life["years"],
            "lifetime_source": life["source"],
        },
    }


__all__ = ["embodied_for", "embodied_table", "missing_figure_note", "sci_report", "sci_rows"]
