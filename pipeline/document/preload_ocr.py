"""Imported by the fork server of ``nichiiki run`` after ``preload``: the OCR engine's code.

Every document that needs OCR otherwise imports rapidocr in its own worker (~0.4 s of CPU each,
most of it parsing rapidocr's model catalogue). ``nichiiki run`` spends over a second starting
Prefect before it sends the fork server a document, time in which the server is idle once
``preload`` is done, so the import costs a run nothing there. ``nichiiki extract`` sends its
first document as soon as the server is ready, so it does not preload this: a set of text PDFs
would wait for an engine it never uses.
"""

import gc

from pipeline.model.timeline import mark
from pipeline.reading.ocr import import_ppocr

import_ppocr()
mark("preload:ocr_imported")
gc.freeze()  # as in ``preload``: workers' collections need not walk the engine's modules
