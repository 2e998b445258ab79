"""The extractor registry: ``register`` a reader, stamp its records with ``provenance``.

An extractor is a pure function of parsed pages: it reads ``ParsedPage``
records and returns ``Record``s carrying provenance. It never opens files or
sockets. Most extractors work page by page; those whose tables continue over
pages (the ●/○ matrix) see the whole document's pages at once.
extractors.catalogue finds the reader modules; nothing lists them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from pipeline.model.records import BBox, ParsedPage, Provenance, Record


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
