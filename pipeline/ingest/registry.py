"""The source registry (sources.yaml): which documents nichiiki reads.

The registry is input like any other: a typo, a hostile value or a file built
to exhaust the YAML loader must end in one ``RegistryError`` line that names
the file (and the entry and key), never in a traceback, a huge allocation or a
published value nobody meant. So, before YAML builds any object, the file's
size is capped and its event stream is checked (no anchors or aliases, which
is how a few hundred bytes become gigabytes; nesting no deeper than a
registry needs, since building nested objects recurses); then every entry may
hold only the known keys, each a plain string (or null), ids must match whole,
and a sample path must stay inside the allowed folders once symlinks and
``..`` are resolved.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from pipeline import REPO_ROOT

_ID = re.compile(r"[a-z0-9][a-z0-9_\-]{0,80}")
_ISSUED = re.compile(r"\d{4}-\d{2}(-\d{2})?")
# Control characters (C0, DEL, C1) and bidirectional overrides have no place in a registry value.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
MAX_REGISTRY_BYTES = 1024 * 1024
# documents → list → entry → value is depth 3; a little room for comments' sake of future keys.
MAX_DEPTH = 8
TOP_KEYS = ("documents", "indexes")
ENTRY_KEYS = ("id", "publisher", "title", "issued", "url", "sample")
# The project's own folder: bundled samples live under it.
PROJECT_ROOT = REPO_ROOT


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


def safe_yaml(text: str, where: str, max_depth: int = MAX_DEPTH) -> Any:
    """``text`` as plain data, refusing anchors, aliases, tags and deep nesting before anything is built."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise RegistryError(f"{where}: YAML anchors and aliases (&, *) are not allowed (line {_line(event)})")
            if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)) and event.tag not in (None, "!"):
                raise RegistryError(f"{where}: YAML tag {event.tag!r} is not allowed (line {_line(event)})")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > max_depth:
                    raise RegistryError(f"{where}: nested more than {max_depth} levels deep (line {_line(event)})")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{where}: not valid YAML: {' '.join(str(exc).split())}") from None


def _line(event: yaml.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark else 0


def _read(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_REGISTRY_BYTES:
            raise RegistryError(f"{path}: registry is {size} bytes, more than the {MAX_REGISTRY_BYTES} allowed")
        with path.open("rb") as fh:
            data = fh.read(MAX_REGISTRY_BYTES + 1)
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read registry: {exc.strerror or exc}") from None
    if len(data) > MAX_REGISTRY_BYTES:  # a file that grew, or a device that never ends
        raise RegistryError(f"{path}: registry is more than the {MAX_REGISTRY_BYTES} bytes allowed")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{path}: registry is not UTF-8 ({exc.reason} at byte {exc.start})") from None


def _unknown_keys(keys: Iterable[Any], known: tuple[str, ...], where: str) -> None:
    for key in keys:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
            raise RegistryError(f"{where}: unknown key {key!r}{hint}")


def _text(item: dict, key: str, where: str, required: bool = False) -> str | None:
    value = item.get(key)
    if value is None:
        if required:
            raise RegistryError(f"{where}: missing {key}")
        return None
    if not isinstance(value, str):
        raise RegistryError(f"{where}: {key} must be a plain string, got {type(value).__name__} {value!r} (quote it)")
    if _CONTROL.search(value):
        raise RegistryError(f"{where}: {key} {value!r} holds a control or bidi character")
    if required and not value.strip():
        raise RegistryError(f"{where}: missing {key}")
    return value


def allowed_sample_roots(registry: Path, extra: Iterable[Path] = ()) -> tuple[Path, ...]:
    """Folders a sample may live in: the registry's folder, the project, and any given."""
    roots = [Path(registry).resolve().parent, PROJECT_ROOT, *(Path(p).resolve() for p in extra)]
    from_env = os.environ.get("NICHIIKI_SAMPLE_DIRS", "")
    roots += [Path(p).resolve() for p in from_env.split(os.pathsep) if p]
    return tuple(dict.fromkeys(roots))


def confined_sample(value: str, base: Path, roots: tuple[Path, ...], where: str) -> Path:
    """``value`` resolved against ``base`` (symlinks and ``..`` included), or RegistryError if outside ``roots``."""
    path = base / value
    real = Path(os.path.realpath(path))
    if not any(real == root or real.is_relative_to(root) for root in roots):
        allowed = ", ".join(str(r) for r in roots)
        raise RegistryError(f"{where}: sample {value!r} resolves to {real}, outside the allowed folders ({allowed})")
    return path


def load_registry(path: Path, sample_dirs: Iterable[Path] = ()) -> list[SourceEntry]:
    """Read and check ``path``; relative sample paths resolve against its folder.

    ``sample_dirs``: folders besides the registry's own and the project where
    samples may live (also ``NICHIIKI_SAMPLE_DIRS``, separated by ``:``).
    """
    path = Path(path)
    data = safe_yaml(_read(path), str(path))
    if not isinstance(data, dict) or not isinstance(data.get("documents"), list):
        raise RegistryError(f"{path}: expected a mapping with a 'documents' list")
    _unknown_keys(data, TOP_KEYS, str(path))
    base = path.resolve().parent
    roots = allowed_sample_roots(path, sample_dirs)
    entries: list[SourceEntry] = []
    seen: set[str] = set()
    for i, item in enumerate(data["documents"]):
        where = f"{path}: documents[{i}]"
        if not isinstance(item, dict):
            raise RegistryError(f"{where}: expected a mapping")
        doc_id = item.get("id")
        if not isinstance(doc_id, str) or not _ID.fullmatch(doc_id):
            raise RegistryError(f"{where}: id {doc_id!r} must be a string of lower-case letters, digits, _ or -")
        where = f"{where} ({doc_id})"
        _unknown_keys(item, ENTRY_KEYS, where)
        if doc_id in seen:
            raise RegistryError(f"{where}: duplicate id {doc_id!r}")
        seen.add(doc_id)
        publisher = _text(item, "publisher", where, required=True)
        title = _text(item, "title", where, required=True)
        issued = _text(item, "issued", where)
        if issued is not None and not _ISSUED.fullmatch(issued):
            raise RegistryError(f"{where}: issued {issued!r} is not YYYY-MM or YYYY-MM-DD")
        url = _text(item, "url", where)
        if url is not None and not url.startswith(("http://", "https://")):
            raise RegistryError(f"{where}: url must be http(s)")
        sample = _text(item, "sample", where)
        if url is None and sample is None:
            raise RegistryError(f"{where}: needs a url or a sample")
        entries.append(
            SourceEntry(
                id=doc_id,
                publisher=publisher,
                title=title,
                issued=issued,
                url=url,
                sample=None if sample is None else confined_sample(sample, base, roots, where),
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
