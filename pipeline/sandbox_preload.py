"""Imported once by the sandbox's fork server, so each document's worker starts warm.

Every worker forks from the server with these modules (and every registered
extractor) already imported, and with the gazetteer, Sudachi and GiNZA already
loaded: without this each document paid the imports, ~1 s to read the
gazetteer and ~3 s to load GiNZA again (the cold benchmark spent 90 s of its
240 s there). Forked workers share the loaded models' memory.
"""

from extractors.base import all_extractors
import pipeline.extract  # noqa: F401
import pipeline.pdf  # noqa: F401
from pipeline.sandbox import few_arenas_and_threads

all_extractors()
few_arenas_and_threads()

try:
    from pipeline.nlp.gazetteer import load_gazetteer
    from pipeline.nlp.language import ginza_ner, sudachi

    load_gazetteer()
    sudachi()
    ginza_ner()
except Exception:  # noqa: BLE001 — workers then load them on first use, as without a fork server
    pass
