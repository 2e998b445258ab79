"""The shared vocabulary: parsed pages, records and their provenance.

Everything an extractor sees or returns is one of these plain, picklable
records, so extractors stay pure functions and pages can cross process
boundaries (Dask workers) unchanged.

Coordinates follow pdfplumber's convention: PDF points, origin at the top-left
of the page, ``bbox = (x0, top, x1, bottom)``.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class Char:
    """One glyph as the PDF draws it (text exactly as extracted, never cleaned)."""

    text: str
    bbox: BBox
    size: float = 0.0
    font: str = ""


@dataclass(frozen=True)
class Edge:
    """A ruling line segment: ``orientation`` is "h" or "v"."""

    orientation: str
    x0: float
    top: float
    x1: float
    bottom: float


@dataclass(frozen=True)
class Shape:
    """A vector drawing that is not a ruling line (ovals, discs, small squares).

    ``filled`` and ``stroked`` say how it is painted; ``kind`` is "curve" for
    paths with Bézier segments (ovals), "lines" for straight strokes that are
    not rulings (a drawn △ × ✓, whose ``segments`` are (x0, y0, x1, y1)), and
    "rect" / "poly" otherwise.
    """

    bbox: BBox
    kind: str
    filled: bool
    stroked: bool
    fill_gray: float | None = None
    segments: tuple[tuple[float, float, float, float], ...] = ()


@dataclass(frozen=True)
class ParsedPage:
    """One page, parsed once, as every extractor receives it.

    ``image`` is a grayscale rendering (numpy uint8 array, or a ``PngRaster``
    once the pipeline has OCRed the page; ``image_dpi``) and is only set for
    pages whose text comes from OCR: those go down the scan path.
    """

    doc_id: str
    source_sha256: str
    page_number: int  # 1-based, as a reader of the PDF counts
    width: float
    height: float
    chars: tuple[Char, ...] = ()
    edges: tuple[Edge, ...] = ()
    shapes: tuple[Shape, ...] = ()
    image: Any = None
    image_dpi: int = 0
    # Unsafe characters removed from the text layer (pipeline.reading.sanitize.TextFix), for corrections.
    text_fixes: tuple[Any, ...] = ()

    @property
    def has_text(self) -> bool:
        return any(not c.text.isspace() for c in self.chars)


_T = TypeVar("_T")


def per_page(fn: Callable[..., list[_T]]) -> Callable[..., list[_T]]:
    """``fn(page, ...)`` computed once per page object and arguments, for page readers several extractors share.

    A page is immutable, so an answer cannot go stale; it is kept as long as
    the page lives (keyed by identity: hashing a page would hash every glyph).
    Each caller gets its own list of the shared, immutable items.
    """
    memo: dict[int, dict[Any, list[_T]]] = {}
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def cached(page: ParsedPage, *args: Any, **kwargs: Any) -> list[_T]:
        answers = memo.get(id(page))
        if answers is None:
            answers = memo[id(page)] = {}
            weakref.finalize(page, memo.pop, id(page), None)
        # Keyed by every parameter's value, defaults filled in: f(page), f(page, 3.0) and
        # f(page, gap_factor=3.0) are one question, computed once.
        bound = signature.bind(page, *args, **kwargs)
        bound.apply_defaults()
        key = tuple(bound.arguments.items())[1:]
        if key not in answers:
            answers[key] = fn(page, *args, **kwargs)
        return list(answers[key])

    return cached


@dataclass(frozen=True)
class PngRaster:
    """A page raster kept PNG-compressed from OCR until an extractor reads it.

    A 300-dpi A4 scan is ~9 MB raw and ~1 MB as PNG: holding every page raw,
    a scan of ~380 pages filled the 3 GB budget. ``decode()`` gives the array
    back for the one page being read, which is released again after it.
    """

    png: bytes
    shape: tuple[int, ...]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def decode(self) -> Any:
        import cv2
        import numpy as np

        return cv2.imdecode(np.frombuffer(self.png, dtype=np.uint8), cv2.IMREAD_UNCHANGED)

    @classmethod
    def encode(cls, image: Any) -> "PngRaster":
        import cv2

        ok, png = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise ValueError("could not encode page raster")
        return cls(png.tobytes(), tuple(image.shape))


@dataclass(frozen=True)
class Provenance:
    """Where a record came from. ``run_id`` is stamped on at publish time."""

    doc_id: str
    source_sha256: str
    page: int
    bbox: BBox | None
    extractor: str
    extractor_version: str


@dataclass
class Record:
    """One row of one dataset, with its provenance."""

    dataset: str
    values: dict[str, Any]
    provenance: Provenance
    extra: dict[str, Any] = field(default_factory=dict)

    def as_row(self) -> dict[str, Any]:
        p = self.provenance
        row = {
            "doc_id": p.doc_id,
            "source_sha256": p.source_sha256,
            "page": p.page,
            "bbox": list(p.bbox) if p.bbox is not None else None,
            "extractor": p.extractor,
            "extractor_version": p.extractor_version,
        }
        row.update(self.values)
        return row


def union_bbox(boxes: list[BBox]) -> BBox:
    """The smallest box holding every box in ``boxes``."""
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


KEY_SEPARATOR = "|"


def record_key(values: tuple | list) -> str:
    """A row's key values as one string, the one id format every dataset uses to point at a row
    (consortium_id, places.record_key, corrections.record_key): ``<doc_id>|<row>`` for a matrix row."""
    return KEY_SEPARATOR.join("" if v is None or v != v else str(v) for v in values)
