"""Benchmark of the text stage: throughput and what cleaning does to OCR text.

Writes benchmarks/text_stage.json with
- chars/s of clean_text, of place finding (Sudachi split + gazetteer, GiNZA NER only on
  sentences that may hold an unexplained place name) with a cold and a warm NER cache,
  and of run_text_stage on the extracted frames of mlit_r7_senkoteki.pdf;
- the character error rate of tesseract's text of samples/mic_tsuchi_71_scan.pdf against
  the text layer of samples/mic_tsuchi_71.pdf, before and after cleaning.

Run: .venv/bin/python benchmarks/text_stage.py   (figures depend on the machine; they are
measured here, never asserted by a test).
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pymupdf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.extract import extract_pdf  # noqa: E402
from pipeline.nlp.gazetteer import default_cache_dir, load_gazetteer  # noqa: E402
from pipeline.nlp.language import ginza_ner, place_entities, token_spans  # noqa: E402
from pipeline.nlp.normalize import clean_text  # noqa: E402
from pipeline.nlp.places import PlaceResolver  # noqa: E402
from pipeline.nlp.stage import _ner_sentences, run_text_stage  # noqa: E402
from pipeline.ocr import ocr_words, tesseract_version  # noqa: E402
from pipeline.pdf import iter_pages, open_document  # noqa: E402

SAMPLES = REPO / "samples"
OUT = REPO / "benchmarks" / "text_stage.json"
OCR_CACHE = default_cache_dir() / "ocr"


def ocr_page_text(image: np.ndarray) -> str:
    """Tesseract's words laid out in lines, as a reader of its plain output would get them."""
    words = sorted(ocr_words(image, cache_dir=OCR_CACHE), key=lambda w: (w.top, w.left))
    lines: list[list] = []
    for word in words:
        middle = word.top + word.height / 2
        if lines and abs(lines[-1][0] - middle) < max(word.height, 8) * 0.6:
            lines[-1][1].append(word)
        else:
            lines.append([middle, [word]])
    return "\n".join(" ".join(w.text for w in sorted(ws, key=lambda w: w.left)) for _, ws in lines)


def document_texts(path: Path) -> list[str]:
    """Page texts: the text layer, or OCR for image-only pages (as the pipeline reads them)."""
    doc = open_document(path, str(path))
    try:
        texts = []
        for parsed, page in zip(iter_pages(doc, path.stem, "0" * 64), doc):
            texts.append(ocr_page_text(parsed.image) if parsed.image is not None else page.get_text())
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


def _no_newlines(text: str) -> str:
    return text.replace("\n", "")


def _no_space(text: str) -> str:
    return "".join(text.split())


def measure_places(texts: list[str], resolver: PlaceResolver, cache_dir: Path) -> dict:
    started = time.perf_counter()
    gated = []
    mentions = 0
    for text in texts:
        tokens = token_spans(text)
        found = resolver.find_mentions(text, tokens)
        chosen = _ner_sentences(text, found, tokens)
        if chosen:
            gated.append((text, tokens, chosen))
        else:
            mentions += len(found)
    sentences = [s for *_, chosen in gated for s, _ in chosen]
    entities = place_entities(sentences, cache_dir=cache_dir)
    for text, tokens, chosen in gated:
        spans = [(o + s, o + e, label) for sentence, o in chosen for s, e, label in entities.get(sentence, [])]
        mentions += len(resolver.find_mentions(text, tokens, spans))
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


def main() -> None:
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

    ocr = "\n".join(texts_by_doc["mic_tsuchi_71_scan"])
    reference = clean_text("\n".join(texts_by_doc["mic_tsuchi_71"])).text
    after = clean_text(ocr).text
    results["ocr_cer_mic_tsuchi_71"] = {
        "tesseract": tesseract_version(),
        "reference": "text layer of samples/mic_tsuchi_71.pdf, cleaned",
        "reference_chars": len(_no_newlines(reference)),
        "cer_before_cleaning": cer(_no_newlines(ocr), _no_newlines(reference)),
        "cer_after_cleaning": cer(_no_newlines(after), _no_newlines(reference)),
        "cer_ignoring_whitespace_before": cer(_no_space(ocr), _no_space(reference)),
        "cer_ignoring_whitespace_after": cer(_no_space(after), _no_space(reference)),
        "note": "line breaks are layout and are removed from both sides before comparing",
    }
    OUT.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
