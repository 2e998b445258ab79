"""Extraction of PDFs given by path, without the registry or Prefect.

Used by ``nichiiki extract`` and by the golden regression; it goes through
the same extract → check → validate → write path as a published run, minus
releases.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import threading
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.document.results import REPO_CACHE_DIR, DocumentExtraction, doc_id_for
from pipeline.ingest.pdfstore import store_pdf, without_local_roots
from pipeline.publish.writer import _write_json, datapackage, new_run_id, validated_empty_frames, write_datasets
from pipeline.model.schema import SCHEMA_VERSION
from pipeline.ingest.registry import SourceEntry
from pipeline.runs.outcomes import Failure, Obtained, largest_first
from pipeline.runs.steps import assemble, extract_obtained, step_failures, validate_and_check
from pipeline.ingest.fetch import FetchSettings
from pipeline.runs.guarded import extract_guarded, obtain
from pipeline.model.limits import DEFAULT_LIMITS, Limits
from pipeline.model.clock import utc_now
from pipeline.model.timeline import mark, span


@dataclass
class ExtractReport:
    run_id: str
    outputs: dict[str, dict] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    extractions: list[DocumentExtraction] = field(default_factory=list)
    inputs: list[tuple[str, Path, str]] = field(default_factory=list)  # (doc_id, path, sha256) read


def extract_paths(
    pdfs: list[Path], limits: Limits | None = None, workers: int | None = None, ocr_cache_dir: Path | None = REPO_CACHE_DIR
) -> tuple[dict, ExtractReport]:
    """Extract ``pdfs`` on up to ``workers`` processes (default: every core); return validated frames and a report (nothing written).

    With ``limits``, each document is extracted in the sandbox under them, as the flow does. OCR
    answers are cached in ``ocr_cache_dir`` (None: nowhere).
    """
    run_id = new_run_id()
    report = ExtractReport(run_id)
    obtained: dict[str, Obtained] = {}
    used: dict[str, int] = {}
    missing: list[Failure] = []
    for path in pdfs:
        doc_id = doc_id_for(Path(path))
        used[doc_id] = used.get(doc_id, 0) + 1
        if used[doc_id] > 1:
            doc_id = f"{doc_id}_{used[doc_id]}"
        entry = SourceEntry(id=doc_id, publisher="unknown", title=Path(path).name, issued=None, url=None, sample=Path(path))
        if not Path(path).is_file():
            missing.append(Failure(doc_id, str(path), None, "fetch", "FileNotFoundError", f"{path}: file not found"))
            continue
        # The same body checks as the flow's obtain step (not HTML, not a ZIP holding a PDF, not truncated, not over the cap).
        got = obtain(entry, Path(path).parent, FetchSettings(max_bytes=(limits or DEFAULT_LIMITS).max_file_bytes), use_network=False)
        if isinstance(got, Failure):
            missing.append(got)
            continue
        ob = Obtained(entry, Path(path), got.sha256, str(path), utc_now())
        obtained[doc_id] = ob
        report.inputs.append((doc_id, Path(path), ob.sha256))
    # Extraction runs in sandbox children; meanwhile this process, idle, readies validation.
    ready: dict[str, dict] = {}
    warming = threading.Thread(target=_warm_validation, args=(run_id, ready), daemon=True)
    if limits is not None:
        warming.start()
    mark("documents:start", documents=len(obtained))
    for result in extract_all(list(obtained.values()), limits, workers, ocr_cache_dir):
        if isinstance(result, Failure):
            report.failures.append(result)
        else:
            report.extractions.append(result)
    report.failures = missing + report.failures + [f for ex in report.extractions for f in step_failures(ex)]
    # The flow's own assembly and checks: a scan given beside its text is marked, every document check runs.
    mark("documents:end")
    with span("assemble"):
        frames = assemble(report.extractions, report.failures, obtained, Path.cwd())
    with span("warm_validation:wait"):
        if warming.is_alive():
            warming.join()
    validated, _ = validate_and_check(frames, run_id, ready.get("empty"))
    return validated, report


def _warm_validation(run_id: str, ready: dict[str, dict]) -> None:
    """Build every dataset's schema and validate every dataset as if no document had it: ~1 s of
    imports and set-up that the first real validation would otherwise pay after the last document,
    and the validated empty datasets, which that validation takes as they are (most datasets are
    empty in a given set of documents)."""
    try:
        with span("warm_validation"):
            ready["empty"] = validated_empty_frames(run_id)
    except Exception:  # noqa: BLE001 — only a head start: the real validation reports any problem
        pass


def extract_one(ob: Obtained, limits: Limits | None = None, ocr_cache_dir: Path | None = REPO_CACHE_DIR) -> DocumentExtraction | Failure:
    """One document, in the sandbox under ``limits`` when given."""
    with span("document", doc_id=ob.entry.id):
        if limits is not None:
            result = extract_guarded(ob, limits, ocr_cache_dir=ocr_cache_dir)
        else:
            result = extract_obtained(ob, ocr_cache_dir)
    if isinstance(result, DocumentExtraction):
        mark("document:timings", doc_id=ob.entry.id, pages=result.info.pages, timings=result.timings)
    return result


def extract_all(
    docs: list[Obtained], limits: Limits | None = None, workers: int | None = None, ocr_cache_dir: Path | None = REPO_CACHE_DIR
) -> list[DocumentExtraction | Failure]:
    """``extract_one`` over ``docs``, results in their order, on up to ``workers`` processes.

    Documents are independent, so a multi-document call uses every core; the
    largest are started first so the last one to finish is a small one. A
    daemonic process (a pool worker itself) may not start children: it reads
    them one after another.
    """
    workers = min(workers or os.cpu_count() or 1, len(docs))
    if workers <= 1 or mp.current_process().daemon:
        return [extract_one(ob, limits, ocr_cache_dir) for ob in docs]
    if limits is not None:
        # Sandboxed, each document already runs in a child forked from the one fork server (models
        # loaded once, pages shared): threads that only wait on those children use every core
        # without a second server loading the models again.
        pool: Executor = ThreadPoolExecutor(workers)
    else:
        # fork: a worker inherits the imported pipeline instead of importing it again.
        pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"))
    with pool:
        futures = {i: pool.submit(extract_one, docs[i], limits, ocr_cache_dir) for i in largest_first(docs)}
        return [futures[i].result() for i in range(len(docs))]


def extract_to_folder(pdfs: list[Path], out: Path, limits: Limits | None = None, cache_dir: Path = Path(".cache")) -> ExtractReport:
    """Extract ``pdfs`` and write ``out/<dataset>.parquet`` with ``manifest.json`` and ``datapackage.json``
    (replacing the folder's datasets).

    Every input read is kept in the PDF store under ``cache_dir`` and named in the manifest by
    sha256, so two such folders can be diffed with crops of both sides even after the PDF
    was edited in place. OCR answers are cached there too, as a run caches them in its cache
    folder (``NICHIIKI_CACHE_DIR``), not in the checkout's.

    With ``limits``, each document is extracted in the sandbox under them, as the flow does.
    Nothing is written when no document could be extracted.
    """
    frames, report = extract_paths(pdfs, limits, ocr_cache_dir=Path(cache_dir))
    if not report.extractions:
        return report  # a folder of empty datasets would read as "these documents hold nothing"
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with span("write:datasets"):
        report.outputs = write_datasets(frames, tmp)
    inputs = []
    for doc_id, path, sha256 in report.inputs:
        with span("write:store_pdf", doc_id=doc_id):
            stored = store_pdf(path, sha256, cache_dir)
        inputs.append({"doc_id": doc_id, "source": str(path), "sha256": sha256, "stored": None if stored is None else str(stored)})
    manifest = {"run_id": report.run_id, "created_at": utc_now(), "schema_version": SCHEMA_VERSION, "inputs": inputs,
                "outputs": report.outputs, "failures": [f.__dict__ for f in report.failures]}
    with span("write:manifest"):
        _write_json(tmp / "manifest.json", without_local_roots(manifest, [Path.cwd()]))
    with span("write:datapackage"):
        _write_json(tmp / "datapackage.json", datapackage(report.outputs, report.run_id))
    out.mkdir(parents=True, exist_ok=True)
    for name in [*report.outputs, "manifest", "datapackage"]:
        for file in tmp.glob(f"{name}.*"):
            file.replace(out / file.name)
    shutil.rmtree(tmp, ignore_errors=True)
    return report
