"""The text stage the flow runs over one document's extracted frames.

For every dataset, the ``*_raw`` columns its DatasetSpec lists in
``clean_fields`` are cleaned into the column without the suffix (region_raw →
region); list columns derived from a raw column (themes, issues) are cleaned
element by element. Place names are found and resolved; damaged ones that the
evidence resolves are repaired in the cleaned text. Two frames are added:
``corrections`` (every change, with its rule) and ``places`` (every mention).

Consortia get ``jis_codes``: each region cell is read as a list of places and
resolved with the row's consortium name, the same consortium's name as printed
in the document's other table, the neighbouring rows and the document's other
regions as context.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.text.chunks import chunks
from pipeline.text.gazetteer import load_gazetteer
from pipeline.text.lookalike import save_glyph_cache
from pipeline.text.normalize import Change, CleanResult, clean_text, is_japanese
from pipeline.text.places import ADMIN_END, KIND_REGION, METHOD_EXACT, Context, PlaceResolver, Resolution
from pipeline.model.records import record_key
from pipeline.text.vocabulary import repair_ocr_text
from pipeline.model.schema import DATASETS

ROW_PROVENANCE = ("doc_id", "source_sha256", "page", "bbox", "extractor", "extractor_version")
REGION_FIELD = ("consortia", "region_raw")
# A table column whose header says this holds places; other table cells get a place
# repaired only inside a sentence (a header fragment or a label is never "repaired").
MARK_COLUMN_FIELD = ("marks", "column_raw")
PLACE_HEADER = re.compile(r"地域|地名|地区|市町村|市区町村|都道府県|自治体|団体名|所在地|住所|場所|管轄")
TABLE_SENTENCE = re.compile(r"[^。]{8,}[。]|[^、]{4,}、[^、]{4,}")
_SENTENCE = re.compile(r"[^。！？\n]+[。！？]?")


@dataclass
class _Field:
    """One cleaned cell: where it is, its text, and what was done to it."""

    dataset: str
    index: Any
    column: str
    text: str
    changes: list[Change] = field(default_factory=list)
    places: list[Resolution] = field(default_factory=list)
    # Why a place is plausible in this table cell (its column's header, or a sentence); shown in the repair's rule.
    evidence: str | None = None


@lru_cache(maxsize=1)
def place_resolver() -> PlaceResolver:
    """The process's one resolver: its indexes of the gazetteer take ~8 ms to build, and what it
    remembers (a name's candidates) depends on the name alone, so every document may share it."""
    return PlaceResolver(load_gazetteer())


def run_text_stage(
    frames: dict[str, pd.DataFrame], *, nlp_cache_dir: Path | None = None, ocr_pages: frozenset[tuple[str, int]] = frozenset()
) -> dict[str, pd.DataFrame]:
    """Clean declared text fields, resolve place names; add ``corrections`` and ``places``.

    Fields of rows read by OCR (their ``(doc_id, page)`` in ``ocr_pages``) are
    also repaired for OCR noise (pipeline.text.vocabulary.repair_ocr_text):
    text printed as text is never second-guessed by the lexicon.
    """
    resolver = place_resolver()
    out = {name: frame.copy() for name, frame in frames.items()}
    cells: dict[tuple[str, Any, str], _Field] = {}
    for name, frame in out.items():
        spec = DATASETS.get(name)
        for column in spec.clean_fields if spec else ():
            if column not in frame.columns:
                continue
            ocr_rows = _ocr_rows(frame, ocr_pages)
            for index, value in frame[column].items():
                result = clean_text(value if isinstance(value, str) else "")
                if index in ocr_rows and result.text:
                    repaired = repair_ocr_text(result.text)
                    result = CleanResult(repaired.text, list(result.changes) + repaired.changes)
                cells[(name, index, column)] = _Field(name, index, column, result.text, list(result.changes))

    region_places = _resolve_consortia(out, cells, resolver)
    _find_text_places(out, cells, resolver, region_places, nlp_cache_dir)
    _write_clean_columns(out, cells)
    out["corrections"] = _corrections_frame(out, cells)
    out["places"] = _places_frame(out, cells)
    save_glyph_cache()
    return out


def _ocr_rows(frame: pd.DataFrame, ocr_pages: frozenset[tuple[str, int]]) -> set[Any]:
    if not ocr_pages or "doc_id" not in frame.columns or "page" not in frame.columns:
        return set()
    return {i for i, d, p in zip(frame.index, frame["doc_id"], frame["page"]) if (d, int(p) if pd.notna(p) else -1) in ocr_pages}


# -- consortia regions -------------------------------------------------------------------------


def _resolve_consortia(
    out: dict[str, pd.DataFrame], cells: dict[tuple[str, Any, str], _Field], resolver: PlaceResolver
) -> dict[Any, list[Resolution]]:
    frame = out.get("consortia")
    if frame is None or "region_raw" not in frame.columns:
        return {}
    if frame.empty:
        frame["jis_codes"] = pd.Series(dtype=object)
        frame["prefecture"] = pd.Series(dtype=object)
        return {}
    linked = _linked_names(out, cells)
    order = list(frame.sort_values("row").index) if "row" in frame.columns else list(frame.index)

    def context_for(index: Any, neighbours: list[str], document: Counter) -> Context:
        name = _text(cells, "consortia", index, "consortium_name_raw")
        other = linked.get(frame.at[index, "consortium_id"], "") if "consortium_id" in frame.columns else ""
        return Context(texts=[name, other], parallels=[(name, other)], neighbours=neighbours, document=document)

    first = {i: resolver.resolve_region_cell(cells[("consortia", i, "region_raw")].text, context_for(i, [], Counter())) for i in order}
    document = Counter(r.prefecture_code for rs in first.values() for r in rs if r.method == METHOD_EXACT and r.prefecture_code)
    resolved: dict[Any, list[Resolution]] = {}
    for position, index in enumerate(order):
        neighbours = [
            r.prefecture_code
            for j in (position - 1, position + 1)
            if 0 <= j < len(order)
            for r in first[order[j]]
            if r.prefecture_code
        ]
        mine = Counter(r.prefecture_code for r in first[index] if r.method == METHOD_EXACT and r.prefecture_code)
        resolutions = resolver.resolve_region_cell(cells[("consortia", index, "region_raw")].text, context_for(index, neighbours, document - mine))
        region_cell = cells[("consortia", index, "region_raw")]
        region_cell.places = resolutions
        name_cell = cells.get(("consortia", index, "consortium_name_raw"))
        for resolution in resolutions:
            _repair(region_cell, resolution)
            if name_cell is not None:
                _repair(name_cell, resolution)
        resolved[index] = resolutions
    frame["jis_codes"] = [jis_codes(resolved.get(i, [])) for i in frame.index]
    frame["prefecture"] = [sole_prefecture(resolved.get(i, [])) for i in frame.index]
    return resolved


def sole_prefecture(resolutions: list[Resolution]) -> str | None:
    """The prefecture every place of a region cell lies in; None when they span several, or when a
    place's prefecture is unknown (an ambiguous homonym could lie in another one)."""
    prefectures = {r.prefecture for r in resolutions}
    return prefectures.pop() if len(prefectures) == 1 and None not in prefectures else None


def jis_codes(resolutions: list[Resolution]) -> list[str]:
    """Codes the region cell names: places with a code; a region adds its prefecture's
    code unless a place of that prefecture is already listed. Ambiguous places add none."""
    codes: list[str] = []
    for r in resolutions:
        if r.jis_code and r.jis_code not in codes:
            codes.append(r.jis_code)
    gazetteer = load_gazetteer()
    for r in resolutions:
        if r.kind == KIND_REGION and r.prefecture:
            pref_code = gazetteer.prefectures[r.prefecture].code
            if not any(c[:2] == pref_code[:2] for c in codes):
                codes.append(pref_code)
    return codes


def _linked_names(out: dict[str, pd.DataFrame], cells: dict[tuple[str, Any, str], _Field]) -> dict[str, str]:
    """consortium_id → the consortium's name as printed in the document's other table."""
    issues = out.get("consortium_issues")
    if issues is None or issues.empty or "consortium_id" not in issues.columns:
        return {}
    names = {}
    for index, cid in issues["consortium_id"].items():
        if isinstance(cid, str) and ("consortium_issues", index, "consortium_name_raw") in cells:
            names[cid] = cells[("consortium_issues", index, "consortium_name_raw")].text
    return names


def _repair(cell: _Field, resolution: Resolution) -> None:
    """Write a resolved official name over a damaged mention in the cleaned text."""
    if not resolution.jis_code or resolution.method == METHOD_EXACT or not resolution.name:
        return
    damaged = resolution.raw
    for suffix in ("等", "ほか", "他", "など"):
        if damaged.endswith(suffix) and not resolution.name.endswith(suffix):
            damaged = damaged[: -len(suffix)]
    if damaged == resolution.name or damaged not in cell.text:
        return
    # One corrections row per occurrence, as every other rule writes them.
    for _ in range(cell.text.count(damaged)):
        rule = f"place_{resolution.method}" + (f" ({cell.evidence})" if cell.evidence else "")
        cell.changes.append(Change(damaged, resolution.name, rule, resolution.confidence))
    cell.text = cell.text.replace(damaged, resolution.name)


# -- places in running text -----------------------------------------------------------------------


def _find_text_places(
    out: dict[str, pd.DataFrame],
    cells: dict[tuple[str, Any, str], _Field],
    resolver: PlaceResolver,
    region_places: dict[Any, list[Resolution]],
    nlp_cache_dir: Path | None,
) -> None:
    from pipeline.text.language import place_entities, place_subwords, token_spans

    document = Counter(r.prefecture_code for rs in region_places.values() for r in rs if r.prefecture_code)
    consortium_prefs = _consortium_prefectures(out, region_places)
    pending: list[tuple[_Field, list, Context, list[tuple[str, int]], dict]] = []
    table_evidence = _table_place_evidence(out.get("tables"))
    for (dataset, index, column), cell in cells.items():
        if (dataset, column) == REGION_FIELD or not cell.text:
            continue
        if (dataset, column) == MARK_COLUMN_FIELD:
            continue  # a mark table's column header: no place is plausible in it, none is repaired
        if dataset == "tables":
            evidence = table_evidence.get(index)
            if evidence is None:
                continue  # a header or a cell no place is plausible in: found nowhere, repaired never
            cell.evidence = evidence if evidence != "sentence" or TABLE_SENTENCE.search(cell.text) else None
            if cell.evidence is None:
                # A label in a column that is not about places: places printed exactly are
                # recorded, nothing is guessed or repaired.
                tokens = token_spans(cell.text)
                subwords = place_subwords(cell.text, tokens)
                exact = [
                    m
                    for m in resolver.find_mentions(cell.text, tokens, [], Context(document=document), subwords=subwords)
                    if m.method == METHOD_EXACT
                ]
                cell.places.extend(exact)
                continue
        prefs = consortium_prefs.get(_consortium_id(out, dataset, index), set())
        context = Context(prefectures=set(prefs), texts=[], document=document)
        tokens = token_spans(cell.text)
        spans = resolver.found_spans(cell.text, tokens, place_subwords(cell.text, tokens))
        mentions = resolver.find_mentions(cell.text, tokens, [], context, spans)
        # Only sentences where an entity could add a mention: most hold none, and a document
        # none of whose sentences can never loads the model.
        sentences = [
            (sentence, offset)
            for sentence, offset in _ner_sentences(cell.text, mentions, tokens)
            if resolver.entity_could_add(cell.text, spans, offset, offset + len(sentence), context, _words(sentence, offset), tokens)
        ]
        if sentences:
            pending.append((cell, tokens, context, sentences, spans))
        else:
            _accept(cell, mentions)
    if not pending:
        return
    entities = place_entities((s for _, _, _, sentences, _ in pending for s, _ in sentences), cache_dir=nlp_cache_dir)
    for cell, tokens, context, sentences, spans in pending:
        found = [(offset + s, offset + e, label) for sentence, offset in sentences for s, e, label in entities.get(sentence, [])]
        _accept(cell, resolver.find_mentions(cell.text, tokens, found, context, spans))


def _words(sentence: str, offset: int) -> list[tuple[int, int, tuple[str, ...], bool]]:
    """The sentence's tokens as GiNZA's tokenizer reads it (Sudachi on the sentence alone), offsets in its cell."""
    from pipeline.text.language import token_spans

    return [(offset + s, offset + e, pos, oov) for s, e, pos, oov in token_spans(sentence)]


def _ner_sentences(text: str, mentions: list[Resolution], tokens: list[tuple[int, int, tuple[str, ...], bool]]) -> list[tuple[str, int]]:
    """The sentences of ``text`` (with offsets) that GiNZA should read."""
    triggers = _ner_triggers(text, mentions, tokens)
    if not triggers:
        return []
    return [(sentence, offset) for sentence, offset in _sentences(text) if any(offset <= t < offset + len(sentence) for t in triggers)]


def _ner_triggers(text: str, mentions: list[Resolution], tokens: list[tuple[int, int, tuple[str, ...], bool]]) -> list[int]:
    """Run the model only where a place may hide that no mention explains: a word the
    dictionary calls a place name, or an unknown word or proper noun just before an
    administrative suffix. Ordinary words before a suffix (都市, 地区, 市町村) do not count."""
    covered = {i for m in mentions for i in range(m.start, m.end)}
    triggers = []
    for start, end, pos, oov in tokens:
        if start in covered:
            continue
        proper = len(pos) > 1 and pos[1] == "固有名詞"
        if proper and len(pos) > 2 and pos[2] == "地名":
            triggers.append(start)
        elif (proper or oov) and end < len(text) and text[end] in ADMIN_END and is_japanese(text[start]):
            triggers.append(start)
    return triggers


def _sentences(text: str) -> list[tuple[str, int]]:
    """Sentences with their offsets; one longer than the tokenizer accepts comes as several pieces."""
    out = []
    for m in _SENTENCE.finditer(text):
        sentence = m.group().strip()
        if not sentence:
            continue
        offset = m.start() + (len(m.group()) - len(m.group().lstrip()))
        for start, piece in chunks(sentence):
            if piece.strip():
                out.append((piece.strip(), offset + start + len(piece) - len(piece.lstrip())))
    return out


def _accept(cell: _Field, mentions: list[Resolution]) -> None:
    cell.places.extend(mentions)
    for mention in sorted(mentions, key=lambda m: -m.start):
        _repair(cell, mention)


def _table_place_evidence(frame: pd.DataFrame | None) -> dict[Any, str]:
    """For each body cell of ``tables``: "column <header>" when its column holds places, else "sentence".

    Header cells get no entry: a header fragment is never a place to repair.
    """
    if frame is None or frame.empty or "is_header" not in frame.columns:
        return {}
    # Read by column, not by row: a row read through pandas costs more than the work done with it.
    rows = list(zip(frame.index, frame["is_header"].astype(bool), frame["table_id"], frame["col"], frame["col_span"], frame["text_raw"]))
    headers: dict[tuple[Any, Any], list[str]] = {}
    for _index, is_header, table_id, col, col_span, text in rows:
        if is_header:
            for c in range(int(col), int(col) + int(col_span)):
                headers.setdefault((table_id, c), []).append(str(text))
    evidence: dict[Any, str] = {}
    for index, is_header, table_id, col, _span, _text in rows:
        if not is_header:
            header = "".join("".join(h.split()) for h in headers.get((table_id, int(col)), []))
            evidence[index] = f"column {header}" if PLACE_HEADER.search(header) else "sentence"
    return evidence


def _consortium_id(out: dict[str, pd.DataFrame], dataset: str, index: Any) -> Any:
    frame = out.get(dataset)
    if frame is not None and "consortium_id" in frame.columns:
        return frame.at[index, "consortium_id"]
    return None


def _consortium_prefectures(out: dict[str, pd.DataFrame], region_places: dict[Any, list[Resolution]]) -> dict[str, set[str]]:
    frame = out.get("consortia")
    if frame is None or "consortium_id" not in frame.columns:
        return {}
    return {frame.at[index, "consortium_id"]: {r.prefecture_code for r in rs if r.prefecture_code} for index, rs in region_places.items()}


# -- output ---------------------------------------------------------------------------------------


def _text(cells: dict[tuple[str, Any, str], _Field], dataset: str, index: Any, column: str) -> str:
    cell = cells.get((dataset, index, column))
    return cell.text if cell else ""


def _write_clean_columns(out: dict[str, pd.DataFrame], cells: dict[tuple[str, Any, str], _Field]) -> None:
    by_column: dict[tuple[str, str], dict[Any, _Field]] = {}
    for (dataset, index, column), cell in cells.items():
        by_column.setdefault((dataset, column), {})[index] = cell
    for (dataset, column), members in by_column.items():
        frame = out[dataset]
        target = column.removesuffix("_raw")
        if target == column:
            target = column + "_clean"
        # Read by column, not by cell: a cell read through pandas costs more than the work done with it.
        printed = frame[column].tolist()
        existing = frame[target].tolist() if target in frame.columns else [None] * len(frame)
        values = []
        for index, raw, current in zip(frame.index, printed, existing):
            cell = members[index]
            if not isinstance(raw, str):
                values.append(None)  # nothing printed stays null, not ""
            elif isinstance(current, (list, tuple, np.ndarray)):
                values.append(_clean_list(list(current), cell))  # themes split from themes_raw
            else:
                values.append(cell.text)
        frame[target] = values


def _clean_list(items: list, cell: _Field) -> list[str]:
    """A list split from a raw column: clean each item and carry the field's place repairs."""
    repairs = [c for c in cell.changes if c.rule.startswith("place_")]
    cleaned = []
    for item in items:
        text = clean_text(item if isinstance(item, str) else str(item)).text
        for change in repairs:
            text = text.replace(change.raw, change.corrected)
        cleaned.append(text)
    return cleaned


class _RowFacts:
    """Provenance and record key of a row, read from its frame once: a row has many changes and places,
    and each cell read through pandas costs more than the change it labels."""

    def __init__(self, out: dict[str, pd.DataFrame]) -> None:
        self.out = out
        self.known: dict[tuple[str, Any], tuple[dict[str, Any], str]] = {}
        # Per dataset: row position by index, and the columns read, each as one list.
        self.columns: dict[str, tuple[dict[Any, int], dict[str, list[Any]]]] = {}

    def __call__(self, dataset: str, index: Any) -> tuple[dict[str, Any], str]:
        key = (dataset, index)
        if key not in self.known:
            if dataset not in self.columns:
                frame = self.out[dataset]
                spec = DATASETS.get(dataset)
                wanted = dict.fromkeys(c for c in (*ROW_PROVENANCE, *(spec.key if spec else ())) if c in frame.columns)
                self.columns[dataset] = ({i: p for p, i in enumerate(frame.index)}, {c: frame[c].tolist() for c in wanted})
            positions, columns = self.columns[dataset]
            row = {c: values[positions[index]] for c, values in columns.items()}
            spec = DATASETS.get(dataset)
            keys = [k for k in spec.key if k in row] if spec else []
            provenance = {c: row.get(c) for c in ROW_PROVENANCE}
            self.known[key] = (provenance, record_key([row[k] for k in keys]) if keys else str(index))
        return self.known[key]


def _corrections_frame(out: dict[str, pd.DataFrame], cells: dict[tuple[str, Any, str], _Field]) -> pd.DataFrame:
    rows = []
    facts = _RowFacts(out)
    for (dataset, index, column), cell in cells.items():
        for seq, change in enumerate(cell.changes):
            provenance, key = facts(dataset, index)
            rows.append(
                {
                    **provenance,
                    "dataset": dataset,
                    "record_key": key,
                    "field": column,
                    "seq": seq,
                    "raw": change.raw,
                    "corrected": change.corrected,
                    "rule": change.rule,
                    "confidence": float(change.confidence),
                }
            )
    columns = list(ROW_PROVENANCE) + ["dataset", "record_key", "field", "seq", "raw", "corrected", "rule", "confidence"]
    return pd.DataFrame(rows, columns=columns)


def _places_frame(out: dict[str, pd.DataFrame], cells: dict[tuple[str, Any, str], _Field]) -> pd.DataFrame:
    rows = []
    facts = _RowFacts(out)
    for (dataset, index, column), cell in cells.items():
        for place in cell.places:
            provenance, key = facts(dataset, index)
            rows.append(
                {
                    **provenance,
                    "dataset": dataset,
                    "record_key": key,
                    "field": column,
                    "start": max(place.start, 0),
                    "raw": place.raw,
                    "name": place.name,
                    "prefecture": place.prefecture,
                    "jis_code": place.jis_code,
                    "kind": place.kind,
                    "method": place.method,
                    "confidence": float(place.confidence),
                    "ambiguous": place.ambiguous,
                    "candidates": list(place.candidates),
                }
            )
    columns = list(ROW_PROVENANCE) + [
        "dataset", "record_key", "field", "start", "raw", "name", "prefecture", "jis_code",
        "kind", "method", "confidence", "ambiguous", "candidates",
    ]
    return pd.DataFrame(rows, columns=columns)
