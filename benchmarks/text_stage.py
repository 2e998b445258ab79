"""Benchmark of the text stage: throughput and what cleaning does to OCR text.

Writes benchmarks/text_stage.json with
- chars/s of clean_text, of place finding (Sudachi split + gazetteer, GiNZA NER only on
  sentences that may hold an unexplained place name) with a cold and a warm NER cache,
  and of run_text_stage on the extracted frames of mlit_r7_senkoteki.pdf;
- for each OCR engine (PP-OCR, the default, and tesseract): seconds per page and the
  character error rate of its text of every scan that has a source text
  (samples/mic_tsuchi_71_scan.pdf against samples/source-texts/mic_tsuchi_71.txt), raw and
  after cleaning (clean_text and the OCR repair the text stage applies to OCR'd fields);
- both engines on vertical text (a rendered 縦書き column), where tesseract might win.

Run: .venv/bin/python benchmarks/text_stage.py   (figures depend on the machine; they are
measured here, never asserted by a test).
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import numpy as np
import pymupdf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.document.extract import extract_pdf  # noqa: E402
from pipeline.text.gazetteer import default_cache_dir, load_gazetteer  # noqa: E402
from pipeline.text.language import ginza_ner, place_entities, place_subwords, token_spans  # noqa: E402
from pipeline.text.normalize import clean_text  # noqa: E402
from pipeline.text.places import PlaceResolver  # noqa: E402
from pipeline.text.stage import _ner_sentences, run_text_stage  # noqa: E402
from pipeline.text.vocabulary import repair_ocr_text  # noqa: E402
from pipeline.reading.ocr import engine_id, ocr_words  # noqa: E402
from pipeline.reading.pdf import iter_pages, open_document  # noqa: E402

SAMPLES = REPO / "samples"
OUT = REPO / "benchmarks" / "text_stage.json"
OCR_CACHE = default_cache_dir() / "ocr"
SOURCE_TEXTS = SAMPLES / "source-texts"
# Scans with a source text: scan → source text file.
SCANS_WITH_SOURCE = {"mic_tsuchi_71_scan": "mic_tsuchi_71.txt"}


def ocr_page_text(image: np.ndarray, engine: str = "ppocr", cache_dir: Path | None = None) -> str:
    """The engine's words laid out in lines, as a reader of its plain output would get them."""
    words = sorted(ocr_words(image, cache_dir=cache_dir, engine=engine), key=lambda w: (w.top, w.left))
    # PP-OCR answers glyphs (a space is never between two of them); tesseract answers words.
    joiner = "" if engine == "ppocr" else " "
    lines: list[list] = []
    for word in words:
        middle = word.top + word.height / 2
        if lines and abs(lines[-1][0] - middle) < max(word.height, 8) * 0.6:
            lines[-1][1].append(word)
        else:
            lines.append([middle, [word]])
    return "\n".join(joiner.join(w.text for w in sorted(ws, key=lambda w: w.left)) for _, ws in lines)


def document_texts(path: Path) -> list[str]:
    """Page texts: the text layer, or OCR for image-only pages (as the pipeline reads them)."""
    doc = open_document(path, str(path))
    try:
        texts = []
        for parsed, page in zip(iter_pages(doc, path.stem, "0" * 64), doc):
            texts.append(ocr_page_text(parsed.image, cache_dir=OCR_CACHE) if parsed.image is not None else page.get_text())
        return texts
    finally:
        doc.close()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, one numpy row at a time (insertions via a running minimum)."""
    if not a:
        return len(b)
    if not b:
        return len(a)
    bv = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    previous = np.arange(len(b) + 1, dtype=np.int64)
    offsets = np.arange(len(b) + 1, dtype=np.int64)
    for i, ch in enumerate(a, start=1):
        cost = (bv != ord(ch)).astype(np.int64)
        row = np.empty_like(previous)
        row[0] = i
        row[1:] = np.minimum(previous[1:] + 1, previous[:-1] + cost)
        # row[j] = min_k<=j (row[k] + j - k): insertions along the row
        row = np.minimum.accumulate(row - offsets) + offsets
        previous = row
    return int(previous[-1])


def cer(hypothesis: str, reference: str) -> float:
    return round(edit_distance(hypothesis, reference) / max(len(reference), 1), 4)


def measure_places(texts: list[str], resolver: PlaceResolver, cache_dir: Path) -> dict:
    started = time.perf_counter()
    gated = []
    mentions = 0
    for text in texts:
        tokens = token_spans(text)
        subwords = place_subwords(text, tokens)  # as the text stage does: places inside one-token addresses
        found = resolver.find_mentions(text, tokens, subwords=subwords)
        chosen = _ner_sentences(text, found, tokens)
        if chosen:
            gated.append((text, tokens, subwords, chosen))
        else:
            mentions += len(found)
    sentences = [s for *_, chosen in gated for s, _ in chosen]
    entities = place_entities(sentences, cache_dir=cache_dir)
    for text, tokens, subwords, chosen in gated:
        spans = [(o + s, o + e, label) for sentence, o in chosen for s, e, label in entities.get(sentence, [])]
        mentions += len(resolver.find_mentions(text, tokens, spans, subwords=subwords))
    seconds = time.perf_counter() - started
    chars = sum(map(len, texts))
    return {
        "seconds": round(seconds, 3),
        "chars_per_s": round(chars / seconds),
        "texts": len(texts),
        "texts_sent_to_ginza": len(gated),
        "sentences_sent_to_ginza": len(sentences),
        "chars_sent_to_ginza": sum(map(len, sentences)),
        "mentions": mentions,
    }


def _folded(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def measure_engines(scan: str, source: str) -> dict:
    """Seconds per page (no cache) and CER (NFKC, whitespace ignored) per engine."""
    reference = (SOURCE_TEXTS / source).read_text(encoding="utf-8")
    path = SAMPLES / f"{scan}.pdf"
    doc = open_document(path, str(path))
    try:
        images = [p.image for p in iter_pages(doc, scan, "0" * 64) if p.image is not None]
    finally:
        doc.close()
    out: dict = {"reference": f"samples/source-texts/{source}", "reference_chars": len(_folded(reference)), "pages": len(images)}
    for engine in ("ppocr", "tesseract"):
        started = time.perf_counter()
        texts = [ocr_page_text(image, engine) for image in images]
        seconds = time.perf_counter() - started
        raw = "\n".join(texts)
        cleaned = repair_ocr_text(clean_text(raw).text).text
        out[engine] = {
            "engine": engine_id(engine).label(),
            "seconds_per_page": round(seconds / len(images), 2),
            "cer_raw": cer(_folded(raw), _folded(reference)),
            "cer_after_cleaning": cer(_folded(cleaned), _folded(clean_text(reference).text)),
        }
    out["load_average_1min"] = round(os.getloadavg()[0], 1)
    out["note"] = (
        "raw: OCR text against the source text; after cleaning: the text stage's cleaning and OCR repair "
        "against the cleaned source text (cleaning folds 旧字体 on both sides). Both NFKC, whitespace removed."
    )
    return out


def measure_vertical() -> dict:
    """A 縦書き column rendered at 300 dpi, read by both engines (tesseract with its vertical page mode)."""
    import pymupdf

    text = "地方自治体が実施する二地域居住の推進について"
    # One glyph under the other, as a 縦書き column is set.
    doc = pymupdf.open()
    page = doc.new_page(width=60, height=30 + 18 * len(text))
    page.insert_font(fontname="jp", fontbuffer=pymupdf.Font("japan").buffer)
    for i, ch in enumerate(text):
        page.insert_text((22, 30 + 18 * i), ch, fontname="jp", fontsize=16)
    pix = page.get_pixmap(dpi=300, colorspace=pymupdf.csGRAY)
    image = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width)
    out: dict = {"reference": text}
    for engine, psm in (("ppocr", 3), ("tesseract", 5)):
        started = time.perf_counter()
        words = ocr_words(image, psm=psm, cache_dir=None, engine=engine)
        read = "".join(w.text for w in sorted(words, key=lambda w: (w.top, w.left)))  # one column: top to bottom
        out[engine] = {"read": read, "cer": cer(_folded(read), text), "seconds": round(time.perf_counter() - started, 2)}
    return out


def main() -> None:
    if "--ocr-only" in sys.argv:  # re-measure the engines alone, keeping the other figures
        results = json.loads(OUT.read_text(encoding="utf-8"))
        results["ocr_engines"] = {scan: measure_engines(scan, source) for scan, source in SCANS_WITH_SOURCE.items()}
        results["ocr_vertical_text"] = measure_vertical()
        OUT.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(json.dumps({k: results[k] for k in ("ocr_engines", "ocr_vertical_text")}, ensure_ascii=False, indent=2))
        return
    results: dict = {"machine": {"python": platform.python_version(), "cpu_count": __import__("os").cpu_count()}}
    pdfs = sorted(SAMPLES.glob("*.pdf"))
    started = time.perf_counter()
    texts_by_doc = {pdf.stem: document_texts(pdf) for pdf in pdfs}
    results["read_seconds_including_ocr"] = round(time.perf_counter() - started, 2)
    texts = [t for doc in texts_by_doc.values() for t in doc if t.strip()]
    chars = sum(map(len, texts))
    results["corpus"] = {"documents": len(pdfs), "pages": len(texts), "chars": chars}

    started = time.perf_counter()
    cleaned = [clean_text(t) for t in texts]
    seconds = time.perf_counter() - started
    results["clean_text"] = {
        "seconds": round(seconds, 3),
        "chars_per_s": round(chars / seconds),
        "changes": sum(len(c.changes) for c in cleaned),
    }

    started = time.perf_counter()
    resolver = PlaceResolver(load_gazetteer())
    results["gazetteer_load_seconds"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    ginza_ner()
    results["ginza_load_seconds"] = round(time.perf_counter() - started, 2)
    clean_texts = [c.text for c in cleaned]
    with tempfile.TemporaryDirectory() as tmp:
        results["places_cold_ner_cache"] = measure_places(clean_texts, resolver, Path(tmp))
        results["places_warm_ner_cache"] = measure_places(clean_texts, resolver, Path(tmp))
    total = results["clean_text"]["seconds"] + results["places_cold_ner_cache"]["seconds"]
    results["clean_and_places_chars_per_s_cold"] = round(chars / total)

    extraction = extract_pdf(SAMPLES / "mlit_r7_senkoteki.pdf", "mlit_r7_senkoteki")
    # The frames as the extractors left them: the columns the stage adds are dropped.
    added = {"region", "consortium_name", "jis_codes", "text"}
    raw_frames = {
        name: frame.drop(columns=[c for c in frame.columns if c in added])
        for name, frame in extraction.frames.items()
        if name not in ("corrections", "places")
    }
    field_chars = sum(
        int(frame[c].astype(str).str.len().sum())
        for name, frame in raw_frames.items()
        for c in frame.columns
        if c.endswith("_raw")
    )
    with tempfile.TemporaryDirectory() as tmp:
        timings = []
        for _ in range(2):
            started = time.perf_counter()
            run_text_stage(raw_frames, nlp_cache_dir=Path(tmp))
            timings.append(time.perf_counter() - started)
    results["run_text_stage_senkoteki"] = {
        "field_chars": field_chars,
        "seconds_cold": round(timings[0], 3),
        "seconds_warm": round(timings[1], 3),
        "chars_per_s_warm": round(field_chars / timings[1]),
    }

    results["ocr_engines"] = {scan: measure_engines(scan, source) for scan, source in SCANS_WITH_SOURCE.items()}
    results["ocr_vertical_text"] = measure_vertical()
    OUT.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
