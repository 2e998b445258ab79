"""The main Prefect flow: registry → obtain → extract → check → publish.

Tasks are thin wrappers around pipeline.runs.steps's plain functions. Run it with
``make run`` (or ``.venv/bin/nichiiki run``); the deployments are declared in
prefect.yaml.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import FailedRun
from prefect.runtime import task_run
from prefect.states import Completed, Failed
from prefect.tasks import exponential_backoff
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from pipeline import REPO_ROOT
from pipeline.runs import guarded
from pipeline.runs import steps
from pipeline.runs.outcomes import Failure, Obtained, largest_first
from pipeline.runs.cache import ResultCache
from pipeline.model.errors import ValidationFailed
from pipeline.document.results import DocumentExtraction
from pipeline.ingest.fetch import FetchSettings
from pipeline.model.limits import Limits
from pipeline.ingest.pdfstore import store_pdf, without_local_roots
from pipeline.model.clock import utc_now
from pipeline.model.timeline import mark
from pipeline.publish.writer import PublishFailed, PublishLocked, code_version, new_run_id, read_manifest
from pipeline.ingest.registry import RegistryError, SourceEntry, load_registry
from pipeline.ingest.settings import Settings, load_settings



def task_runner_for(settings: Settings) -> TaskRunner:
    """Where document tasks run: a thread pool here, or Dask (a local cluster or one at an address)."""
    runner = settings.effective_runner()
    if runner == "sequential":
        return ThreadPoolTaskRunner(max_workers=1)
    if runner == "threads":
        return ThreadPoolTaskRunner(max_workers=settings.workers)
    import dask
    from prefect_dask import DaskTaskRunner

    # The sandbox starts a child process per document, which a daemonic Dask
    # worker may not do; workers of a cluster at an address need the same setting.
    dask.config.set({"distributed.worker.daemon": False})
    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    # One thread per worker process: extraction is CPU-bound Python, so
    # processes (not threads) are what use more than one core.
    return DaskTaskRunner(cluster_kwargs={"n_workers": settings.workers, "threads_per_worker": 1, "processes": True, "dashboard_address": None})


# fetch.py already retries a download a few times within seconds; these task
# retries wait minutes, for a site that is down for a while (a scheduled run).
OBTAIN_RETRIES = 2
# What fetch.py says when its own attempts ran out on transient errors (5xx, timeouts).
TRANSIENT_MARK = "gave up after"
NO_NETWORK_HINT = " (downloads are off: pass --fetch, or set NICHIIKI_FETCH=true or the deployment parameter fetch: true)"


class TransientFetchFailure(RuntimeError):
    """Raised so Prefect retries ``obtain``; the last attempt returns the Failure instead."""


@task(
    name="obtain",
    task_run_name="obtain-{entry.id}",
    retries=OBTAIN_RETRIES,
    retry_delay_seconds=exponential_backoff(backoff_factor=30),
    retry_jitter_factor=0.5,
    # A run must look at the source again every time (conditional GET), never reuse an old answer.
    cache_policy=NO_CACHE,
    persist_result=False,
)
def obtain_task(entry: SourceEntry, fetch_dir: str, fetch: FetchSettings, use_network: bool) -> Obtained | Failure:
    """Get the document's bytes onto local disk: download its url, or read its bundled sample."""
    got = guarded.obtain(entry, Path(fetch_dir), fetch, use_network=use_network)
    if isinstance(got, Obtained) and got.note:
        get_run_logger().warning("%s: %s", entry.id, got.note)
    if isinstance(got, Failure):
        if entry.url and not use_network:
            got.message += NO_NETWORK_HINT
        elif use_network and TRANSIENT_MARK in got.message and task_run.run_count <= OBTAIN_RETRIES:
            raise TransientFetchFailure(got.message)
    return got


# The result cache (pipeline.runs.cache) decides what is reused, keyed by the
# document's sha256, the code and the config; Prefect's own input hashing
# would key on paths and could not hash the frames.
@task(name="extract", task_run_name="extract-{obtained.entry.id}", cache_policy=NO_CACHE, persist_result=False)
def extract_task(
    obtained: Obtained, cache_dir: str | None = None, config: dict | None = None, limits: Limits | None = None
) -> DocumentExtraction | Failure:
    """Parse one PDF and run every extractor on it (in the sandbox when ``limits`` are given), or read the cached result.

    A cache hit ends in the state Cached, a fresh extraction in Completed.
    """
    mark("task:extract", doc_id=obtained.entry.id)
    logger = get_run_logger()
    cache = ResultCache(Path(cache_dir)) if cache_dir else None
    started = time.perf_counter()
    # OCR text is cached beside the results (cache_dir/ocr): no cache, no OCR cache either.
    result = steps.process_document(obtained, cache, config, limits, ocr_cache_dir=Path(cache_dir) if cache_dir else None)
    seconds = time.perf_counter() - started
    if isinstance(result, Failure):
        logger.warning("%s failed in %.2f s: %s", obtained.entry.id, seconds, result.message.splitlines()[0])
    elif "cache:read" in result.timings:
        logger.info("%s: unchanged (sha256 %s…), result read from the cache in %.2f s", obtained.entry.id, obtained.sha256[:12], seconds)
        # A hit of the result cache (keyed by sha256, code and config) shows as Cached in the UI.
        return Completed(name="Cached", data=result)
    else:
        logger.info("%s: extracted %d page(s) in %.2f s: %s", obtained.entry.id, result.info.pages, seconds, {k: len(v) for k, v in result.frames.items()})
    if isinstance(result, DocumentExtraction):
        for step in result.failures:  # the document is published without what this step makes
            logger.warning("%s: %s", obtained.entry.id, step.message)
    return result


def _describe(result: DocumentExtraction | Failure) -> str:
    """One document's outcome for its progress line."""
    if isinstance(result, Failure):
        return f"FAILED at {result.stage}: {result.message.splitlines()[0]}"
    rows = sum(len(f) for f in result.frames.values())
    return f"{result.info.pages} page(s), {rows} row(s)"


def extract_documents(
    obtained: list[Obtained],
    cache_dir: str | None,
    config: dict,
    progress: bool = False,
    limits: Limits | None = None,
    *,
    task_runner: TaskRunner,
) -> list:
    """Every document's extract task on ``task_runner``, largest first; results in ``obtained``'s order.

    The tasks run in the calling flow's run, on a runner started here and shut down when they are
    done. Not in a subflow of their own: creating one on the server held the first document back
    ~2 s, and stopping its heartbeat thread, which sleeps in whole seconds, held the flow up to 1 s
    after the last.
    """
    order = largest_first(obtained)
    with task_runner as runner:
        submitted = runner.map(
            extract_task,
            {"obtained": [obtained[i] for i in order], "cache_dir": unmapped(cache_dir), "config": unmapped(config), "limits": unmapped(limits)},
        )
        position = {doc: pos for pos, doc in enumerate(order)}
        futures = [submitted[position[i]] for i in range(len(obtained))]
        if not progress:
            return [f.result() for f in futures]
        from flows.progress import wait_with_progress

        return wait_with_progress(futures, [o.entry.id for o in obtained], _describe, f"extracting {len(obtained)} document(s)")


@flow(name="nichiiki", log_prints=True)
def nichiiki_flow(
    sources: str = "sources.yaml",
    outputs: str = "outputs",
    force: bool = False,
    cache_dir: str | None = ".cache",
    progress: bool = False,
    runner: str | None = None,
    workers: int | None = None,
    dask_address: str | None = None,
    fetch: bool | None = None,
    sandbox: bool | None = None,
    limits: dict | None = None,
) -> dict:
    """Publish every document of the source registry to a new release.

    A document that fails to download or extract keeps its last published
    rows, marked stale in ``documents`` with the reason. The runner (a Dask
    cluster, say) starts only when something has to be extracted, so a
    no-op run stays fast.

    Args:
        sources: Source registry (sources.yaml): the documents to read.
        outputs: Output folder receiving releases/ and the `current` symlink.
        force: Publish even when inputs, code and config are unchanged.
        cache_dir: Per-document result cache, reused when a document's sha256, the code and the config are unchanged (empty: no cache). Downloads are kept here too.
        progress: Show a line per document on an interactive terminal.
        runner: How document tasks run: sequential, threads or dask (empty: the NICHIIKI_RUNNER setting).
        workers: Threads, or processes of the local Dask cluster (empty: NICHIIKI_WORKERS).
        dask_address: Scheduler of an existing Dask cluster, tcp://host:8786 (implies runner=dask).
        fetch: Download sources that have a url (retries, conditional GET); off reads the bundled samples (empty: NICHIIKI_FETCH).
        sandbox: Parse each document in a child process under the limits (empty: NICHIIKI_SANDBOX).
        limits: Budgets of the sandbox (max_file_bytes, max_pages, seconds_per_page, seconds_per_document, memory_mb); empty: the settings.
    """
    mark("flow:start")
    logger = get_run_logger()
    run_id = new_run_id()
    started = time.perf_counter()
    timings: dict[str, float] = {}
    entries = load_registry(Path(sources))

    settings = load_settings({"runner": runner, "workers": workers, "dask_address": dask_address, "fetch": fetch, "sandbox": sandbox})
    t = time.perf_counter()
    # Downloads go to the cache folder even when result caching is off: they are the run's input.
    fetch_dir = str(Path(cache_dir or settings.cache_dir) / "fetch")
    with guarded.stop_on_signals():  # SIGTERM/SIGINT end downloads at once instead of waiting for them
        got = [f.result() for f in obtain_task.map(entries, unmapped(fetch_dir), unmapped(settings.fetch_settings()), unmapped(settings.fetch))]
    obtained = [g for g in got if isinstance(g, Obtained)]
    failures = [g for g in got if isinstance(g, Failure)]
    # Every input by sha256, so a later diff can crop this release's sources.
    stored = {o.sha256: store_pdf(o.path, o.sha256, Path(cache_dir or settings.cache_dir)) for o in obtained}
    timings["obtain"] = time.perf_counter() - t

    task_config = settings.task_config()
    config = {"sources": [e.__dict__ | {"sample": str(e.sample)} for e in entries], "task": task_config}
    fingerprint = steps.inputs_fingerprint(obtained, failures, config)
    same = None if force else steps.unchanged_release(Path(outputs), fingerprint)
    if same is not None:
        logger.info("Nothing changed since release %s (same inputs, code and schema): nothing published.", same.name)
        return {"published": False, "release": str(same), "run_id": same.name}

    t = time.perf_counter()
    cache = str(Path(cache_dir).resolve()) if cache_dir else None
    budgets = (Limits(**limits) if limits else settings.limits()) if settings.sandbox else None
    with guarded.stop_on_signals():
        results = extract_documents(obtained, cache, task_config, progress, budgets, task_runner=task_runner_for(settings))
    timings["extract"] = time.perf_counter() - t
    mark("flow:extracted")
    extractions = [r for r in results if isinstance(r, DocumentExtraction)]
    failures += [r for r in results if isinstance(r, Failure)]
    failures += [f for ex in extractions for f in steps.step_failures(ex)]
    for failure in failures:
        logger.warning("FAILED %s", failure.message)
    for ex in extractions:
        for stage, seconds in ex.timings.items():
            timings[stage] = timings.get(stage, 0.0) + seconds

    if not extractions:
        # Publishing would replace the current release with one that holds nothing.
        raise steps.NothingExtracted(failures)
    frames = steps.assemble(extractions, failures, {o.entry.id: o for o in obtained}, REPO_ROOT)
    stale = steps.last_good_rows(failures, Path(outputs))
    if stale:
        frames = steps.with_last_good_rows(frames, stale)
        for doc_id in stale["documents"]["doc_id"]:
            logger.warning("%s: failed in this run, its last published rows are kept (marked stale)", doc_id)
    manifest = {
        "run_id": run_id,
        "created_at": utc_now(),
        "code_version": code_version(),
        "fingerprint": fingerprint,
        "inputs": [
            {"doc_id": o.entry.id, "source": o.source, "path": str(o.path), "sha256": o.sha256, "fetched_at": o.fetched_at}
            | ({"stored": str(stored[o.sha256])} if stored.get(o.sha256) else {})
            | ({"note": o.note} if o.note else {})
            for o in obtained
        ],
        "failures": [f.__dict__ for f in failures],
        "timings": timings,
    }
    # Paths under the registry's folder or this checkout are written relative to it.
    manifest = without_local_roots(manifest, [Path(sources).resolve().parent, REPO_ROOT, Path.cwd()])
    try:
        release, checks = steps.check_and_publish(frames, manifest, Path(outputs))
    except (PublishFailed, PublishLocked) as exc:
        # One line naming the path and saying what stayed: the run failed, its traceback says nothing more.
        logger.error("%s", exc)
        return Failed(message=str(exc))
    reviews = read_manifest(release)["outputs"].get("value_reviews", {}).get("rows", 0)
    if reviews:
        logger.warning("%d value(s) broke a column check and were set aside (published as null or their row left out): see value_reviews", reviews)
    for check in checks:
        if not check.ok:  # non-blocking ones (blocking failures stop publishing before this)
            logger.warning("check FAILED (non-blocking): %s", check.detail)
    logger.info("%d of %d checks passed; all are in the manifest", sum(c.ok for c in checks), len(checks))
    rows = {name: len(frame) for name, frame in frames.items()}
    logger.info("Published release %s in %.1f s: %s", release.name, time.perf_counter() - started, rows)
    stale_ids = sorted(stale["documents"]["doc_id"]) if stale else []
    mark("flow:published")
    publish_artifacts(release, rows, failures, stale_ids)
    return {"published": True, "release": str(release), "run_id": run_id, "rows": rows, "failures": len(failures)}


def run(settings: Settings) -> dict:
    """Run the flow as ``settings`` say (task runner included)."""
    return nichiiki_flow(
        sources=str(settings.sources),
        outputs=str(settings.outputs),
        force=settings.force,
        cache_dir=str(settings.cache_dir) if settings.cache else None,
        progress=settings.progress,
        runner=settings.runner,
        workers=settings.workers,
        dask_address=settings.dask_address,
        fetch=settings.fetch,
        sandbox=settings.sandbox,
        limits=dataclasses.asdict(settings.limits()),
    )


def publish_artifacts(release: Path, rows: dict[str, int], failures: list[Failure], stale: list[str]) -> None:
    """The release and its failures as Prefect artifacts (shown on the flow run in the UI)."""
    key = "nichiiki-release"
    lines = [
        f"# Release `{release.name}`",
        "",
        f"Published to `{release}`: {sum(rows.values())} rows in {sum(1 for n in rows.values() if n)} non-empty dataset(s), "
        f"{len(failures)} failed document(s)" + (f", {len(stale)} kept from the previous release (stale): {', '.join(stale)}" if stale else "") + ".",
        "",
        "| dataset | rows |",
        "|---|---:|",
        *(f"| {name} | {count} |" for name, count in sorted(rows.items())),
    ]
    create_markdown_artifact(markdown="\n".join(lines), key=key, description="Rows per dataset of the published release")
    create_table_artifact(
        table=[
            {"doc_id": f.doc_id, "stage": f.stage, "error": f.error_class, "message": f.message.splitlines()[0], "kept_stale": f.doc_id in stale}
            for f in failures
        ]
        or [{"doc_id": "", "stage": "", "error": "", "message": "no failures", "kept_stale": False}],
        key=f"{key}-failures",
        description="Documents that failed in this run, with the stage and the reason",
    )


def run_and_report(settings: Settings) -> int:
    """Run as ``settings`` say; one line for the operator and the exit code.

    0: published, or nothing changed; 1: nothing could be published (the
    current release stays), or with ``strict`` any document failed.
    """
    try:
        result = run(settings)
    except (steps.NothingExtracted, ValidationFailed, PublishLocked, FailedRun, OSError) as exc:
        # The first line is the whole story (path, reason, what stayed); details, if any, follow.
        first, _, details = str(exc).partition("\n")
        unchanged = "" if "unchanged" in first or "no release was published" in first else f"; {settings.outputs}/current is unchanged"
        print(f"nichiiki: {first.rstrip(':')}{unchanged}" + (f"\n{details}" if details else ""), file=sys.stderr)
        return 1
    except RegistryError as exc:
        print(f"nichiiki: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    if result["published"]:
        print(f"Published {result['release']} ({result['failures']} failed document(s))")
    else:
        print(f"Nothing changed since release {result['run_id']}: nothing new published.")
    if settings.strict and result.get("failures"):
        print(f"nichiiki: {result['failures']} document(s) failed (--strict)", file=sys.stderr)
        return 1
    return 0
