"""Facts about a PDF file, apart from the parser: the processes that only receive them
(the command, the flow) need not import PyMuPDF to read them back from a child."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.reading.sanitize import TextFix


@dataclass(frozen=True)
class DocumentInfo:
    """Facts about the file itself, for the ``documents`` dataset."""

    pages: int
    producer: str
    creator: str
    title: str
    needs_ocr: bool
    warnings: tuple[str, ...] = ()
    fixes: tuple[TextFix, ...] = ()  # unsafe characters removed from the metadata
