"""Last resort: a model known only by its name ('acme-72b', 'foo-30B-A3B', 'bar-8x7B').

The size tokens give the parameter counts; the shape (layers, heads, KV heads, head width,
vocabulary) is borrowed from the catalog model of the same kind (dense or MoE) whose size is
nearest, so the KV cache and the weights scale like a real model of that size. The result is
flagged `estimated_from_name` and carries a wider uncertainty.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import replace

from wattlens.catalog.naming import core_name
from wattlens.catalog.specs import ModelSpec

# +-25 %: the spread between the size in a name and the parameters its config implies across
# the shipped catalog (e.g. "7B" names hold 6.7-7.6B; MoE "NxM" names overstate the total),
# the same bound the catalog builder uses to reject a config that does not fit its name.
ESTIMATE_UNCERTAINTY = 0.25
_UNITS = {"m": 1e6, "b": 1e9, "t": 1e12}
_MOE = re.compile(r"(?:^|[-_])(\d+(?:\.\d+)?)([bt])-a(\d+(?:\.\d+)?)([bm])(?:$|[-_])")
_EXPERTS = re.compile(r"(?:^|[-_])(\d+)x(\d+(?:\.\d+)?)b(?:$|[-_])")
_ACTIVE_AND_EXPERTS = re.compile(r"(?:^|[-_])\d+b-\d+e(?:$|[-_])")
_DENSE = re.compile(r"(?:^|[-_])(\d+(?:\.\d+)?)([mbt])(?:$|[-_])")


def size_from_name(name: str) -> tuple[float, float, bool] | None:
    """(total, active, is_moe) parameters from a name's size tokens, or None.

    'NxMB' (Mixtral naming) is read as N experts of M B with two active (Mixtral's top-2): the
    total is an upper bound, since the attention weights are shared between experts.
    """
    # InternLM writes decimals with '_' ('internlm2_5-1_8b' is 1.8B, not 8B)
    s = core_name(re.sub(r"(?<=\d)_(?=\d)", ".", name))
    if _ACTIVE_AND_EXPERTS.search(s):  # Llama 4 '17B-16E': active size and expert count only
        return None
    if m := _MOE.search(s):
        total = float(m[1]) * _UNITS[m[2]]
        return total, min(total, float(m[3]) * _UNITS[m[4]]), True
    if m := _EXPERTS.search(s):
        n, each = int(m[1]), float(m[2]) * 1e9
        return n * each, min(n, 2) * each, True
    if m := _DENSE.search(s):
        total = float(m[1]) * _UNITS[m[2]]
        return total, total, False
    return None


def estimate_from_name(name: str, catalog: Iterable[ModelSpec]) -> ModelSpec | None:
    """A ModelSpec with the name's sizes and the nearest catalog model's shape, or None."""
    size = size_from_name(name)
    if size is None:
        return None
    total, active, moe = size
    same_kind = [m for m in catalog if m.is_moe == moe and m.attention_type != "MLA"]
    if not same_kind:
        return None
    ref = min(same_kind, key=lambda m: abs(math.log(m.total_params / total)))
    return replace(
        ref,
        id=core_name(name),
        name=name,
        total_params=total,
        active_params=active,
        hf_repos=(),
        aliases=(),
        sources=(
            f"estimated from the name {name!r} (2026): {total / 1e9:g}B total, "
            f"{active / 1e9:g}B active; shape of the nearest catalog model {ref.id!r} "
            f"({ref.total_params / 1e9:.1f}B); uncertainty +-{ESTIMATE_UNCERTAINTY:.0%}",
        ),
    )


__all__ = ["ESTIMATE_UNCERTAINTY", "estimate_from_name", "size_from_name"]
