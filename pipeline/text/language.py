"""Sudachi and GiNZA, each loaded lazily and once per process.

Most text only needs Sudachi's split (fast, dictionary only); GiNZA's named
entity recogniser runs only on sentences that may hold a place name, with the
components it does not need excluded, batched through ``nlp.pipe`` and cached
by content hash on disk.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from contextlib import closing
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from pipeline.text.chunks import chunks

# GiNZA's named entity labels (Sekine's extended hierarchy) that denote places.
PLACE_LABELS = frozenset({"Province", "City", "County", "GPE", "GPE_Other", "Country"})
NER_EXCLUDE = ["parser", "bunsetu_recognizer", "compound_splitter", "morphologizer", "attribute_ruler"]
# Nor the vocabulary's 600,000 strings: the recogniser's features (norm, prefix, suffix, shape,
# static vectors) are hashes computed from each token's text, the strings it needs (the text,
# the labels) are added as it meets them, and reading strings.json was most of loading the
# model (0.9 s of CPU and 316 MB without it: 0.3 s, 201 MB). The same entities on 1,200
# sentences of the real PDFs.
NER_EXCLUDE_DATA = ["strings"]
NER_CACHE_VERSION = "1"

_lock = threading.Lock()


@lru_cache(maxsize=1)
def sudachi():  # type: ignore[no-untyped-def]
    from sudachipy import SplitMode, dictionary

    return dictionary.Dictionary(dict="core").create(SplitMode.C)


@lru_cache(maxsize=1)
def ginza_ner():  # type: ignore[no-untyped-def]
    import spacy
    from thinc.api import use_ops

    # numpy's matrix product (OpenBLAS) instead of thinc's bundled BLIS: the same entities for
    # the corpus's sentences at half the CPU (BLIS took 3x the CPU per product on this machine).
    with _lock, use_ops("numpy", use_blis=False):
        return spacy.load("ja_ginza", exclude=NER_EXCLUDE + NER_EXCLUDE_DATA)


def token_spans(text: str) -> list[tuple[int, int, tuple[str, ...], bool]]:
    """(start, end, part of speech, out of vocabulary) per Sudachi token, however long ``text`` is."""
    tokenizer = sudachi()
    return [
        (offset + m.begin(), offset + m.end(), _part_of_speech(m), m.is_oov())
        for offset, piece in chunks(text)
        for m in tokenizer.tokenize(piece)
    ]


# Part of speech by Sudachi's id for it: the dictionary has ~1,500, and building a token's six
# strings cost as much as tokenising.
_PARTS_OF_SPEECH: dict[int, tuple[str, ...]] = {}


def _part_of_speech(morpheme) -> tuple[str, ...]:  # noqa: ANN001  (sudachipy.Morpheme)
    pos_id = morpheme.part_of_speech_id()
    found = _PARTS_OF_SPEECH.get(pos_id)
    if found is None:
        found = _PARTS_OF_SPEECH[pos_id] = tuple(morpheme.part_of_speech())
    return found


# Sudachi's part of speech (third level) of a word that names a place.
PLACE_NAME_POS = "地名"


def place_subwords(text: str, tokens: list[tuple[int, int, tuple[str, ...], bool]]) -> list[tuple[int, int]]:
    """(start, end) of Sudachi's mode-B sub-words inside each place-name token mode C reads as one word.

    Sudachi's dictionary holds whole addresses as one word (東京都世田谷区北沢), so the ward or
    city inside one falls on no token boundary; the same dictionary entry records how the word
    splits into shorter words (東京都 | 世田谷区 | 北沢), which puts it on a sub-word boundary.
    Tokens that do not split give nothing.
    """
    found: list[tuple[int, int]] = []
    for start, end, pos, _oov in tokens:
        if len(pos) > 2 and pos[2] == PLACE_NAME_POS and end - start > 2:
            found.extend((start + a, start + b) for a, b in _subword_offsets(text[start:end]))
    return found


@lru_cache(maxsize=4096)  # a list of addresses repeats its towns and wards
def _subword_offsets(word: str) -> tuple[tuple[int, int], ...]:
    morphemes = sudachi().tokenize(word)
    if len(morphemes) != 1:
        return ()  # read alone the word splits otherwise: not the dictionary entry it was in the text
    from sudachipy import SplitMode

    parts = morphemes[0].split(SplitMode.B)
    return tuple((m.begin(), m.end()) for m in parts) if len(parts) > 1 else ()


def _key(sentence: str) -> str:
    return hashlib.sha1(f"{NER_CACHE_VERSION}\0{sentence}".encode()).hexdigest()


def place_entities(sentences: Iterable[str], cache_dir: Path | None = None) -> dict[str, list[tuple[int, int, str]]]:
    """GiNZA place entities per sentence: {sentence: [(start, end, label)]}, cached."""
    unique = list(dict.fromkeys(s for s in sentences if s))
    cache = _NerCache(Path(cache_dir) / f"ginza-ner-v{NER_CACHE_VERSION}.sqlite") if cache_dir else None
    found = cache.get([_key(s) for s in unique]) if cache else {}
    missing = [s for s in unique if _key(s) not in found]
    if missing:
        nlp = ginza_ner()
        # One process: spaCy's n_process loads the model again in every child on
        # every call and ships each Doc back through msgpack, which cost more CPU
        # than the second core gave back. Documents are what run in parallel.
        new = {}
        for sentence, doc in zip(missing, nlp.pipe(missing, batch_size=64)):
            new[_key(sentence)] = [(e.start_char, e.end_char, e.label_) for e in doc.ents if e.label_ in PLACE_LABELS]
        if cache:
            cache.put(new)
        found.update(new)
    return {s: [tuple(e) for e in found[_key(s)]] for s in unique}  # type: ignore[misc]


class _NerCache:
    """Entities by sentence hash in SQLite: read by key, written incrementally.

    One JSON file rewritten whole grew with every document, and two documents
    extracted at once each overwrote the other's additions; SQLite handles both.
    A cache that cannot be opened or written only costs recomputation.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("create table if not exists ner (key text primary key, ents text not null)")
        return db

    def get(self, keys: list[str]) -> dict[str, list]:
        found: dict[str, list] = {}
        try:
            with closing(self._connect()) as db:
                for i in range(0, len(keys), 500):
                    chunk = keys[i : i + 500]
                    marks = ",".join("?" * len(chunk))
                    for key, ents in db.execute(f"select key, ents from ner where key in ({marks})", chunk):
                        found[key] = json.loads(ents)
        except (sqlite3.Error, OSError, ValueError):
            return {}
        return found

    def put(self, entries: dict[str, list]) -> None:
        try:
            with closing(self._connect()) as db, db:
                db.executemany(
                    "insert or replace into ner (key, ents) values (?, ?)",
                    [(k, json.dumps(v, ensure_ascii=False)) for k, v in entries.items()],
                )
        except (sqlite3.Error, OSError):
            pass
