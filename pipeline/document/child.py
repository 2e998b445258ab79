"""The function the sandbox runs in a document's child process, named apart from ``extract``.

The sandbox sends its child the function by reference, so the parent imports the
module that defines it: this one costs nothing to import, where ``extract`` would
load every extractor, PyMuPDF, OpenCV and the text stage in a process that runs
none of them. The child, forked from the fork server that preloaded ``extract``,
finds it already imported.
"""

from __future__ import annotations

from typing import Any

from pipeline.document.results import DocumentExtraction


def extract_pdf_in_child(*args: Any, **kwargs: Any) -> DocumentExtraction:
    """``extract.extract_pdf``."""
    from pipeline.document.extract import extract_pdf

    return extract_pdf(*args, **kwargs)
