"""The content-addressed store of every PDF a run or an extraction read: ``<cache>/pdfs/<sha256>.pdf``.

Rows name their source by sha256 (``source_sha256``), so the bytes behind any
release or ``extract --out`` folder stay findable after the file they were read
from was edited, moved or re-downloaded: the diff report crops both sides of
a change from here. Entries are written once, by copy, and never rewritten (same name, same bytes).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

STORE = "pdfs"


def stored_path(cache_dir: Path, sha256: str) -> Path:
    return Path(cache_dir) / STORE / f"{sha256}.pdf"


def store_pdf(path: Path, sha256: str, cache_dir: Path) -> Path | None:
    """Keep ``path`` (whose bytes hash to ``sha256``) in the store; the stored file, or None when the
    store cannot be written (a read-only cache costs the crops, never the run)."""
    target = stored_path(cache_dir, sha256)
    if target.is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # A copy, never a hard link: a sample edited in place would change the stored bytes too.
        digest = hashlib.sha256()
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".part-", suffix=".pdf", delete=False) as tmp:
            with open(path, "rb") as src:
                while block := src.read(1 << 20):
                    digest.update(block)
                    tmp.write(block)
        if digest.hexdigest() != sha256:  # the file changed since it was read: its bytes are not that source
            os.unlink(tmp.name)
            return None
        os.replace(tmp.name, target)
        return target
    except OSError:
        return None


def portable_path(path: Path, root: Path) -> str | None:
    """``path`` relative to ``root`` when inside it (a manifest must not hold this machine's paths), else None."""
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except (ValueError, OSError):
        return None


def without_local_roots(value: Any, roots: list[Path]) -> Any:
    """``value`` (a manifest: dicts, lists, strings) with the absolute ``roots`` removed from every
    string that names a path under them, so a manifest reads the same on every machine."""
    prefixes = sorted({str(Path(r).resolve()) + os.sep for r in roots}, key=len, reverse=True)

    def strip(item: Any) -> Any:
        if isinstance(item, str):
            for prefix in prefixes:
                item = item.replace(prefix, "")
            return item
        if isinstance(item, dict):
            return {k: strip(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [strip(v) for v in item]
        return item

    return strip(value)
