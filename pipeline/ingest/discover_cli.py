"""``nichiiki discover`` and ``nichiiki sources accept|list``: a function per command (flows/cli.py wires them).

``discover`` runs the same steps as flows/discover.py's flow, without a
Prefect server, for an engineer at a terminal.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.ingest.registry import RegistryError
from pipeline.ingest.settings import SettingsError, load_settings


def discover_command(sources: Path | None = None, cache_dir: Path | None = None, accept: bool | None = None, delay: float | None = None, config: Path | None = None) -> int:
    """Read the index pages, print what is new, gone or broken; exit 0 (1 when no index page could be read)."""
    from pipeline.ingest.discover import run_discovery
    from pipeline.ingest.discovered import discovered_path

    try:
        settings = load_settings({"sources": sources, "cache_dir": cache_dir, "accept_discovered": accept, "crawl_delay": delay}, config)
        report = run_discovery(settings.sources, settings.cache_dir / "discover", settings=settings.crawl_settings(), accept_new=settings.accept_discovered)
    except (SettingsError, RegistryError) as exc:
        print(f"nichiiki: {exc}", file=sys.stderr)
        return 2
    for record in report.proposed:
        print(f"NEW     {record.id}  {record.title}  {record.url}")
    for record in report.back:
        print(f"BACK    {record.id}  {record.url}")
    for record in report.gone:
        print(f"GONE    {record.id}  {record.url} (no longer on {record.found_on}; kept in the registry)")
    for url, reason in report.broken:
        print(f"BROKEN  {url}: {reason}")
    for url, reason in report.skipped:
        print(f"SKIPPED {url}: {reason}")
    for url, reason in report.failed_pages:
        print(f"FAILED  {url}: {reason}", file=sys.stderr)
    where = discovered_path(settings.sources)
    if report.accepted:
        print(f"accepted into {settings.sources}: {', '.join(report.accepted)}")
    elif report.proposed:
        print(f"review {where}, then: nichiiki sources accept ID ...")
    print(f"{report.pages} page(s) read, {report.links} PDF link(s), {len(report.proposed)} new, {len(report.gone)} gone, {len(report.broken)} broken")
    return 1 if report.failed_pages and not report.pages else 0


def accept_command(ids: list[str], sources: Path = Path("sources.yaml"), all_proposed: bool = False) -> int:
    """Copy discovered documents into the registry."""
    from pipeline.ingest.discovered import accept

    if bool(ids) == all_proposed:
        print("nichiiki: name the ids to accept, or --all", file=sys.stderr)
        return 2
    try:
        added = accept(sources, None if all_proposed else ids)
    except RegistryError as exc:
        print(f"nichiiki: {exc}", file=sys.stderr)
        return 1
    print(f"added to {sources}: {', '.join(added)}" if added else "nothing to add")
    return 0


def list_command(sources: Path = Path("sources.yaml")) -> int:
    """Print the discovered documents waiting for review."""
    from pipeline.ingest.discovered import discovered_path, read_discovered

    try:
        records = read_discovered(discovered_path(sources))
    except RegistryError as exc:
        print(f"nichiiki: {exc}", file=sys.stderr)
        return 1
    for record in records:
        if record.status == "proposed":
            gone = f" (gone since {record.gone_since})" if record.gone_since else ""
            print(f"{record.id}  {record.first_seen}  {record.title}  {record.url}{gone}")
    return 0
