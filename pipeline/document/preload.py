"""Imported once by the sandbox's fork server, so each document's worker starts warm.

Every worker forks from the server with these modules (and every registered
extractor) already imported, and with the gazetteer (and the place resolver's indexes of it), Sudachi and the
look-alike font already loaded, the cleaning tables read and the pandera schemas built: without this
each document paid the imports, ~1 s to read the gazetteer, ~1 s to parse
kyujipy's table and ~1.6 s to build the schemas again (the cold benchmark spent ~100 s of its 240 s there).
Forked workers share the loaded models' memory.

GiNZA is not loaded here: a document loads it only when one of its sentences may hold a place
no other means finds (``PlaceResolver.entity_could_add``), which with places read from the
sub-words of address tokens is rare (one OCR'd document of the 19 samples and real PDFs), so
loading it for every run (~0.8 s of CPU with spaCy's import, ~200 MB) cost more than loading it
in the few documents that need it.
"""

import gc
import os

from pipeline.model.timeline import mark

mark("preload:start")

# One BLAS thread per worker, set before numpy loads OpenBLAS: documents, not matrix products, run
# in parallel, and a second thread per worker only contends for the same cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from extractors.catalogue import all_extractors
import pipeline.document.child  # noqa: F401  (the function each worker runs)
import pipeline.document.extract  # noqa: F401
import pipeline.reading.pdf  # noqa: F401
from pipeline.reading.sandbox import prepare_worker_process
from pipeline.model.schema import DATASETS

all_extractors()
prepare_worker_process()
mark("preload:imported")
# Building the pandera schemas imports much of pandera (~1.6 s, once per process).
for spec in DATASETS.values():
    spec.columns

mark("preload:schemas_built")
try:
    from pipeline.text.gazetteer import load_gazetteer
    from pipeline.text.language import sudachi
    from pipeline.text.lookalike import on_readings, prepare_glyphs
    from pipeline.text.normalize import equivalent_unified_ideographs, kyujitai_table
    from pipeline.text.stage import place_resolver

    load_gazetteer()
    place_resolver()
    kyujitai_table()  # kyujipy parses its CSON table: ~1 s
    equivalent_unified_ideographs()
    on_readings()
    sudachi()
    prepare_glyphs()
except Exception:  # noqa: BLE001 — workers then load them on first use, as without a fork server
    pass

mark("preload:tables_loaded")
# The loaded models are millions of objects: left to the collector, every
# worker's first full collection walked them all (~0.7 s a document) and copied
# the pages it touched. Frozen, the collector ignores them.
gc.freeze()
