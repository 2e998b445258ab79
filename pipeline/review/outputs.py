"""Output folders read back as frames: ``nichiiki extract`` folders, releases, goldens.

What ``nichiiki diff`` and the golden check compare (pipeline.review.diff is
the pure comparison; this is its I/O).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pipeline.publish.writer import read_manifest
from pipeline.review.diff import OutputDiff, diff_frames


class OutputNotFound(FileNotFoundError):
    """An output folder or release that holds no datasets."""


# Hand-reviewed cross-checks kept beside the goldens that are not datasets; each is read by its
# own test (consortia_places: tests/test_text_stage.py), never written or compared here.
REVIEW_FILES = frozenset({"consortia_places", "known_misreadings"})
def load_goldens(goldens: Path) -> dict[str, pd.DataFrame]:
    """Goldens back to frames, one per dataset across documents."""
    parts: dict[str, list[dict]] = {}
    for path in sorted(Path(goldens).glob("*/*.json")):
        if path.stem in REVIEW_FILES:
            continue
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from exc
        if not isinstance(rows, list):
            raise ValueError(f"{path}: expected a JSON list of rows")
        parts.setdefault(path.stem, []).extend(rows)
    return {name: pd.DataFrame(rows) for name, rows in parts.items() if rows}



def resolve_output(path: Path) -> Path:
    """The folder holding the datasets: ``path`` itself (parquet files, or goldens as
    ``<doc_id>/<dataset>.json``), or ``path/current`` for an outputs root."""
    path = Path(path)
    if not path.exists():
        raise OutputNotFound(f"{path}: no such output folder")
    if not path.is_dir():
        raise OutputNotFound(f"{path}: not a folder (give an output folder or a release folder)")
    if not any(path.glob("*.parquet")) and (path / "current").exists():
        return (path / "current").resolve()
    if not any(path.glob("*.parquet")) and not _is_goldens(path):
        raise OutputNotFound(f"{path}: no <dataset>.parquet files in this folder")
    return path.resolve()


def _is_goldens(folder: Path) -> bool:
    return not any(folder.glob("*.parquet")) and any(folder.glob("*/*.json"))


def load_output(path: Path) -> dict[str, pd.DataFrame]:
    folder = resolve_output(path)
    if _is_goldens(folder):
        try:
            return load_goldens(folder)
        except ValueError as exc:
            raise OutputNotFound(str(exc)) from exc
    frames = {}
    for file in sorted(folder.glob("*.parquet")):
        try:
            frames[file.stem] = pd.read_parquet(file)
        except Exception as exc:  # noqa: BLE001 — name the file, whatever pyarrow says
            raise OutputNotFound(f"{file}: not a readable parquet file ({type(exc).__name__}: {exc})") from exc
    return frames


def diff_outputs(old_dir: Path, new_dir: Path) -> OutputDiff:
    """Diff two output folders (``nichiiki extract --out`` folders or releases)."""
    old_folder, new_folder = resolve_output(old_dir), resolve_output(new_dir)
    result = diff_frames(load_output(old_folder), load_output(new_folder), _label(old_folder), _label(new_folder))
    result.old_dir, result.new_dir = old_folder, new_folder
    return result


def _label(folder: Path) -> str:
    run_id = read_manifest(folder, missing_ok=True).get("run_id")
    return f"{folder} (run {run_id})" if run_id and run_id != folder.name else str(folder)


def previous_release(outputs_dir: Path) -> tuple[Path, Path]:
    """(previous, current) releases under ``outputs_dir``.

    Previous is the current manifest's ``previous_run_id`` when that release
    still exists, else the release created just before the current one.
    """
    outputs_dir = Path(outputs_dir)
    link = outputs_dir / "current"
    if not link.exists():
        raise OutputNotFound(f"{outputs_dir}: no current release (outputs/current); run `make run` first or give OLD and NEW")
    current = link.resolve()
    releases = outputs_dir / "releases"
    manifest = read_manifest(current, missing_ok=True)
    prev_id = manifest.get("previous_run_id")
    if prev_id and (releases / prev_id).is_dir():
        return releases / prev_id, current

    def created(folder: Path) -> str:
        return str(read_manifest(folder, missing_ok=True).get("created_at") or "")

    current_created = created(current)
    earlier = [
        r for r in releases.iterdir()
        if r.is_dir() and not r.name.startswith(".") and r.resolve() != current and (r / "manifest.json").is_file()
        and (created(r), r.name) < (current_created, current.name)
    ] if releases.is_dir() else []
    if not earlier:
        raise OutputNotFound(f"{outputs_dir}: release {current.name} is the only one; nothing to compare it with")
    return max(earlier, key=lambda r: (created(r), r.name)), current
