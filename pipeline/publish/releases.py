"""The releases of an output folder: list them, prune old ones (``nichiiki releases list|prune``).

Release folders are named by run id, which starts with the UTC time of the
run, so name order is age order. Pruning holds the output folder's lock,
so it never races a publish, and never removes the release ``current``
points at, whatever ``keep`` says.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline.publish.writer import RELEASES, current_release, output_lock


@dataclass(frozen=True)
class ReleaseInfo:
    run_id: str
    path: Path
    current: bool
    published_at: str | None
    rows: int | None
    failures: int | None


def _info(path: Path, current: Path | None) -> ReleaseInfo:
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    outputs = manifest.get("outputs") or {}
    rows = sum(int(o.get("rows", 0)) for o in outputs.values()) if outputs else None
    failures = len(manifest["failures"]) if isinstance(manifest.get("failures"), list) else None
    return ReleaseInfo(path.name, path, current is not None and path.resolve() == current, manifest.get("published_at"), rows, failures)


def list_releases(outputs_dir: Path) -> list[ReleaseInfo]:
    """Complete releases, newest first (temporary folders of unfinished runs are left out)."""
    folder = Path(outputs_dir) / RELEASES
    if not folder.is_dir():
        return []
    current = current_release(outputs_dir)
    current = current.resolve() if current else None
    paths = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return [_info(p, current) for p in sorted(paths, key=lambda p: p.name, reverse=True)]


def releases_to_prune(releases: list[ReleaseInfo], keep: int) -> list[ReleaseInfo]:
    """All but the ``keep`` newest, never the current one."""
    if keep < 0:
        raise ValueError("keep must be 0 or more")
    return [r for r in releases[keep:] if not r.current]


def prune_releases(outputs_dir: Path, keep: int, dry_run: bool = False, lock_timeout: float = 30.0) -> list[ReleaseInfo]:
    """Remove all releases but the ``keep`` newest and the current one; return what was (or would be) removed."""
    if dry_run:
        return releases_to_prune(list_releases(outputs_dir), keep)
    with output_lock(Path(outputs_dir), lock_timeout):
        doomed = releases_to_prune(list_releases(outputs_dir), keep)
        for release in doomed:
            shutil.rmtree(release.path)
    return doomed
