"""How operators write model names, reduced to catalog keys; the dtype a name's suffix implies.

'meta-llama/Meta-Llama-3.1-70B-Instruct-FP8' -> core name 'llama-3.1-70b', dtype 'fp8'. The
suffixes are Hugging Face naming habits of model publishers and quantisers (TheBloke,
hugging-quants, RedHatAI/neuralmagic, unsloth, Qwen's own -AWQ/-GPTQ-Int4/-FP8 repos, 2023-2026).
"""

from __future__ import annotations

import re

# Trailing name tokens that describe a checkpoint's tuning, precision or packaging, not its shape.
_SUFFIXES = frozenset(
    {
        "instruct", "chat", "it", "hf", "base", "pt", "thinking", "fp8", "fp16", "bf16",
        "int4", "int8", "awq", "gptq", "gguf", "mxfp4", "nvfp4", "fp4", "w4a16", "w8a8", "w8a16",
        "dynamic", "static", "pertensor", "quantized", "qat", "bnb", "4bit", "8bit", "unsloth",
        "preview", "latest", "sft", "dpo", "rl", "ft", "marlin", "block", "channelwise",
    }
)  # fmt: skip
_DATE_OR_VERSION = re.compile(r"^(\d{4}|\d{6}|\d{8}|v0\.\d+)$")  # -2507, -20240229, -v0.3
_ISO_DATE = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{2}-\d{4})$")  # -2024-11-20, -08-2024 (Cohere)
_NON_ALNUM = re.compile(r"[^a-z0-9]")
# (name token, dtype), first match wins; -GPTQ-Int8 is int8, -GPTQ / -GPTQ-Int4 int4.
_NAME_DTYPES = (
    ("mxfp4", "mxfp4"),
    ("nvfp4", "int4"),
    ("fp4", "int4"),
    ("fp8", "fp8"),
    ("w8a8", "int8"),
    ("w8a16", "int8"),
    ("int8", "int8"),
    ("8bit", "int8"),
    ("awq", "int4"),
    ("w4a16", "int4"),
    ("int4", "int4"),
    ("4bit", "int4"),
    ("gptq", "int4"),
    ("bf16", "bf16"),
    ("fp16", "fp16"),
)


def exact_key(name: str) -> str:
    """Case-folded, spaces and underscores as '-'."""
    return re.sub(r"[\s_]+", "-", name.strip().casefold())


def core_name(name: str) -> str:
    """'meta-llama/Meta-Llama-3.1-70B-Instruct-FP8' -> 'llama-3.1-70b'."""
    s = exact_key(name).rstrip("/").rsplit("/", 1)[-1]
    s = _ISO_DATE.sub("", s)
    if s.startswith("meta-llama"):
        s = s[len("meta-") :]
    tokens = [t for t in s.split("-") if t]
    while len(tokens) > 1 and (tokens[-1] in _SUFFIXES or _DATE_OR_VERSION.match(tokens[-1])):
        tokens.pop()
    return "-".join(tokens)


def squashed(name: str) -> str:
    """The core name without punctuation ('llama3.1-8b' and 'llama-3.1-8b' meet)."""
    return _NON_ALNUM.sub("", core_name(name))


def dtype_from_name(name: str | None) -> str | None:
    """The weight dtype a quantisation suffix names ('-AWQ' -> int4, '-FP8' -> fp8), or None."""
    tokens = set(re.split(r"[-_/.\s]+", (name or "").casefold()))
    return next((dtype for hint, dtype in _NAME_DTYPES if hint in tokens), None)


__all__ = ["core_name", "dtype_from_name", "exact_key", "squashed"]
