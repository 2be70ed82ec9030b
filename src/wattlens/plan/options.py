"""The planner's named choices as `Literal` types, with their values.

It imports nothing heavy, so the CLI can annotate its options with these types (typer then
offers and checks the choices) without loading numpy or the catalog for `--help`.
"""

from __future__ import annotations

from typing import Literal

from wattlens.core.errors import InputError

Convention = Literal["physical", "paper"]
ProfileName = Literal["calibrated", "computed", "paper"]
Variant = Literal["consistent", "published"]
MoeStreaming = Literal["touched", "active"]
Topology = Literal["homo", "pool", "fleetopt"]

TOPOLOGIES: tuple[Topology, ...] = ("homo", "pool", "fleetopt")
PROFILES: tuple[ProfileName, ...] = ("calibrated", "computed", "paper")
# The one default of the CLI, the web API and the planning page (#9): the physics model
# calibrated on ML.ENERGY measurements (docs/planning.md, "The calibrated model").
DEFAULT_PROFILE: ProfileName = "calibrated"


def parse_topology(value: str) -> Topology:
    """`value` as a Topology; InputError (field `topology`) naming the choices otherwise."""
    for t in TOPOLOGIES:
        if value == t:
            return t
    raise InputError(f"topology {value!r}: expected homo, pool or fleetopt", field="topology")


__all__ = [
    "DEFAULT_PROFILE",
    "PROFILES",
    "TOPOLOGIES",
    "Convention",
    "MoeStreaming",
    "ProfileName",
    "Topology",
    "Variant",
    "parse_topology",
]
