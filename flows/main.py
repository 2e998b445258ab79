"""The main Prefect flow: registry → obtain → extract → check → publish.

Tasks are thin wrappers around pipeline.run's plain functions. Run it with
``make run`` (or ``.venv/bin/nichiiki run``); deployments live in
flows/deploy.py.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from prefect import flow, get_run_logger, task

from pipeline import run as steps
from pipeline.extract import DocumentExtraction
from pipeline.publish import code_version, new_run_id, utc_now
from pipeline.registry import SourceEntry, load_registry

REPO_ROOT = Path(__file__).resolve().parent.parent


@task(name="obtain")
def obtain_task(entry: SourceEntry) -> steps.Obtained | steps.Failure:
    """Get the document's bytes onto local disk."""
    try:
        return steps.obtain_local(entry)
    except Exception as exc:  # noqa: BLE001 — recorded as a failure, the run goes on
        return steps.Failure.from_exception(entry.id, entry.location, None, "fetch", exc)


@task(name="extract")
def extract_task(obtained: steps.Obtained) -> DocumentExtraction | steps.Failure:
    """Parse one PDF and run every extractor on it."""
    return steps.extract_obtained(obtained)


@flow(name="nichiiki", log_prints=True)
def nichiiki_flow(
    sources: str = "sources.yaml",
    outputs: str = "outputs",
    force: bool = False,
) -> dict:
    """Publish every document of ``sources`` to a new release in ``outputs``."""
    logger = get_run_logger()
    run_id = new_run_id()
    started = time.perf_counter()
    timings: dict[str, float] = {}
    entries = load_registry(Path(sources))

    t = time.perf_counter()
    got = [f.result() for f in obtain_task.map(entries)]
    obtained = [g for g in got if isinstance(g, steps.Obtained)]
    failures = [g for g in got if isinstance(g, steps.Failure)]
    timings["obtain"] = time.perf_counter() - t

    config = {"sources": [e.__dict__ | {"sample": str(e.sample)} for e in entries]}
    fingerprint = steps.inputs_fingerprint(obtained, failures, config)
    same = None if force else steps.unchanged_release(Path(outputs), fingerprint)
    if same is not None:
        logger.info("Nothing changed since release %s (same inputs, code and schema): nothing published.", same.name)
        return {"published": False, "release": str(same), "run_id": same.name}

    t = time.perf_counter()
    results = [f.result() for f in extract_task.map(obtained)]
    timings["extract"] = time.perf_counter() - t
    extractions = [r for r in results if isinstance(r, DocumentExtraction)]
    failures += [r for r in results if isinstance(r, steps.Failure)]
    for failure in failures:
        logger.warning("FAILED %s", failure.message)
    for ex in extractions:
        for stage, seconds in ex.timings.items():
            timings[stage] = timings.get(stage, 0.0) + seconds

    frames = steps.assemble(extractions, failures, {o.entry.id: o for o in obtained}, REPO_ROOT)
    manifest = {
        "run_id": run_id,
        "created_at": utc_now(),
        "code_version": code_version(),
        "fingerprint": fingerprint,
        "inputs": [
            {"doc_id": o.entry.id, "source": o.source, "path": str(o.path), "sha256": o.sha256, "fetched_at": o.fetched_at}
            for o in obtained
        ],
        "failures": [f.__dict__ for f in failures],
        "timings": timings,
    }
    release, checks = steps.check_and_publish(frames, manifest, Path(outputs))
    for check in checks:
        logger.info("check %s: %s", "ok" if check.ok else "FAILED", check.detail)
    rows = {name: len(frame) for name, frame in frames.items()}
    logger.info("Published release %s in %.1f s: %s", release.name, time.perf_counter() - started, rows)
    return {"published": True, "release": str(release), "run_id": run_id, "rows": rows, "failures": len(failures)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flows.main", description=nichiiki_flow.__doc__)
    parser.add_argument("--sources", default="sources.yaml", help="source registry (default: sources.yaml)")
    parser.add_argument("--outputs", default="outputs", help="output folder (default: outputs)")
    parser.add_argument("--force", action="store_true", help="publish even when nothing changed")
    args = parser.parse_args(argv)
    result = nichiiki_flow(sources=args.sources, outputs=args.outputs, force=args.force)
    if result["published"]:
        print(f"Published {result['release']} ({result['failures']} failed document(s))")
    else:
        print(f"Nothing changed since release {result['run_id']}: nothing new published.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
