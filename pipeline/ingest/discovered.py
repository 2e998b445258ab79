"""The discovered-documents file (``sources.discovered.yaml``) and accepting its entries.

Discovery never edits the registry by itself: it writes what it found to a
file beside it, which an engineer reviews. Each record is a PDF link with the
page it was found on and the date first seen, and a status:

- ``proposed``: new, waiting for review (``nichiiki sources accept ID``);
- ``accepted``: copied into the registry;
- ``registered``: the registry already named this URL when it was found;
- ``rejected``: set by hand; never proposed again.

``gone_since`` is set when the page no longer links it. Accepting appends the
entry to the registry's ``documents:`` list as text, so the registry keeps
its comments and layout, with a comment saying where it was found.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.parse
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from pipeline.ingest.registry import RegistryError, load_registry

STATUSES = ("proposed", "accepted", "registered", "rejected")
_HEADER = """\
# Documents found on the index pages of the source registry (nichiiki discover).
# Review each `proposed` entry, then `nichiiki sources accept ID` copies it into the
# registry. Set status: rejected to stop an entry from being proposed again.
"""
_MAX_ID = 80


@dataclass
class Discovered:
    id: str
    url: str
    title: str
    publisher: str
    found_on: str
    first_seen: str  # ISO date
    status: str = "proposed"
    gone_since: str | None = None


def discovered_path(sources: Path) -> Path:
    """``sources.discovered.yaml`` beside ``sources.yaml``."""
    sources = Path(sources)
    return sources.with_name(f"{sources.stem}.discovered{sources.suffix or '.yaml'}")


def new_id(prefix: str, url: str, taken: set[str]) -> str:
    """A registry id from the index's id and the PDF's file name, unique among ``taken``."""
    name = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
    stem = re.sub(r"\.pdf$", "", name, flags=re.IGNORECASE).lower()
    stem = re.sub(r"[^a-z0-9_-]+", "_", stem).strip("_-")
    if not stem:  # a Japanese file name: the URL's hash keeps the id stable
        stem = hashlib.sha256(url.encode()).hexdigest()[:10]
    base = f"{prefix}_{stem}"[: _MAX_ID - 4].rstrip("_-")
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def read_discovered(path: Path) -> list[Discovered]:
    """The records of ``path`` (none when it does not exist yet)."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise RegistryError(f"{path}: cannot read discovered documents: {exc}") from exc
    items = data.get("discovered") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise RegistryError(f"{path}: expected a mapping with a 'discovered' list")
    records = []
    fields = set(Discovered.__dataclass_fields__)
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not {"id", "url", "title", "publisher", "found_on", "first_seen"} <= set(item):
            raise RegistryError(f"{path}: discovered[{i}]: expected id, url, title, publisher, found_on, first_seen")
        unknown = set(item) - fields
        if unknown:
            raise RegistryError(f"{path}: discovered[{i}]: unknown keys {sorted(unknown)}")
        record = Discovered(**{k: (None if v is None else str(v)) for k, v in item.items()})
        if record.status not in STATUSES:
            raise RegistryError(f"{path}: discovered[{i}] ({record.id}): status must be one of {', '.join(STATUSES)}")
        records.append(record)
    return records


def write_discovered(path: Path, records: list[Discovered]) -> None:
    """Write ``records`` (in first-seen order, then id) atomically."""
    ordered = sorted(records, key=lambda r: (r.first_seen, r.found_on, r.id))
    items = [{k: v for k, v in asdict(r).items() if v is not None} for r in ordered]
    text = _HEADER + yaml.safe_dump({"discovered": items}, allow_unicode=True, sort_keys=False, width=1000)
    _replace(Path(path), text)


# --------------------------------------------------------------------------- accepting


def accept(sources: Path, ids: list[str] | None) -> list[str]:
    """Copy the proposed records ``ids`` (all proposed ones for ``None``) into the registry; return the ids added.

    The registry is rewritten only when the result still loads as a valid
    registry; the record's status becomes ``accepted``. Accepting an id whose
    URL the registry already holds just marks it accepted.
    """
    sources = Path(sources)
    ledger_path = discovered_path(sources)
    ledger = read_discovered(ledger_path)
    by_id = {r.id: r for r in ledger}
    if ids is None:
        chosen = [r for r in ledger if r.status == "proposed"]
    else:
        pending = ", ".join(r.id for r in ledger if r.status == "proposed") or "none"
        chosen = []
        for doc_id in ids:
            record = by_id.get(doc_id)
            if record is None:
                raise RegistryError(f"{ledger_path}: no discovered document {doc_id!r} (proposed: {pending})")
            if record.status != "proposed":
                raise RegistryError(f"{ledger_path}: {doc_id!r} is {record.status}, not proposed")
            chosen.append(record)
    if not chosen:
        return []
    entries = load_registry(sources)
    urls = {e.url for e in entries if e.url}
    ids_in_registry = {e.id for e in entries}
    added = []
    for record in chosen:
        if record.url in urls:
            continue
        if record.id in ids_in_registry:
            raise RegistryError(f"{sources}: id {record.id!r} is already used by another document; rename it in {ledger_path}")
        added.append(record)
    if added:
        text = sources.read_text(encoding="utf-8")
        new_text = append_documents(text, added)
        tmp = sources.with_name(f".{sources.name}.{os.getpid()}.check.yaml")
        tmp.write_text(new_text, encoding="utf-8")
        try:
            loaded = {e.id for e in load_registry(tmp)}
        finally:
            tmp.unlink(missing_ok=True)
        missing = [r.id for r in added if r.id not in loaded]
        if missing or not ids_in_registry <= loaded:
            raise RegistryError(f"{sources}: accepting would not give a registry with {missing or 'its old entries'}; nothing changed")
        _replace(sources, new_text)
    for record in chosen:
        record.status = "accepted"
    write_discovered(ledger_path, ledger)
    return [r.id for r in added]


def append_documents(text: str, records: list[Discovered]) -> str:
    """``text`` (a registry) with ``records`` appended to its ``documents:`` block list, all else kept."""
    root = yaml.compose(text)
    documents = None
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "documents":
                documents = value
    if isinstance(documents, yaml.SequenceNode) and not documents.value:
        # `documents: []`: the empty list becomes a block list holding the new entries.
        start, end = documents.start_mark.index, documents.end_mark.index
        return text[:start].rstrip(" ") + "\n" + "".join(_entry_text(r, 4) for r in records) + text[end:].lstrip("\n")
    if not isinstance(documents, yaml.SequenceNode) or documents.flow_style:
        raise RegistryError("the registry's documents: must be a block list to append to")
    last = documents.value[-1]
    end_line = max(node.end_mark.line for node in _scalars(last))
    indent = last.start_mark.column  # where the item's keys start; the dash is two columns left
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    block = "".join(_entry_text(r, indent) for r in records)
    return "".join(lines[: end_line + 1]) + block + "".join(lines[end_line + 1 :])


def _entry_text(record: Discovered, indent: int) -> str:
    pad, dash = " " * indent, " " * max(indent - 2, 0)
    quoted = lambda s: json.dumps(s, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar  # noqa: E731
    return (
        f"{dash}# found {record.first_seen} on {record.found_on}\n"
        f"{dash}- id: {record.id}\n"
        f"{pad}publisher: {quoted(record.publisher)}\n"
        f"{pad}title: {quoted(record.title)}\n"
        f"{pad}issued: null\n"
        f"{pad}url: {quoted(record.url)}\n"
        f"{pad}sample: null\n"
    )


def _scalars(node):
    if isinstance(node, yaml.ScalarNode):
        yield node
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            yield from _scalars(child)
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _scalars(key)
            yield from _scalars(value)


def _replace(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
