"""Who holds a store file for writing: a small JSON file beside it (`<db>.writer.json`).

DuckDB allows one writing process and no readers beside it. The writer (`serve`, `collect`,
`demo`) announces itself here, with the URL it serves on, so a command that cannot open the
file can say which process holds it and how to read through it instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from wattlens.core.errors import StoreError

SUFFIX = ".writer.json"


def writer_file(db: Path) -> Path:
    """The sidecar file of a store path."""
    return db.with_name(db.name + SUFFIX)


def announce(db: Path, command: str, url: str | None = None) -> None:
    """Record this process as the store's writer (written atomically: temp file + rename)."""
    info = {"pid": os.getpid(), "command": command, "url": url}
    target = writer_file(db)
    tmp = target.with_name(target.name + ".tmp")
    try:
        tmp.write_text(json.dumps(info), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        pass  # best effort: only error messages read it


def withdraw(db: Path) -> None:
    """Remove the sidecar if it is this process's."""
    info = current(db)
    if info is not None and info.get("pid") == os.getpid():
        writer_file(db).unlink(missing_ok=True)


def current(db: Path) -> dict[str, Any] | None:
    """The announced writer if its process is still alive, else None."""
    try:
        info = json.loads(writer_file(db).read_text(encoding="utf-8"))
        pid = int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return info if isinstance(info, dict) else None


def held_by(db: Path) -> str:
    """'by `wattlens serve` (pid 12) at URL; read through it: `wattlens status --url URL`'."""
    info = current(db)
    if info is None:
        return "by another process; stop it, or read through its API with `--url`"
    who = f"by `wattlens {info.get('command') or '?'}` (pid {info.get('pid')})"
    url = info.get("url")
    if url:
        return f"{who} serving {url}; read through it: `wattlens status --url {url}`"
    return f"{who}, which serves no API; stop it to read the file"


def open_error(path: Path, e: Exception, read_only: bool) -> StoreError:
    """Why DuckDB would not open `path` (`e`), with what to do: the writer's name when locked."""
    text = str(e)
    if "not a valid DuckDB database" in text or "not a DuckDB" in text:
        return StoreError(
            f"{path} is not a DuckDB database; point the store at a new file or move this one away"
        )
    if "lock" in text.lower():
        return StoreError(
            f"{path} is open for writing {held_by(path)} (DuckDB allows one writer and "
            "no readers beside it)"
        )
    if "different configuration" in text:
        return StoreError(
            f"{path} is already open in this process in another mode; reuse that Store "
            "instead of opening the file twice"
        )
    if read_only and ("not exist" in text or "No such file" in text):
        return StoreError(f"{path} does not exist; run `wattlens serve` to create the store first")
    return StoreError(
        f"cannot open store {path} ({text.splitlines()[0]}); "
        "check the directory exists and is writable"
    )


__all__ = ["SUFFIX", "announce", "current", "held_by", "open_error", "withdraw", "writer_file"]
