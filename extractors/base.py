"""The extractor protocol and its registry.

An extractor is a pure function of parsed pages: it reads ``ParsedPage``
records and returns ``Record``s carrying provenance. It never opens files or
sockets. Most extractors work page by page; those whose tables continue over
pages (the ●/○ matrix) see the whole document's pages at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

from pipeline.records import BBox, ParsedPage, Provenance, Record


class Extractor(Protocol):
    name: str
    version: str
    datasets: tuple[str, ...]

    def __call__(self, pages: Sequence[ParsedPage]) -> list[Record]: ...


@dataclass(frozen=True)
class Registered:
    name: str
    version: str
    datasets: tuple[str, ...]
    fn: Callable[[Sequence[ParsedPage]], list[Record]]

    def __call__(self, pages: Sequence[ParsedPage]) -> list[Record]:
        return self.fn(pages)


REGISTRY: dict[str, Registered] = {}


def register(name: str, version: str, datasets: tuple[str, ...]):
    """Decorator: add ``fn(pages) -> records`` to the registry under ``name``."""

    def wrap(fn: Callable[[Sequence[ParsedPage]], list[Record]]) -> Callable[[Sequence[ParsedPage]], list[Record]]:
        if name in REGISTRY:
            raise ValueError(f"extractor {name!r} registered twice")
        REGISTRY[name] = Registered(name, version, datasets, fn)
        return fn

    return wrap


def provenance(page: ParsedPage, bbox: BBox | None, extractor: str, version: str) -> Provenance:
    return Provenance(
        doc_id=page.doc_id,
        source_sha256=page.source_sha256,
        page=page.page_number,
        bbox=None if bbox is None else tuple(round(v, 2) for v in bbox),
        extractor=extractor,
        extractor_version=version,
    )


def all_extractors() -> list[Registered]:
    """Every registered extractor (importing the modules registers them)."""
    # Importing a module registers its extractors; the list is the whole catalogue.
    import extractors.matrix  # noqa: F401
    import extractors.statements  # noqa: F401
    import extractors.notices  # noqa: F401
    import extractors.sections  # noqa: F401
    import extractors.tables  # noqa: F401
    import extractors.mark_tables  # noqa: F401
    import extractors.budget  # noqa: F401
    import extractors.case_studies  # noqa: F401
    import extractors.expert_opinions  # noqa: F401
    import extractors.tours  # noqa: F401
    import extractors.tour_checks  # noqa: F401

    # By name, not by registration: which module a process happened to import first
    # (a sandbox child, a Dask worker) must not change the row order of a dataset
    # that two extractors write to (report_statements).
    return sorted(REGISTRY.values(), key=lambda registered: registered.name)
