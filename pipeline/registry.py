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
