"""The extractor registry: ``register`` a reader, stamp its records with ``provenance``.

An extractor is a pure function of parsed pages: it reads ``ParsedPage``
records and returns ``Record``s carrying provenance. It never opens files or
sockets. Most extractors work page by page; those whose tables continue over
pages (the ●/○ matrix) see the whole document's pages at once.
extractors.catalogue finds the reader modules; nothing lists them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from pipeline import CACHE_DIR
from pipeline.model.records import BBox, ParsedPage, Provenance, Record


@dataclass
class Context:
    """What a reader may use besides its pages; one per document.

    ``ocr_cache_dir``: where OCR answers are cached by image (None: nowhere).
    ``memo``: what one reader computes and another reader of the same
    document reuses (the running text, read by sections and notices).
    """

    ocr_cache_dir: Path | None = CACHE_DIR
    memo: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Registered:
    name: str
    version: str
    datasets: tuple[str, ...]
    fn: Callable[..., list[Record]]
    with_context: bool = False  # the reader takes ``context=`` (declared at registration)

    def __call__(self, pages: Sequence[ParsedPage], context: Context | None = None) -> list[Record]:
        if self.with_context:
            return self.fn(pages, context=context or Context())
        return self.fn(pages)


REGISTRY: dict[str, Registered] = {}


def register(name: str, version: str, datasets: tuple[str, ...], *, with_context: bool = False):
    """Decorator: add ``fn(pages) -> records`` (``fn(pages, context=...)`` ``with_context``) to the registry under ``name``."""

    def wrap(fn: Callable[..., list[Record]]) -> Callable[..., list[Record]]:
        if name in REGISTRY:
            raise ValueError(f"extractor {name!r} registered twice")
        REGISTRY[name] = Registered(name, version, datasets, fn, with_context)
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
