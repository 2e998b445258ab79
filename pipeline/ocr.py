"""Tesseract OCR over page or cell images, returning boxes in PDF points.

Tesseract runs as a subprocess (Debian's tesseract-ocr + tesseract-ocr-jpn)
and answers in TSV, which keeps word boxes and confidences. The whole call is
cached by the image's bytes, so a re-run of an unchanged scan costs nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pipeline.records import Char, ParsedPage

DEFAULT_LANG = "jpn"
# Page segmentation: 3 = automatic layout (pages); 6 = one block; 7 = one line (cells).
PSM_PAGE = 3
PSM_BLOCK = 6
PSM_LINE = 7
OCR_TIMEOUT_SECONDS = 120


class OcrUnavailable(RuntimeError):
    """Tesseract or its Japanese data is not installed (make setup installs both)."""


@dataclass(frozen=True)
class OcrWord:
    text: str
    left: int
    top: int
    width: int
    height: int
    confidence: float  # 0..1


def ocr_words(
    image: np.ndarray,
    lang: str = DEFAULT_LANG,
    psm: int = PSM_PAGE,
    cache_dir: Path | None = None,
) -> list[OcrWord]:
    """OCR a grayscale image; word boxes are in the image's pixels."""
    ok, png = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("could not encode image for OCR")
    data = png.tobytes()
    key = hashlib.sha256(data + f"|{lang}|{psm}|{tesseract_version()}".encode()).hexdigest()
    cached = _cache_path(cache_dir, key)
    if cached is not None and cached.exists():
        return [OcrWord(**w) for w in json.loads(cached.read_text())]
    words = _run_tesseract(data, lang, psm)
    if cached is not None:
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps([w.__dict__ for w in words], ensure_ascii=False))
            tmp.replace(cached)
        except OSError:  # a full cache disk costs a re-OCR next time, never this document
            tmp.unlink(missing_ok=True)
    return words


def ocr_text(image: np.ndarray, lang: str = DEFAULT_LANG, psm: int = PSM_LINE, cache_dir: Path | None = None) -> tuple[str, float]:
    """OCR a small image (a table cell) to one string and its mean confidence."""
    words = ocr_words(image, lang=lang, psm=psm, cache_dir=cache_dir)
    if not words:
        return "", 0.0
    text = "".join(w.text for w in words)
    confidence = sum(w.confidence for w in words) / len(words)
    return text, confidence


def ocr_page_chars(page: ParsedPage, cache_dir: Path | None = None) -> tuple[Char, ...]:
    """Text for an image-only page, as ``Char`` records in PDF points.

    Tesseract reports words (for Japanese, usually single characters or short
    runs); each becomes one Char whose box is the word's box.
    """
    if page.image is None:
        return page.chars
    scale = 72.0 / page.image_dpi
    chars = []
    for w in ocr_words(page.image, psm=PSM_PAGE, cache_dir=cache_dir):
        bbox = (w.left * scale, w.top * scale, (w.left + w.width) * scale, (w.top + w.height) * scale)
        chars.append(Char(text=w.text, bbox=bbox, size=w.height * scale, font=f"ocr:{w.confidence:.2f}"))
    return tuple(chars)


def tesseract_version() -> str:
    exe = shutil.which("tesseract")
    if exe is None:
        raise OcrUnavailable("tesseract is not installed (run `make setup`)")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    return (out.stdout or out.stderr).splitlines()[0].strip()


def _run_tesseract(png: bytes, lang: str, psm: int) -> list[OcrWord]:
    exe = shutil.which("tesseract")
    if exe is None:
        raise OcrUnavailable("tesseract is not installed (run `make setup`)")
    env = dict(os.environ, OMP_THREAD_LIMIT="1")  # we parallelise across pages ourselves
    proc = subprocess.run(
        [exe, "stdin", "stdout", "-l", lang, "--psm", str(psm), "tsv"],
        input=png,
        capture_output=True,
        timeout=OCR_TIMEOUT_SECONDS,
        env=env,
    )
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip()
        if "Failed loading language" in message:
            raise OcrUnavailable(f"tesseract has no '{lang}' data (install tesseract-ocr-{lang})")
        raise RuntimeError(f"tesseract failed: {message}")
    words = []
    reader = csv.DictReader(io.StringIO(proc.stdout.decode("utf-8", errors="replace")), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in reader:
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        words.append(
            OcrWord(
                text=text,
                left=int(row["left"]),
                top=int(row["top"]),
                width=int(row["width"]),
                height=int(row["height"]),
                confidence=max(0.0, float(row["conf"])) / 100.0,
            )
        )
    return words


def _cache_path(cache_dir: Path | None, key: str) -> Path | None:
    if cache_dir is None:
        return None
    return Path(cache_dir) / "ocr" / key[:2] / f"{key}.json"
