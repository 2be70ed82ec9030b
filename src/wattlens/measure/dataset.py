"""Prompts for a benchmark: a JSONL dataset, synthetic prompts of a set length, grid specs.

A dataset line is a JSON object with `prompt` (text, for /v1/completions) or `messages` (chat),
and optionally `max_tokens`. Synthetic prompts are `n_in` words (one token per word on the
emulator; about 1.3 tokens per word on real tokenizers, so use `usage` counts for results).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wattlens.core.errors import InputError

_FILLER = ("measure", "the", "energy", "of", "every", "token", "on", "your", "own", "gpus")


@dataclass(frozen=True, slots=True)
class Prompt:
    """One request body's content: chat `messages` or a completion `prompt`."""

    prompt: str | None = None
    messages: tuple[dict[str, Any], ...] | None = None
    max_tokens: int | None = None

    @property
    def chat(self) -> bool:
        """True for a chat prompt (sent to /v1/chat/completions)."""
        return self.messages is not None


def load_prompts(path: str | Path) -> list[Prompt]:
    """Prompts from a JSONL file; a bad line raises InputError naming the file and line."""
    src = Path(path)
    try:
        lines = src.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"prompts {str(src)!r}: cannot read it ({e})", field="prompts") from e
    out: list[Prompt] = []
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"prompts {str(src)!r} line {no}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"{where}: not JSON ({e.msg})", field="prompts") from e
        out.append(_prompt(obj, where))
    if not out:
        raise InputError(f"prompts {str(src)!r}: no prompts in the file", field="prompts")
    return out


def _prompt(obj: Any, where: str) -> Prompt:
    if not isinstance(obj, dict):
        raise InputError(
            f"{where}: expected a JSON object with prompt or messages", field="prompts"
        )
    mt = obj.get("max_tokens")
    if mt is not None and (not isinstance(mt, int) or isinstance(mt, bool) or mt < 1):
        raise InputError(f"{where}: max_tokens {mt!r} is not a positive integer", field="prompts")
    if isinstance(obj.get("prompt"), str):
        return Prompt(prompt=obj["prompt"], max_tokens=mt)
    msgs = obj.get("messages")
    if (
        isinstance(msgs, list)
        and msgs
        and all(
            isinstance(m, dict) and isinstance(m.get("content"), str) and "role" in m for m in msgs
        )
    ):
        return Prompt(messages=tuple(msgs), max_tokens=mt)
    raise InputError(
        f'{where}: expected "prompt" (a string) or "messages" (a list of objects with role '
        "and content)",
        field="prompts",
    )


def synthetic_prompt(n_in: int) -> Prompt:
    """A completion prompt of `n_in` words."""
    return Prompt(prompt=" ".join(_FILLER[i % len(_FILLER)] for i in range(n_in)))


def parse_synthetic(text: str) -> tuple[int, int | None]:
    """`n_in=512,n_out=256` -> (512, 256); `n_out` optional."""
    vals = _pairs(text, "synthetic")
    if "n_in" not in vals:
        raise InputError(f"synthetic {text!r}: expected n_in=N[,n_out=M]", field="synthetic")
    return _positive(vals["n_in"], "synthetic"), (
        _positive(vals["n_out"], "synthetic") if "n_out" in vals else None
    )


def parse_grid(parts: list[str]) -> tuple[list[int], list[int]]:
    """`["n_in=64..4096", "n_out=64..4096"]` -> powers of two in each range (or a,b,c lists)."""
    vals: dict[str, str] = {}
    for p in parts:
        vals.update(_pairs(p, "grid"))
    missing = [k for k in ("n_in", "n_out") if k not in vals]
    if missing:
        raise InputError(
            f"grid {' '.join(parts)!r}: missing {', '.join(missing)}; expected "
            "n_in=64..4096 n_out=64..4096 (powers of two) or n_in=128,512",
            field="grid",
        )
    return _axis(vals["n_in"]), _axis(vals["n_out"])


def _axis(text: str) -> list[int]:
    m = re.fullmatch(r"\s*(\d+)\s*\.\.\s*(\d+)\s*", text)
    if m is None:
        return [_positive(x, "grid") for x in text.split("|")]
    lo, hi = int(m.group(1)), int(m.group(2))
    if lo < 1 or hi < lo:
        raise InputError(f"grid {text!r}: expected 1 <= low <= high", field="grid")
    out, v = [], lo
    while v <= hi:
        out.append(v)
        v *= 2
    return out


def _pairs(text: str, field: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in re.split(r"[,\s]+(?=[a-z_]+=)", text.strip()):
        if "=" not in part:
            raise InputError(f"{field} {text!r}: expected key=value pairs", field=field)
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip().rstrip(",")
    return out


def _positive(text: str, field: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = 0
    if v < 1:
        raise InputError(f"{field} {text!r}: expected a positive integer", field=field)
    return v


__all__ = ["Prompt", "load_prompts", "parse_grid", "parse_synthetic", "synthetic_prompt"]
