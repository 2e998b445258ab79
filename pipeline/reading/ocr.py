"""OCR of page and cell images, returning boxes in the image's pixels or PDF points.

Two engines sit behind one call, ``ocr_words``:

- ``ppocr`` (the default): PP-OCR's detection and recognition networks through
  rapidocr on onnxruntime (CPU). The ONNX models ship inside the rapidocr
  wheel and are loaded by path, so nothing is downloaded at run time. On the
  bundled scans it reads Japanese with about a quarter of tesseract's
  character errors (benchmarks/text_stage.json).
- ``tesseract``: Debian's tesseract-ocr + tesseract-ocr-jpn as a subprocess,
  kept for what it still reads better (vertical text, ``jpn_vert``).

Every answer is cached by content: the image's pixels, the engine, its
model files' digest and every parameter that changes the answer. A cache
entry written by another engine or model can never be read back.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import os
import shutil
import subprocess
import threading
import unicodedata
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pipeline.model.records import Char, ParsedPage

DEFAULT_ENGINE = "ppocr"
DEFAULT_LANG = "jpn"
# Tesseract page segmentation: 3 = automatic layout (pages); 6 = one block; 7 = one line (cells).
PSM_PAGE = 3
PSM_BLOCK = 6
PSM_LINE = 7
OCR_TIMEOUT_SECONDS = 120
# onnxruntime threads, fixed whatever the machine has: the same count on
# every machine keeps floating-point reductions in the same order. The run
# parallelises across documents, so one OCR call needs no more than this.
PPOCR_THREADS = 1
# Gray levels darker than this are ink when a glyph's box is narrowed to its strokes.
INK_LEVEL = 128
# PP-OCR's parameters that change what it reads (they go into the cache key).
PPOCR_PARAMS: dict[str, Any] = {
    # Pages are upright (rotation is the deskew step's job); the 0/180°
    # classifier only ever turns short Japanese lines upside down.
    "Global.use_cls": False,
    "Global.text_score": 0.5,
    # Pages are rendered at 300 dpi; recognition reads the detector's crops
    # of an image whose longer side is at most this many pixels.
    "Global.max_side_len": 4000,
    "Det.limit_side_len": 1536,
    "Det.limit_type": "max",
    "Det.box_thresh": 0.5,
    "Det.unclip_ratio": 1.6,
}


class OcrUnavailable(RuntimeError):
    """The OCR engine cannot run here (a package or its data is missing; `make setup` installs both)."""


@dataclass(frozen=True)
class OcrWord:
    text: str
    left: int
    top: int
    width: int
    height: int
    confidence: float  # 0..1


@dataclass(frozen=True)
class EngineId:
    """What identifies an engine's answers: name, model version and the parameters that change them."""

    name: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        """For provenance: ``ppocr PP-OCRv6_det_small+PP-OCRv6_rec_small (rapidocr 3.10.0, sha256 …)``."""
        return f"{self.name} {self.model}"

    def key(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, ensure_ascii=False)


def ocr_words(
    image: np.ndarray,
    lang: str = DEFAULT_LANG,
    psm: int = PSM_PAGE,
    cache_dir: Path | None = None,
    engine: str = DEFAULT_ENGINE,
) -> list[OcrWord]:
    """OCR a grayscale image; boxes are in the image's pixels.

    ``ppocr`` answers one box per glyph (from the recogniser's CTC steps),
    ``tesseract`` one per word; ``lang`` and ``psm`` are tesseract's only.
    """
    ident = engine_id(engine, lang=lang, psm=psm)
    if blank(image):
        return []  # PP-OCR took 0.7 s to find nothing on a blank A4 page
    key = image_key(image, ident.key())
    cached = _cache_path(cache_dir, key)
    if cached is not None and cached.exists():
        try:
            return [OcrWord(**w) for w in json.loads(cached.read_text(encoding="utf-8"))]
        except (ValueError, TypeError):
            pass  # a damaged entry is read again
    if engine == "ppocr":
        words = _run_ppocr(image)
    elif engine == "tesseract":
        ok, png = cv2.imencode(".png", image)
        if not ok:
            raise ValueError("could not encode image for OCR")
        words = _run_tesseract(png.tobytes(), lang, psm)
    else:
        raise ValueError(f"unknown OCR engine {engine!r} (ppocr or tesseract)")
    if cached is not None:
        tmp = cached.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps([asdict(w) for w in words], ensure_ascii=False), encoding="utf-8")
            tmp.replace(cached)
        except OSError:  # a full cache disk costs a re-OCR next time, never this document
            tmp.unlink(missing_ok=True)
    return words


def blank(image: np.ndarray) -> bool:
    """True when every pixel has one gray level: there is no text, rule or fill to read."""
    return image.size == 0 or int(image.min()) == int(image.max())


def image_key(image: np.ndarray, engine_key: str) -> str:
    """The OCR cache key of ``image`` read by the engine ``engine_key`` names: its pixels' own hash.

    The pixels (shape, type and values), not an encoding of them: a PNG's bytes depend on the
    zlib that compressed them, so the same page could miss the cache on another machine, and
    encoding a 300-dpi page took longer than hashing it.
    """
    pixels = np.ascontiguousarray(image)
    digest = hashlib.sha256(f"{pixels.shape}|{pixels.dtype.str}|".encode())
    digest.update(memoryview(pixels).cast("B"))
    digest.update(b"|" + engine_key.encode())
    return digest.hexdigest()


def ocr_text(
    image: np.ndarray, lang: str = DEFAULT_LANG, psm: int = PSM_LINE, cache_dir: Path | None = None, engine: str = DEFAULT_ENGINE
) -> tuple[str, float]:
    """OCR a small image (a table cell) to one string and its mean confidence."""
    words = ocr_words(image, lang=lang, psm=psm, cache_dir=cache_dir, engine=engine)
    if not words:
        return "", 0.0
    text = "".join(w.text for w in words)
    confidence = sum(w.confidence for w in words) / len(words)
    return text, confidence


def ocr_page_chars(page: ParsedPage, cache_dir: Path | None = None, engine: str = DEFAULT_ENGINE) -> tuple[Char, ...]:
    """Text for an image-only page, as ``Char`` records in PDF points (font "ocr:<confidence>").

    The stable entry point for OCR of a whole page: whoever decides that a
    page needs OCR (no text layer, or a text layer that is garbage) calls this.
    """
    if page.image is None:
        return page.chars
    scale = 72.0 / page.image_dpi
    chars = []
    for w in ocr_words(page.image, psm=PSM_PAGE, cache_dir=cache_dir, engine=engine):
        bbox = (w.left * scale, w.top * scale, (w.left + w.width) * scale, (w.top + w.height) * scale)
        chars.append(Char(text=w.text, bbox=bbox, size=w.height * scale, font=f"ocr:{w.confidence:.2f}"))
    return tuple(chars)


def engine_id(engine: str = DEFAULT_ENGINE, lang: str = DEFAULT_LANG, psm: int = PSM_PAGE) -> EngineId:
    """The identity of ``engine`` as installed here (model files by digest)."""
    if engine == "ppocr":
        return _ppocr_id()
    if engine == "tesseract":
        return EngineId("tesseract", tesseract_version(), {"lang": lang, "psm": psm})
    raise ValueError(f"unknown OCR engine {engine!r} (ppocr or tesseract)")


# ---------------------------------------------------------------- PP-OCR


def _ppocr_models() -> dict[str, Path]:
    try:
        import rapidocr
    except ImportError as exc:  # pragma: no cover - a broken install
        raise OcrUnavailable("rapidocr is not installed (run `make setup`)") from exc
    folder = Path(rapidocr.__file__).parent / "models"
    models = {
        "Det": folder / "PP-OCRv6_det_small.onnx",
        "Rec": folder / "PP-OCRv6_rec_small.onnx",
    }
    missing = [str(p) for p in models.values() if not p.exists()]
    if missing:
        raise OcrUnavailable(f"rapidocr's wheel lacks its PP-OCR models: {', '.join(missing)}")
    return models


@functools.lru_cache(maxsize=1)
def _ppocr_id() -> EngineId:
    from importlib.metadata import version

    models = _ppocr_models()
    digest = hashlib.sha256()
    for path in models.values():
        digest.update(path.read_bytes())
    names = "+".join(p.stem for p in models.values())
    model = f"{names} (rapidocr {version('rapidocr')}, sha256 {digest.hexdigest()[:16]})"
    return EngineId("ppocr", model, {**PPOCR_PARAMS, "charset": "jis", "ink_level": INK_LEVEL, "boxes": "ink, latin words joined"})


_ENGINE_LOCK = threading.Lock()


def import_ppocr() -> type:
    """rapidocr's engine class, its modules imported (~0.4 s: it parses its model catalogue, a YAML file, twice).

    A process that forks document workers may call this ahead, so workers that OCR find it done.
    """
    os.environ.setdefault("OMP_NUM_THREADS", str(PPOCR_THREADS))
    from rapidocr import RapidOCR

    return RapidOCR


@functools.lru_cache(maxsize=1)
def _ppocr_engine() -> Any:
    """One loaded engine per process (loading both networks takes about a second)."""
    RapidOCR = import_ppocr()  # noqa: N806 (a class)
    models = _ppocr_models()
    params: dict[str, Any] = {
        **PPOCR_PARAMS,
        "Global.log_level": "error",
        "Det.model_path": str(models["Det"]),
        "Rec.model_path": str(models["Rec"]),
        "EngineConfig.onnxruntime.intra_op_num_threads": PPOCR_THREADS,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }
    engine = RapidOCR(params=params)
    engine._load_det_model()
    engine._load_rec_model()
    decoder = engine.text_rec.postprocess_op
    decoder.__class__ = _type_with_mask(type(decoder))
    decoder.allowed = _japanese_mask(decoder.character)
    detector = engine.text_det
    tabulated = _type_with_table(type(detector.get_preprocess()))
    detector.get_preprocess = lambda: tabulated(detector.limit_side_len, detector.limit_type, detector.mean, detector.std)
    return engine


def _type_with_table(base: type) -> type:
    """The detector's input preparation, its normalisation looked up for each of the 256 levels a byte holds.

    rapidocr normalises every page in float64 and then rounds it to float32 (~0.13 s for a 300-dpi
    page). The same operations applied to the 256 values of each channel, and looked up, give the
    network the same input bit for bit.
    """

    class TabulatedDetPreProcess(base):  # type: ignore[misc, valid-type]
        def normalize(self, img: np.ndarray) -> np.ndarray:
            if img.dtype != np.uint8 or img.ndim != 3:
                return super().normalize(img)
            levels = np.repeat(np.arange(256, dtype=np.uint8)[:, None, None], img.shape[2], axis=2)
            table = super().normalize(levels)[:, 0, :].astype(np.float32)  # level × channel
            return table[img, np.arange(img.shape[2])]

    return TabulatedDetPreProcess


def _type_with_mask(base: type) -> type:
    """The recogniser's CTC decoder, choosing only characters a Japanese document can hold."""

    class JapaneseCtcDecode(base):  # type: ignore[misc, valid-type]
        allowed: np.ndarray

        def __call__(self, preds: np.ndarray, return_word_box: bool = False, **kwargs: Any):
            # Zeroed in place: a masked copy of every batch's scores (up to ~170 MB for six long
            # lines) was allocated and faulted in anew each time.
            if not preds.flags.writeable:
                preds = preds.copy()
            preds[:, :, ~self.allowed[: preds.shape[2]]] = 0.0
            return super().__call__(preds, return_word_box, **kwargs)

    return JapaneseCtcDecode


def _japanese_mask(characters: list[str]) -> np.ndarray:
    """True for the recogniser's classes a Japanese text may contain.

    PP-OCR's recogniser is trained on Chinese as well; a simplified hanzi
    (课 for 課) is never right in a Japanese government document. A letter
    is allowed when JIS X 0213 or Windows-31J can encode it (or it is Latin);
    punctuation, digits and symbols are all allowed.
    """
    mask = np.ones(len(characters), dtype=bool)
    for i, ch in enumerate(characters):
        if len(ch) != 1 or ord(ch) < 0x250 or not unicodedata.category(ch).startswith("L"):
            continue
        mask[i] = _in_japanese_charset(ch)
    return mask


def _in_japanese_charset(ch: str) -> bool:
    for codec in ("euc_jis_2004", "cp932"):
        try:
            ch.encode(codec)
            return True
        except UnicodeEncodeError:
            continue
    return False


def _run_ppocr(image: np.ndarray) -> list[OcrWord]:
    """One ``OcrWord`` per glyph, its box cut from the line box at the recogniser's CTC step."""
    engine = _ppocr_engine()
    bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image
    with _ENGINE_LOCK:  # onnxruntime sessions are thread-safe, rapidocr's parameter updates are not
        result = engine(bgr, return_word_box=True, return_single_char_box=True)
    if result.boxes is None or result.txts is None:
        return []
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    words: list[OcrWord] = []
    for box, text, score, glyphs in zip(result.boxes, result.txts, result.scores, result.word_results or ()):
        # (glyph, confidence, box, whether the recogniser read a space before it)
        pieces: list[tuple[str, float, Any, bool]] = []
        spaced = False
        for g in glyphs or ():
            if not g[0].strip():
                spaced = True
                continue
            pieces.append((g[0], float(g[1]), g[2], spaced))
            spaced = False
        if not pieces or "".join(p[0] for p in pieces) != "".join(text.split()):
            pieces = [(text.strip(), float(score), box, False)]
        line: list[OcrWord] = []
        for glyph, confidence, quad, space_before in pieces:
            pts = np.asarray(quad, dtype=np.float64)
            x0, y0 = (int(round(v)) for v in pts.min(axis=0))
            x1, y1 = (int(round(v)) for v in pts.max(axis=0))
            x0, x1 = _ink_columns(gray, x0, y0, x1, y1)
            word = OcrWord(glyph, x0, y0, max(1, x1 - x0), max(1, y1 - y0), round(confidence, 4))
            previous = line[-1] if line else None
            if previous is not None and not space_before and _latin(previous.text) and _latin(glyph):
                # Letters and digits of one Latin word (令和6年12月): no gap the layout could read as a space.
                line[-1] = replace(previous, width=max(1, word.left - previous.left))
            line.append(word)
        words.extend(line)
    return words


def _latin(text: str) -> bool:
    return text.isascii() and text.isalnum()


def _ink_columns(gray: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> tuple[int, int]:
    """The glyph box narrowed to the columns that hold ink.

    The recogniser places glyphs by its time steps, which fill the line from
    one glyph to the next; narrowed to the ink, a box shows the gaps a reader
    sees (the space after a heading's number, say), as a born-digital page's do.
    """
    crop = gray[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]
    if crop.size == 0:
        return x0, x1
    dark = np.nonzero((crop < INK_LEVEL).any(axis=0))[0]
    if dark.size == 0:
        return x0, x1
    return max(0, x0) + int(dark[0]), max(0, x0) + int(dark[-1]) + 1


# ---------------------------------------------------------------- tesseract


@functools.lru_cache(maxsize=1)
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
