"""Extraction of PDFs given by path, without the registry or Prefect.

Used by ``nichiiki extract`` and by the golden regression; it goes through
the same extract → check → validate → write path as a published run, minus
releases.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.checks import check_statements
from pipeline.errors import ValidationFailed
from pipeline.extract import DocumentExtraction, concat_frames, doc_id_for
from pipeline.publish import new_run_id, validate_frames, write_datasets
from pipeline.renditions import mark_renditions
from pipeline.registry import SourceEntry
from pipeline.run import Failure, Obtained, documents_frame, extract_obtained, failures_frame
from pipeline.extract import sha256_file
from pipeline.publish import utc_now


@dataclass
class ExtractReport:
    run_id: str
    outputs: dict[str, dict] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    extractions: list[DocumentExtraction] = field(default_factory=list)


def extract_paths(pdfs: list[Path]) -> tuple[dict, ExtractReport]:
    """Extract ``pdfs``; return validated frames and a report (nothing written)."""
    run_id = new_run_id()
    report = ExtractReport(run_id)
    obtained: dict[str, Obtained] = {}
    used: dict[str, int] = {}
    for path in pdfs:
        doc_id = doc_id_for(Path(path))
        used[doc_id] = used.get(doc_id, 0) + 1
        if used[doc_id] > 1:
            doc_id = f"{doc_id}_{used[doc_id]}"
        entry = SourceEntry(id=doc_id, publisher="unknown", title=Path(path).name, issued=None, url=None, sample=Path(path))
        if not Path(path).is_file():
            report.failures.append(Failure(doc_id, str(path), None, "fetch", "FileNotFoundError", f"{path}: file not found"))
            continue
        ob = Obtained(entry, Path(path), sha256_file(Path(path)), str(path), utc_now())
        obtained[doc_id] = ob
        result = extract_obtained(ob)
        if isinstance(result, Failure):
            report.failures.append(result)
        else:
            report.extractions.append(result)
    frames = mark_renditions(concat_frames(ex.frames for ex in report.extractions))  # a scan given beside its text
    frames["documents"] = documents_frame(report.extractions, obtained, Path.cwd())
    if report.failures:
        frames["failures"] = failures_frame(report.failures)
    failed = [c for c in check_statements(frames) if not c.ok]
    if failed:
        raise ValidationFailed("consortia", "\n".join(c.detail for c in failed))
    return validate_frames(frames, run_id), report


def extract_to_folder(pdfs: list[Path], out: Path) -> ExtractReport:
    """Extract ``pdfs`` and write ``out/<dataset>.parquet`` (replacing the folder's datasets)."""
    frames, report = extract_paths(pdfs)
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    report.outputs = write_datasets(frames, tmp)
    out.mkdir(parents=True, exist_ok=True)
    for name in report.outputs:
        (tmp / f"{name}.parquet").replace(out / f"{name}.parquet")
    shutil.rmtree(tmp, ignore_errors=True)
    return report
