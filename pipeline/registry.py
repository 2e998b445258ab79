"""The source registry (sources.yaml): which documents nichiiki reads."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,80}$")
_ISSUED = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


class RegistryError(ValueError):
    """sources.yaml is malformed; the message names the entry and the field."""


@dataclass(frozen=True)
class SourceEntry:
    """One document: where it is published and the bundled sample it falls back to."""

    id: str
    publisher: str
    title: str
    issued: str | None
    url: str | None
    sample: Path | None

    @property
    def location(self) -> str:
        """What a message names as this document's source."""
        return self.url or (str(self.sample) if self.sample else self.id)


def load_registry(path: Path) -> list[SourceEntry]:
    """Read and check ``path``; relative sample paths resolve against its folder."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RegistryError(f"{path}: cannot read registry: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise RegistryError(f"{path}: expected a mapping with a 'documents' list")
    base = Path(path).resolve().parent
    entries: list[SourceEntry] = []
    seen: set[str] = set()
    for i, item in enumerate(data["documents"]):
        where = f"{path}: documents[{i}]"
        if not isinstance(item, dict):
            raise RegistryError(f"{where}: expected a mapping")
        doc_id = str(item.get("id", ""))
        if not _ID.match(doc_id):
            raise RegistryError(f"{where}: id {doc_id!r} must be lower-case letters, digits, _ or -")
        if doc_id in seen:
            raise RegistryError(f"{where}: duplicate id {doc_id!r}")
        seen.add(doc_id)
        for field in ("publisher", "title"):
            if not item.get(field):
                raise RegistryError(f"{where} ({doc_id}): missing {field}")
        issued = item.get("issued")
        if issued is not None and not _ISSUED.match(str(issued)):
            raise RegistryError(f"{where} ({doc_id}): issued {issued!r} is not YYYY-MM or YYYY-MM-DD")
        url = item.get("url")
        if url is not None and not str(url).startswith(("http://", "https://")):
            raise RegistryError(f"{where} ({doc_id}): url must be http(s)")
        sample = item.get("sample")
        if url is None and sample is None:
            raise RegistryError(f"{where} ({doc_id}): needs a url or a sample")
        entries.append(
            SourceEntry(
                id=doc_id,
                publisher=str(item["publisher"]),
                title=str(item["title"]),
                issued=None if issued is None else str(issued),
                url=None if url is None else str(url),
                sample=None if sample is None else (base / str(sample)),
            )
        )
    return entries


# --------------------------------------------------------------------------- index pages


@dataclass(frozen=True)
class IndexPage:
    """A publisher's page that links to its PDFs; discovery reads it for new documents.

    ``pattern`` is a regular expression a link's resolved URL must match (searched,
    not anchored) to be proposed; ``hosts`` are further hosts its PDFs may be
    served from besides the page's own.
    """

    id: str
    publisher: str
    url: str
    pattern: str
    hosts: tuple[str, ...] = ()


def load_indexes(path: Path) -> list[IndexPage]:
    """The ``indexes:`` section of ``path`` (none when the section is absent)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RegistryError(f"{path}: cannot read registry: {exc}") from exc
    items = data.get("indexes") if isinstance(data, dict) else None
    if items is None:
        return []
    if not isinstance(items, list):
        raise RegistryError(f"{path}: 'indexes' must be a list")
    pages: list[IndexPage] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"{path}: indexes[{i}]"
        if not isinstance(item, dict):
            raise RegistryError(f"{where}: expected a mapping")
        index_id = item.get("id")
        if not isinstance(index_id, str) or not _ID.match(index_id):
            raise RegistryError(f"{where}: id {index_id!r} must be lower-case letters, digits, _ or -")
        if index_id in seen:
            raise RegistryError(f"{where}: duplicate id {index_id!r}")
        seen.add(index_id)
        for field in ("publisher", "url", "pattern"):
            if not isinstance(item.get(field), str) or not item[field]:
                raise RegistryError(f"{where} ({index_id}): {field} must be a non-empty string")
        if not item["url"].startswith(("http://", "https://")):
            raise RegistryError(f"{where} ({index_id}): url must be http(s)")
        try:
            re.compile(item["pattern"])
        except re.error as exc:
            raise RegistryError(f"{where} ({index_id}): pattern is not a regular expression: {exc}") from exc
        hosts = item.get("hosts") or []
        if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
            raise RegistryError(f"{where} ({index_id}): hosts must be a list of host names")
        pages.append(IndexPage(index_id, item["publisher"], item["url"], item["pattern"], tuple(h.lower() for h in hosts)))
    return pages
