"""Golden regression: a fresh extraction of samples/ against the reviewed goldens.

    python -m pipeline.review.goldens --check [--html report.html]   # exit 1 and show the diff when they differ
    python -m pipeline.review.goldens --write                         # accept the change (= make goldens)

Goldens are ``samples/goldens/<doc_id>/<dataset>.json``: pretty JSON, one
object per row, sorted keys, rows sorted by the dataset key, volatile columns
(run id, fetch times) dropped. The extraction goes through the same code as
``nichiiki extract`` (pipeline.runs.local.extract_paths) and the comparison through
the same code as ``nichiiki diff`` (pipeline.review.diff), so what the check reports
is what a reviewer sees on a release. ``--write`` changes files under git, so
an accepted change shows up in review as a plain JSON diff.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
from pathlib import Path

import pandas as pd
from rich.console import Console

from pipeline import REPO_ROOT
from pipeline.review.diff import VOLATILE_COLUMNS, OutputDiff, dataset_key, diff_frames, frame_rows, sort_rows
from pipeline.review.diff_cli import print_summary
from pipeline.review.outputs import load_goldens
from pipeline.review.report_html import default_pdf_resolver, write_html
from pipeline.runs.local import extract_paths
from pipeline.model.schema import DATASETS

REPO = REPO_ROOT
SAMPLES = REPO / "samples"
GOLDENS = SAMPLES / "goldens"


def sample_pdfs(samples: Path = SAMPLES) -> list[Path]:
    return sorted(Path(samples).glob("*.pdf"))


def extract_samples(samples: Path = SAMPLES) -> dict[str, pd.DataFrame]:
    """Extract every sample PDF exactly as ``nichiiki extract`` does."""
    pdfs = sample_pdfs(samples)
    if not pdfs:
        raise FileNotFoundError(f"{samples}: no sample PDFs to extract")
    # Paths relative to the repository (documents.local_path, failure sources) keep goldens machine-independent.
    with contextlib.chdir(REPO):
        relative = [p.resolve().relative_to(REPO) if p.resolve().is_relative_to(REPO) else p.resolve() for p in pdfs]
        frames, _report = extract_paths(relative)
    return {name: frame for name, frame in frames.items() if not frame.empty}


def _sorted_rows(name: str, frame: pd.DataFrame) -> list[dict]:
    columns = [c for c in frame.columns if c not in VOLATILE_COLUMNS]
    key, _, _ = dataset_key(name, columns)
    rows = [{c: v for c, v in row.items() if c in columns} for row in frame_rows(frame)]
    return sort_rows(rows, key)


def golden_text(rows: list[dict]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def write_goldens(frames: dict[str, pd.DataFrame], goldens: Path = GOLDENS) -> list[Path]:
    """Write one file per (document, dataset); remove goldens of schema datasets no longer produced.

    Files for datasets this code base does not define (another branch's
    goldens, not yet merged) are left alone.
    """
    written: list[Path] = []
    produced: set[Path] = set()
    for name, frame in frames.items():
        if "doc_id" not in frame.columns:
            continue
        for doc_id, part in frame.groupby("doc_id", sort=True):
            path = Path(goldens) / str(doc_id) / f"{name}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            text = golden_text(_sorted_rows(name, part))
            produced.add(path)
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                written.append(path)
    for path in sorted(Path(goldens).glob("*/*.json")):
        if path.stem in DATASETS and path not in produced:
            path.unlink()
            written.append(path)
    return written


# A golden holds what the page says. Where the product still misreads a cell, the golden has the
# page's text and ``<doc>/known_misreadings.json`` lists the cell: dataset, key (column → value),
# column, read (what the product gives), truth (what the page says) and the reason. The golden
# comparison reads that exact misreading as the truth (any other change still shows); each entry
# is an expected failure of its own in tests/test_goldens.py, so the misreading stays visible.
MISREADINGS = "known_misreadings"


def known_misreadings(goldens: Path = GOLDENS) -> list[dict]:
    """Every listed misreading of every document, each with its ``doc_id``."""
    entries = []
    for path in sorted(Path(goldens).glob(f"*/{MISREADINGS}.json")):
        for entry in json.loads(path.read_text(encoding="utf-8")):
            entries.append({**entry, "key": {"doc_id": path.parent.name, **entry["key"]}})
    return entries


def cell_value(frames: dict[str, pd.DataFrame], entry: dict) -> object:
    """The cell an entry names, or a KeyError when the row is not there."""
    frame = frames.get(entry["dataset"])
    if frame is None:
        raise KeyError(entry["dataset"])
    mask = pd.Series(True, index=frame.index)
    for column, value in entry["key"].items():
        mask &= frame[column] == value
    rows = frame.index[mask]
    if len(rows) != 1:
        raise KeyError(f"{entry['dataset']} {entry['key']}: {len(rows)} rows")
    value = frame.at[rows[0], entry["column"]]
    return list(value) if _is_list(value) else value


def _is_list(value: object) -> bool:
    return isinstance(value, (list, tuple)) or hasattr(value, "tolist") and not isinstance(value, str) and getattr(value, "ndim", 0) == 1


def _equals(value: object, expected: object) -> bool:
    """Cell equality for scalars and list cells (a row's headers, a table's row labels)."""
    if _is_list(value):
        return isinstance(expected, list) and list(value) == expected
    return not isinstance(expected, list) and value == expected


def read_as_truth(frames: dict[str, pd.DataFrame], entries: list[dict]) -> dict[str, pd.DataFrame]:
    """``frames`` with each listed misreading, where the product gives exactly it, replaced by the truth."""
    out = {name: frame.copy() for name, frame in frames.items()}
    for entry in entries:
        frame = out.get(entry["dataset"])
        if frame is None or entry["column"] not in frame.columns:
            continue
        mask = pd.Series(True, index=frame.index)
        for column, value in entry["key"].items():
            mask &= frame[column] == value
        mask &= frame[entry["column"]].map(lambda v: _equals(v, entry["read"]))
        for index in frame.index[mask]:
            frame.at[index, entry["column"]] = entry["truth"]
    return out


def check_goldens(samples: Path = SAMPLES, goldens: Path = GOLDENS, fresh: dict[str, pd.DataFrame] | None = None) -> OutputDiff:
    """Goldens (old) against a fresh extraction (new); ``fresh`` is extract_samples(samples) when not given."""
    fresh = extract_samples(samples) if fresh is None else fresh
    fresh = read_as_truth(fresh, known_misreadings(goldens))
    fresh = {n: f.drop(columns=[c for c in f.columns if c in VOLATILE_COLUMNS]) for n, f in fresh.items()}
    return diff_frames(load_goldens(goldens), fresh, old_label=f"reviewed goldens ({goldens})", new_label=f"fresh extraction of {samples}")


def describe(diff: OutputDiff, limit: int = 50) -> str:
    """The terminal summary as plain text, for a failing test's message."""
    buffer = io.StringIO()
    print_summary(diff, Console(file=buffer, width=140, color_system=None), limit=limit)
    return buffer.getvalue()


HOW_TO_ACCEPT = (
    "If the change is intended, accept it with `make goldens` (python -m pipeline.review.goldens --write) "
    "and review `git diff samples/goldens` before committing."
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.review.goldens", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the goldens from a fresh extraction")
    mode.add_argument("--check", action="store_true", help="diff a fresh extraction against the goldens (exit 1 on change)")
    parser.add_argument("--samples", type=Path, default=SAMPLES)
    parser.add_argument("--goldens", type=Path, default=GOLDENS)
    parser.add_argument("--html", type=Path, help="with --check: also write the HTML diff report with PDF crops")
    args = parser.parse_args(argv)
    if args.write:
        changed = write_goldens(read_as_truth(extract_samples(args.samples), known_misreadings(args.goldens)), args.goldens)
        for path in changed:
            print(f"{'removed' if not path.exists() else 'wrote'} {path}")
        print(f"{len(changed)} golden file(s) changed; review them with: git diff {args.goldens}")
        return 0
    diff = check_goldens(args.samples, args.goldens)
    print_summary(diff, Console(), limit=50)
    if args.html:
        write_html(diff, args.html, default_pdf_resolver(diff, samples_dir=args.samples))
        print(f"HTML report: {args.html}")
    if diff.has_changes:
        print(HOW_TO_ACCEPT)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
