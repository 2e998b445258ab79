"""The catalogue of report readers, found by scanning this package.

Every module directly inside ``extractors/`` is a reader: importing it
registers its functions (``extractors.base.register``). Adding a report type
is one new module here plus its datasets in pipeline.model.schema; no list
of readers to keep (a reader left out of a hand-kept list came out silently
empty). The sub-packages (``grids/``, ``text/``) hold the machinery readers
share and register nothing.
"""

from __future__ import annotations

import importlib
import pkgutil

import extractors
from extractors.base import REGISTRY, Registered

# Modules of this package that hold the registry itself, not a reader.
NOT_READERS = frozenset({"base", "catalogue"})


def reader_modules() -> list[str]:
    """Dotted names of every reader module, in name order."""
    return sorted(
        f"{extractors.__name__}.{info.name}"
        for info in pkgutil.iter_modules(extractors.__path__)
        if not info.ispkg and info.name not in NOT_READERS
    )


def all_extractors() -> list[Registered]:
    """Every registered extractor (importing the reader modules registers them)."""
    for name in reader_modules():
        importlib.import_module(name)
    # By name, not by registration: which module a process happened to import first
    # (a sandbox child, a Dask worker) must not change the row order of a dataset
    # that two extractors write to (report_statements).
    return sorted(REGISTRY.values(), key=lambda registered: registered.name)
