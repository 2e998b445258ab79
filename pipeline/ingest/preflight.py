"""What a run can check before it starts anything: the registry, the input paths, the output folder.

``nichiiki validate`` (= ``nichiiki run --dry-run``) prints these checks, and
``nichiiki run`` makes them before a Prefect server starts, so a misspelled
key or a folder that cannot be written costs a second, not a server start
and a whole extraction. Nothing here imports Prefect or pandas.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.ingest.registry import RegistryError, SourceEntry, load_registry
from pipeline.ingest.settings import Settings


@dataclass
class Preflight:
    """``errors`` stop a run before it starts; ``warnings`` name documents that will fail or fall back."""

    entries: list[SourceEntry] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def one_line(message: object) -> str:
    """A message on one line (YAML and pydantic errors span several)."""
    return " ".join(str(message).split())


def folder_problem(path: Path, purpose: str) -> str | None:
    """Why ``path`` cannot be used as a folder to write into, or None.

    A missing folder is fine when it can be created (the run creates it);
    an existing one is tried with a real temporary file, because
    ``os.access`` says yes to root on a read-only filesystem.
    """
    path = Path(path)
    probe = path
    while not probe.exists():
        if probe.is_symlink():
            return f"{purpose} {path}: {probe} is a dangling symlink"
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        return f"{purpose} {path}: {probe} is not a folder"
    if probe != path:
        return None if os.access(probe, os.W_OK | os.X_OK) else f"{purpose} {path}: cannot create it in {probe} (permission denied)"
    try:
        fd, name = tempfile.mkstemp(prefix=".nichiiki-write-test-", dir=path)
    except OSError as exc:
        return f"{purpose} {path} is not writable: {exc.strerror or exc}"
    os.close(fd)
    os.unlink(name)
    return None


def check_run(settings: Settings) -> Preflight:
    """Everything about ``settings`` that can be known without reading a PDF."""
    result = Preflight()
    try:
        result.entries = load_registry(settings.sources)
    except RegistryError as exc:
        result.errors.append(one_line(exc))
    for purpose, folder in (("output folder", settings.outputs), ("cache folder", settings.cache_dir)):
        problem = folder_problem(folder, purpose)
        if problem:
            result.errors.append(problem)
    for entry in result.entries:
        sample_found = entry.sample is not None and entry.sample.is_file()
        if entry.url and not settings.fetch:
            if not sample_found:
                result.warnings.append(
                    f"{entry.id}: only a url ({entry.url}) and downloads are off, so it will fail: pass --fetch (or NICHIIKI_FETCH=true)"
                )
        elif entry.url is None and not sample_found:
            result.warnings.append(f"{entry.id}: sample {entry.sample} not found, so it will fail")
    return result
