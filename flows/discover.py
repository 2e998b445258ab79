"""Discovery flows: find new PDFs on the registry's index pages, then (weekly) fetch and publish.

- ``discover_flow``: read each index page, propose new PDF links in
  ``sources.discovered.yaml`` (accepting them at once when the
  ``accept_discovered`` setting is on). Tasks wrap pipeline.ingest.discover's plain
  functions.
- ``discover_and_run``: discovery, then the main flow with fetching on, so
  accepted documents are downloaded and published. prefect.yaml deploys it as
  ``nichiiki/weekly-discovery``.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from pipeline.ingest.crawl import PoliteClient
from pipeline.ingest.discover import DiscoveryReport, IndexRead, allowed_hosts, read_index, record_links
from pipeline.ingest.registry import IndexPage, load_indexes
from pipeline.ingest.settings import load_settings
from flows.main import nichiiki_flow


@task(name="read-index", task_run_name="read-index-{index.id}", cache_policy=NO_CACHE)
def read_index_task(client: PoliteClient, index: IndexPage, cache_dir: str) -> IndexRead:
    """GET one index page (conditionally) and list its PDF links."""
    return read_index(client, index, Path(cache_dir))


@task(name="record-links", cache_policy=NO_CACHE)
def record_links_task(sources: str, reads: list[IndexRead], client: PoliteClient, accept_new: bool) -> DiscoveryReport:
    """Probe new links, update the discovered-documents file, accept when asked."""
    return record_links(Path(sources), reads, client, accept_new=accept_new)


@flow(name="nichiiki-discover", log_prints=True)
def discover_flow(sources: str = "sources.yaml", cache_dir: str = ".cache", accept: bool | None = None, crawl_delay: float | None = None) -> dict:
    """Propose the new PDFs linked from the index pages of ``sources``.

    ``accept``: copy them into the registry at once (None: the
    ``accept_discovered`` setting). ``crawl_delay``: seconds between two
    requests to one host (None: the setting).
    """
    logger = get_run_logger()
    settings = load_settings({"accept_discovered": accept, "crawl_delay": crawl_delay})
    indexes = load_indexes(Path(sources))
    client = PoliteClient(settings.crawl_settings(), allowed_hosts(indexes))
    # One page after another: the client also serialises requests per host, but there is nothing to gain here.
    reads = [read_index_task(client, index, str(Path(cache_dir) / "discover")) for index in indexes]
    report = record_links_task(sources, reads, client, settings.accept_discovered)
    for read in reads:
        if read.error:
            logger.warning("index page %s not read: %s", read.index.url, read.error)
        else:
            state = "unchanged (304)" if read.not_modified else f"read ({read.encoding})"
            logger.info("%s: %s, %d PDF link(s)", read.index.url, state, len(read.links))
    for record in report.proposed:
        logger.info("NEW %s: %s (%s)", record.id, record.title, record.url)
    for record in report.gone:
        logger.warning("GONE %s is no longer linked from %s; the registry and published data keep it", record.url, record.found_on)
    for url, reason in report.broken:
        logger.warning("BROKEN %s: %s (not proposed; tried again next time)", url, reason)
    if report.accepted:
        logger.info("accepted into %s: %s", sources, ", ".join(report.accepted))
    return report.summary()


@flow(name="nichiiki-discover-and-run", log_prints=True)
def discover_and_run(sources: str = "sources.yaml", outputs: str = "outputs", cache_dir: str = ".cache", accept: bool | None = None) -> dict:
    """Discovery, then the main flow with fetching on: what was accepted is downloaded and published."""
    found = discover_flow(sources=sources, cache_dir=cache_dir, accept=accept)
    published = nichiiki_flow(sources=sources, outputs=outputs, cache_dir=cache_dir, fetch=True)
    return {"discovery": found, "run": published}
