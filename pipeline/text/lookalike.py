"""How likely one kanji is to be printed or read in place of another.

Three general signals, none a list of known pairs:

- shape: both characters are rendered with a Japanese font (MuPDF's built-in
  Droid Sans Fallback, so no system font is needed), blurred, and compared by
  correlation; blurring makes the score about stroke layout rather than exact
  pixels, which is what an OCR engine or a tired typist confuses (島/畠, 崎/埼);
- sound: the two share an on-reading in Unihan's kJapaneseOn (賀/河 both KA,
  庁/町 both CHOU): what a transcriber typing from dictation or an IME confuses;
- administrative suffix: 市/町/村/区 stand for one another when a name is
  retyped (towns become cities through mergers); documented, generic, small.
"""

from __future__ import annotations

import bz2
import io
import pickle
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.text.gazetteer import default_cache_dir, write_pickle
from pipeline.text.normalize import UNICODE_DATA_DIRS

GLYPH_SIZE = 64
BLUR_SIGMA = 3.0
GLYPH_GRID = 24
# Correlation of blurred renderings: unrelated kanji land around 0.3-0.6,
# classic look-alikes above 0.75. Mapped linearly onto 0..1 in between.
SHAPE_FLOOR, SHAPE_CEIL = 0.5, 0.95
SHARED_READING = 0.75
SUFFIX_SWAP = 0.6
MUNICIPAL_SUFFIXES = "市町村区"


@lru_cache(maxsize=1)
def _font():  # type: ignore[no-untyped-def]
    import pymupdf
    from PIL import ImageFont

    # MuPDF ships this CJK font inside the wheel: the same glyphs on every machine.
    return ImageFont.truetype(io.BytesIO(pymupdf.Font("japan").buffer), GLYPH_SIZE)


_glyphs: dict[str, np.ndarray] = {}
_glyphs_loaded = False
_glyphs_dirty = False


def _glyph_cache_path() -> Path:
    # Keyed by the font's bytes too: another MuPDF build's font draws other glyphs.
    return default_cache_dir() / f"glyphs-{GLYPH_SIZE}-{BLUR_SIGMA}-{GLYPH_GRID}-{_font_digest()}.pickle"


@lru_cache(maxsize=1)
def _font_digest() -> str:
    import hashlib

    import pymupdf

    return hashlib.sha256(pymupdf.Font("japan").buffer).hexdigest()[:16]


def _load_glyphs() -> None:
    global _glyphs_loaded
    _glyphs_loaded = True
    try:
        with open(_glyph_cache_path(), "rb") as fh:
            _glyphs.update(pickle.load(fh))
    except (OSError, pickle.UnpicklingError, EOFError):
        pass


def prepare_glyphs() -> None:
    """Load the font and render once now, for processes forked from this one.

    A sandbox's fork server calls it, so that every document's child starts with them instead of
    paying ~20 ms for the font and the first rendering, and hashing the font (the cache file's
    name) again. The glyph cache is left to the children: they read what earlier documents
    wrote, and a run that reads no document (nothing changed) does not load it (~0.1 s for the
    6,600 glyphs the corpus leaves).
    """
    _font()
    _font_digest()
    _render("市")  # the first rendering initialises the font's glyph cache and the imports behind it


def save_glyph_cache() -> None:
    """Keep rendered glyphs for the next process (called by the stage after a document)."""
    global _glyphs_dirty
    if not _glyphs_dirty:
        return
    if write_pickle(_glyph_cache_path(), dict(_glyphs)):
        _glyphs_dirty = False


def glyph(ch: str) -> np.ndarray:
    """The character's blurred rendering, as a unit vector on a coarse grid."""
    global _glyphs_dirty
    if not _glyphs_loaded:
        _load_glyphs()
    vector = _glyphs.get(ch)
    if vector is None:
        vector = _render(ch)
        _glyphs[ch] = vector
        _glyphs_dirty = True
    return vector


def _render(ch: str) -> np.ndarray:
    import cv2
    from PIL import Image, ImageDraw

    image = Image.new("L", (GLYPH_SIZE, GLYPH_SIZE), 0)
    ImageDraw.Draw(image).text((0, 0), ch, fill=255, font=_font())
    ink = np.asarray(image, dtype=np.float32) / 255
    blurred = cv2.GaussianBlur(ink, (0, 0), BLUR_SIGMA)
    # The blur removed detail finer than the grid: a coarse grid keeps the cache small.
    coarse = cv2.resize(blurred, (GLYPH_GRID, GLYPH_GRID), interpolation=cv2.INTER_AREA).ravel()
    coarse -= coarse.mean()
    norm = float(np.linalg.norm(coarse))
    return (coarse / norm if norm > 0 else coarse).astype(np.float32)


@lru_cache(maxsize=65536)
def shape_similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    corr = float(glyph(a) @ glyph(b))
    return float(np.clip((corr - SHAPE_FLOOR) / (SHAPE_CEIL - SHAPE_FLOOR), 0.0, 1.0))


_KJAPANESE_ON = re.compile(rb"^U\+([0-9A-F]{4,6})\tkJapaneseOn\t([^\n]*)$", re.MULTILINE)


@lru_cache(maxsize=1)
def on_readings() -> dict[str, frozenset[str]]:
    """kJapaneseOn from Unihan_Readings (Debian unicode-data), cached as a pickle."""
    cache = _readings_cache_path()
    if cache.exists():
        try:
            with open(cache, "rb") as fh:
                return pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError):
            pass
    readings = _read_readings()
    write_pickle(cache, readings)
    return readings


def cache_on_readings() -> None:
    """Build the readings' cache file if it is missing, without keeping the table in this process."""
    cache = _readings_cache_path()
    if not cache.exists():
        write_pickle(cache, _read_readings())


def _readings_cache_path() -> Path:
    stat = _readings_file().stat()
    return default_cache_dir() / f"kJapaneseOn-{stat.st_size}-{int(stat.st_mtime)}.pickle"


def _read_readings() -> dict[str, frozenset[str]]:
    source = _readings_file()
    data = bz2.decompress(source.read_bytes()) if source.suffix == ".bz2" else source.read_bytes()
    # One pattern over the whole file: a Python loop over its ~90,000 lines cost more than the decompression.
    return {
        chr(int(code, 16)): frozenset(value.decode("utf-8").split())
        for code, value in _KJAPANESE_ON.findall(data)
    }


def _readings_file() -> Path:
    for directory in UNICODE_DATA_DIRS:
        for name in ("Unihan_Readings.txt.bz2", "Unihan_Readings.txt"):
            if (directory / name).exists():
                return directory / name
    raise FileNotFoundError("Unihan_Readings.txt(.bz2) not found: install the Debian package unicode-data")


def sound_similarity(a: str, b: str) -> float:
    table = on_readings()
    shared = table.get(a, frozenset()) & table.get(b, frozenset())
    return SHARED_READING if shared else 0.0


def char_similarity(a: str, b: str) -> float:
    """0..1: how plausible it is that ``a`` was printed where ``b`` was meant."""
    if a == b:
        return 1.0
    if a in MUNICIPAL_SUFFIXES and b in MUNICIPAL_SUFFIXES:
        return SUFFIX_SWAP
    # Independent signals: either one alone makes the confusion plausible (noisy-or).
    return 1.0 - (1.0 - shape_similarity(a, b)) * (1.0 - sound_similarity(a, b))


def string_similarity(damaged: str, official: str) -> float:
    """Product of per-character similarities; 0 when lengths differ."""
    if len(damaged) != len(official):
        return 0.0
    score = 1.0
    for a, b in zip(damaged, official):
        if a != b:
            score *= char_similarity(a, b)
            if score == 0.0:
                break
    return score
