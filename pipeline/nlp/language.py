"""Sudachi and GiNZA, each loaded lazily and once per process.

Most text only needs Sudachi's split (fast, dictionary only); GiNZA's named
entity recogniser runs only on sentences that may hold a place name, with the
components it does not need excluded, batched through ``nlp.pipe`` and cached
by content hash on disk.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Iterable

# GiNZA's named entity labels (Sekine's extended hierarchy) that denote places.
PLACE_LABELS = frozenset({"Province", "City", "County", "GPE", "GPE_Other", "Country"})
NER_EXCLUDE = ["parser", "bunsetu_recognizer", "compound_splitter", "morphologizer", "attribute_ruler"]
NER_CACHE_VERSION = "1"

_lock = threading.Lock()


@lru_cache(maxsize=1)
def sudachi():  # type: ignore[no-untyped-def]
    from sudachipy import SplitMode, dictionary

    return dictionary.Dictionary(dict="core").create(SplitMode.C)


@lru_cache(maxsize=1)
def ginza_ner():  # type: ignore[no-untyped-def]
    import spacy

    with _lock:
        return spacy.load("ja_ginza", exclude=NER_EXCLUDE)


def token_spans(text: str) -> list[tuple[int, int, tuple[str, ...], bool]]:
    """(start, end, part of speech, out of vocabulary) per Sudachi token."""
    return [(m.begin(), m.end(), tuple(m.part_of_speech()), m.is_oov()) for m in sudachi().tokenize(text)]


def _key(sentence: str) -> str:
    return hashlib.sha1(f"{NER_CACHE_VERSION}\0{sentence}".encode()).hexdigest()


def place_entities(sentences: Iterable[str], cache_dir: Path | None = None) -> dict[str, list[tuple[int, int, str]]]:
    """GiNZA place entities per sentence: {sentence: [(start, end, label)]}, cached."""
    unique = list(dict.fromkeys(s for s in sentences if s))
    cache_path = Path(cache_dir) / f"ginza-ner-v{NER_CACHE_VERSION}.json" if cache_dir else None
    cache: dict[str, list[list]] = {}
    if cache_path and cache_path.exists():
        try:
            cache = json.loads(cache_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cache = {}
    missing = [s for s in unique if _key(s) not in cache]
    if missing:
        nlp = ginza_ner()
        # Two processes only pay off when there is much to read: each loads the model.
        n_process = 2 if len(missing) > 400 and (os.cpu_count() or 1) > 1 else 1
        for sentence, doc in zip(missing, nlp.pipe(missing, batch_size=64, n_process=n_process)):
            cache[_key(sentence)] = [[e.start_char, e.end_char, e.label_] for e in doc.ents if e.label_ in PLACE_LABELS]
        if cache_path:
            try:
                cache_path.parent.mkdir(parents=True, exist_ok=True)
                tmp = cache_path.with_suffix(f".tmp{os.getpid()}")
                tmp.write_text(json.dumps(cache, ensure_ascii=False), encoding="utf-8")
                os.replace(tmp, cache_path)
            except OSError:
                pass
    return {s: [tuple(e) for e in cache[_key(s)]] for s in unique}  # type: ignore[misc]
