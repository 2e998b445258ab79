"""Imported once by the sandbox's fork server, so each document's worker starts warm.

Every worker forks from the server with these modules (and every registered
extractor) already imported; without this each document paid the imports again.
"""

from extractors.base import all_extractors
import pipeline.extract  # noqa: F401
import pipeline.pdf  # noqa: F401
from pipeline.sandbox import few_arenas_and_threads

all_extractors()
few_arenas_and_threads()
