"""nichiiki: Japanese government PDF reports to validated open data with provenance."""

from pathlib import Path

__version__ = "0.1.0"

# The checkout (or install prefix) holding this package: the default home of
# .cache, docs and samples, and the root local paths are written relative to.
REPO_ROOT = Path(__file__).resolve().parent.parent
# Content-keyed caches (OCR answers by image, fetched PDFs, results) unless a run names another folder.
CACHE_DIR = REPO_ROOT / ".cache"
