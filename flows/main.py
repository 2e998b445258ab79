"""The main Prefect flow: registry → obtain → extract → check → publish.

Tasks are thin wrappers around pipeline.run's plain functions. Run it with
``make run`` (or ``.venv/bin/nichiiki run``); deployments live in
flows/deploy.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from prefect import flow, get_run_logger, task, unmapped
from prefect.exceptions import FailedRun
from prefect.futures import PrefectFuture, as_completed
from prefect.states import Failed
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from pipeline import guarded
from pipeline import run as steps
from pipeline.cache import ResultCache
from pipeline.errors import ValidationFailed
from pipeline.extract import DocumentExtraction
from pipeline.fetch import FetchSettings
from pipeline.limits import Limits
from pipeline.publish import PublishFailed, PublishLocked, code_version, new_run_id, utc_now
from pipeline.registry import RegistryError, SourceEntry, load_registry
from pipeline.settings import Settings, SettingsError, load_settings, settings_help

REPO_ROOT = Path(__file__).resolve().parent.parent


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


@task(name="obtain", task_run_name="obtain-{entry.id}")
def obtain_task(entry: SourceEntry, fetch_dir: str, fetch: FetchSettings, use_network: bool) -> steps.Obtained | steps.Failure:
    """Get the document's bytes onto local disk: download its url, or read its bundled sample."""
    got = guarded.obtain(entry, Path(fetch_dir), fetch, use_network=use_network)
    if isinstance(got, steps.Obtained) and got.note:
        get_run_logger().warning("%s: %s", entry.id, got.note)
    return got


@task(name="extract", task_run_name="extract-{obtained.entry.id}")
def extract_task(
    obtained: steps.Obtained, cache_dir: str | None = None, config: dict | None = None, limits: Limits | None = None
) -> DocumentExtraction | steps.Failure:
    """Parse one PDF and run every extractor on it (in the sandbox when ``limits`` are given), or read the cached result."""
    logger = get_run_logger()
    cache = ResultCache(Path(cache_dir)) if cache_dir else None
    started = time.perf_counter()
    # OCR text is cached beside the results (cache_dir/ocr): no cache, no OCR cache either.
    result = steps.process_document(obtained, cache, config, limits, ocr_cache_dir=Path(cache_dir) if cache_dir else None)
    seconds = time.perf_counter() - started
    if isinstance(result, steps.Failure):
        logger.warning("%s failed in %.2f s: %s", obtained.entry.id, seconds, result.message.splitlines()[0])
    elif "cache:read" in result.timings:
        logger.info("%s: unchanged (sha256 %s…), result read from the cache in %.2f s", obtained.entry.id, obtained.sha256[:12], seconds)
    else:
        logger.info("%s: extracted %d page(s) in %.2f s: %s", obtained.entry.id, result.info.pages, seconds, {k: len(v) for k, v in result.frames.items()})
    return result


def _results_in_order(futures: list[PrefectFuture], progress: bool, label: str) -> list:
    """Wait for ``futures``; a rich progress bar on a terminal. Results keep the input order."""
    if not progress or not futures:
        return [f.result() for f in futures]
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        return [f.result() for f in futures]
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        job = bar.add_task(label, total=len(futures))
        for _ in as_completed(futures):
            bar.advance(job)
    return [f.result() for f in futures]


@flow(name="nichiiki-extract", log_prints=True)
def extract_documents(
    obtained: list[steps.Obtained], cache_dir: str | None, config: dict, progress: bool = False, limits: Limits | None = None
) -> list:
    """Every document's extract task, on the task runner the parent chose."""
    futures = extract_task.map(obtained, cache_dir=unmapped(cache_dir), config=unmapped(config), limits=unmapped(limits))
    return _results_in_order(list(futures), progress, f"extracting {len(obtained)} document(s)")


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
    """Publish every document of ``sources`` to a new release in ``outputs``.

    ``cache_dir``: per-document results are reused from there when a
    document's sha256, the code and the config are unchanged (None: no cache).
    ``runner`` / ``workers`` / ``dask_address``: where extraction runs
    (None: the NICHIIKI_* settings). The runner (a Dask cluster, say) starts
    only when something has to be extracted, so a no-op run stays fast.
    ``fetch``: download sources that have a url (None: the setting; off by
    default, so the bundled samples are read). ``sandbox`` / ``limits``
    (the fields of ``pipeline.limits.Limits``): each document is parsed in a
    child process under these budgets (None: the settings).
    """
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
    obtained = [g for g in got if isinstance(g, steps.Obtained)]
    failures = [g for g in got if isinstance(g, steps.Failure)]
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
    on_runner = extract_documents.with_options(task_runner=task_runner_for(settings))
    budgets = (Limits(**limits) if limits else settings.limits()) if settings.sandbox else None
    with guarded.stop_on_signals():
        results = on_runner(obtained, cache, task_config, progress, budgets)
    timings["extract"] = time.perf_counter() - t
    extractions = [r for r in results if isinstance(r, DocumentExtraction)]
    failures += [r for r in results if isinstance(r, steps.Failure)]
    for failure in failures:
        logger.warning("FAILED %s", failure.message)
    for ex in extractions:
        for stage, seconds in ex.timings.items():
            timings[stage] = timings.get(stage, 0.0) + seconds

    if not extractions:
        # Publishing would replace the current release with one that holds nothing.
        raise steps.NothingExtracted(failures)
    frames = steps.assemble(extractions, failures, {o.entry.id: o for o in obtained}, REPO_ROOT)
    manifest = {
        "run_id": run_id,
        "created_at": utc_now(),
        "code_version": code_version(),
        "fingerprint": fingerprint,
        "inputs": [
            {"doc_id": o.entry.id, "source": o.source, "path": str(o.path), "sha256": o.sha256, "fetched_at": o.fetched_at}
            | ({"note": o.note} if o.note else {})
            for o in obtained
        ],
        "failures": [f.__dict__ for f in failures],
        "timings": timings,
    }
    try:
        release, checks = steps.check_and_publish(frames, manifest, Path(outputs))
    except (PublishFailed, PublishLocked) as exc:
        # One line naming the path and saying what stayed: the run failed, its traceback says nothing more.
        logger.error("%s", exc)
        return Failed(message=str(exc))
    for check in checks:
        if not check.ok:  # non-blocking ones (blocking failures stop publishing before this)
            logger.warning("check FAILED (non-blocking): %s", check.detail)
    logger.info("%d of %d checks passed; all are in the manifest", sum(c.ok for c in checks), len(checks))
    rows = {name: len(frame) for name, frame in frames.items()}
    logger.info("Published release %s in %.1f s: %s", release.name, time.perf_counter() - started, rows)
    return {"published": True, "release": str(release), "run_id": run_id, "rows": rows, "failures": len(failures)}


def add_settings_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags for every setting; unset flags stay None so env and file values apply."""
    parser.add_argument("--config", type=Path, metavar="FILE", help="TOML or YAML settings file")
    parser.add_argument("--sources", help="source registry (default: sources.yaml)")
    parser.add_argument("--outputs", help="output folder (default: outputs)")
    parser.add_argument("--cache-dir", help="cache folder (default: .cache)")
    parser.add_argument("--no-cache", dest="cache", action="store_const", const=False, help="recompute every document")
    parser.add_argument("--runner", choices=["sequential", "threads", "dask"], help="how document tasks run (default: threads)")
    parser.add_argument("--workers", type=int, help="threads, or local Dask worker processes (default: 2)")
    parser.add_argument("--dask-address", metavar="tcp://HOST:PORT", help="run tasks on an existing Dask cluster")
    parser.add_argument("--force", action="store_const", const=True, help="publish even when nothing changed")
    parser.add_argument("--fetch", action="store_const", const=True, help="download sources that have a url")
    parser.add_argument("--no-sandbox", dest="sandbox", action="store_const", const=False, help="extract in this process (no limits)")
    parser.add_argument("--no-progress", dest="progress", action="store_const", const=False, help="no progress bar")


def settings_from_args(args: argparse.Namespace) -> Settings:
    names = ("sources", "outputs", "cache_dir", "cache", "runner", "workers", "dask_address", "force", "progress", "fetch", "sandbox")
    return load_settings({n: getattr(args, n, None) for n in names}, args.config)


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


def build_parser(prog: str = "python -m flows.main") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=nichiiki_flow.__doc__.split("\n")[0],
        epilog=settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_settings_arguments(parser)
    return parser


def run_from_args(args: argparse.Namespace) -> int:
    """Run as the command line says; the exit code and one line for the operator."""
    try:
        settings = settings_from_args(args)
    except SettingsError as exc:
        print(f"nichiiki: {exc}", file=sys.stderr)
        return 2
    try:
        load_registry(settings.sources)  # a bad registry fails in one line, before any server starts
    except RegistryError as exc:
        print(f"nichiiki: {exc}; nothing was run, {settings.outputs}/current is unchanged", file=sys.stderr)
        return 2
    from flows.server import start_temporary_server

    start_temporary_server()  # ends with this process, even after kill -9
    try:
        result = run(settings)
    except (steps.NothingExtracted, ValidationFailed, RegistryError, FailedRun, OSError) as exc:
        # The first line is the whole story (path, reason, what stayed); details, if any, follow.
        first, _, details = str(exc).partition("\n")
        unchanged = "" if "unchanged" in first or "no release was published" in first else f"; {settings.outputs}/current is unchanged"
        print(f"nichiiki: {first.rstrip(':')}{unchanged}" + (f"\n{details}" if details else ""), file=sys.stderr)
        return 1
    if result["published"]:
        print(f"Published {result['release']} ({result['failures']} failed document(s))")
    else:
        print(f"Nothing changed since release {result['run_id']}: nothing new published.")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_from_args(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
