"""Paths built from names that came from outside (doc ids, URLs, run ids).

Nothing the pipeline writes may land outside the folder it was meant for, so
every such name goes through ``safe_name`` (a single path component of plain
characters) and every joined path through ``inside`` (resolved, then checked to
still be below the root, which also defeats symlinks pointing elsewhere).
"""

from __future__ import annotations

import re
from pathlib import Path

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


class UnsafePath(ValueError):
    """A name or path would escape the folder it belongs in."""


def safe_name(name: str, what: str = "name") -> str:
    """Return ``name`` if it is one harmless path component, else raise ``UnsafePath``."""
    if not isinstance(name, str) or not _SAFE_NAME.match(name) or ".." in name:
        raise UnsafePath(f"{what} {name!r} is not a safe file name (letters, digits, _ . - only; no '..')")
    return name


def inside(root: Path, *parts: str) -> Path:
    """``root / parts`` resolved, refusing any result outside ``root``."""
    base = Path(root).resolve()
    for part in parts:
        if Path(part).is_absolute():
            raise UnsafePath(f"absolute path {part!r} not allowed under {base}")
    target = base.joinpath(*parts).resolve()
    if target != base and base not in target.parents:
        raise UnsafePath(f"{'/'.join(parts)!r} escapes {base}")
    return target
