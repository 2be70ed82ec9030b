"""What several benchmarks share (`python -m bench` skips modules whose names start with "_")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from wattlens.core.records import DeploymentInfo
from wattlens.store import Store


def write_fleet(
    store: Store,
    infos: Sequence[DeploymentInfo],
    parts: Sequence[Mapping[str, np.ndarray]],
    first_seen_s: float,
) -> None:
    """Upsert `infos`, write every deployment's interval columns in one bulk call, roll up."""
    store.upsert_deployments(infos, first_seen_s)
    store.write_intervals_columns({c: np.concatenate([p[c] for p in parts]) for c in parts[0]})
    store.rollup()


__all__ = ["write_fleet"]
