"""nichiiki against the obvious alternatives, side by side in one paired run.

On the text-only PDFs of a folder (default: ../shared/real, the real
government PDFs), each command runs as a fresh process with every cache empty:

- ``nichiiki extract`` (all datasets, text stage included);
- the obvious pdfplumber script (``extract_text`` + ``extract_tables`` per page);
- PyMuPDF ``get_text("dict")`` per page: a raw parse, the practical limit.

Rounds alternate the commands (A B C, A B C, ...), so a busy machine slows
them alike; the median of the rounds is reported with pages/s, CPU seconds and
the peak RSS of the process tree, read every 0.1 s. The peak PSS (forked
children's shared pages counted once) comes from one more cold run of each
command: reading it walks every page of the tree and would slow the timed run. Writes benchmarks/compare.json. Not a test.

    .venv/bin/python benchmarks/compare.py [--folder DIR] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from run import PY, code_commit, measure  # noqa: E402  (same wall/peak-RSS sampler as the end-to-end benchmark)

PDFPLUMBER_SCRIPT = """
import sys, pdfplumber
for path in sys.argv[1:]:
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            page.extract_text()
            page.extract_tables()
"""

PYMUPDF_SCRIPT = """
import sys
sys.modules["pymupdf.layout"] = sys.modules["pymupdf4llm"] = None  # as nichiiki does: no optional add-ons at import
import pymupdf
for path in sys.argv[1:]:
    with pymupdf.open(path) as doc:
        for page in doc:
            page.get_text("dict")
"""


def text_only_pdfs(folder: Path) -> tuple[list[Path], int]:
    """PDFs every page of which has a text layer (scans are another benchmark's business)."""
    import pymupdf

    chosen, pages = [], 0
    for path in sorted(folder.glob("*.pdf")):
        with pymupdf.open(path) as doc:
            if all(page.get_text("text").strip() for page in doc):
                chosen.append(path)
                pages += doc.page_count
    return chosen, pages


def corpus_report(what: str, args: argparse.Namespace, pdfs: list[Path], pages: int, load_at_start: tuple, **figures) -> dict:
    """A text-path benchmark file (timeline.py, floor.py): what it measured, on which machine and
    code, of which PDFs, then its figures."""
    return {
        "what": what,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_at_start": load_at_start, "load_avg_at_end": os.getloadavg()},
        "commit": code_commit(),
        "folder": args.folder.name,
        "documents": [p.name for p in pdfs],
        "pages": pages,
        "rounds": args.rounds,
        **figures,
    }


def corpus_pdfs(args: argparse.Namespace, script: str) -> tuple[list[Path], int]:
    """The text-only PDFs of ``--folder`` and their pages; exits (2) naming the folder when it holds none."""
    pdfs, pages = text_only_pdfs(args.folder)
    if not pdfs:
        print(f"{script}: no text-only PDF in {args.folder}", file=sys.stderr)
        raise SystemExit(2)
    return pdfs, pages


def add_corpus_arguments(parser: argparse.ArgumentParser, out: Path) -> None:
    """``--folder`` (whose text-only PDFs are read), ``--rounds`` and ``--out``, as this script and timeline.py take them."""
    default_folder = REPO.parent / "shared" / "real"
    parser.add_argument("--folder", type=Path, default=default_folder if default_folder.is_dir() else REPO / "samples" / "real")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_corpus_arguments(parser, REPO / "benchmarks" / "compare.json")
    args = parser.parse_args()
    pdfs, pages = corpus_pdfs(args, "compare")
    work = Path(tempfile.mkdtemp(prefix="nichiiki-compare-"))
    nichiiki = str(Path(PY).with_name("nichiiki"))
    commands = {
        "nichiiki extract": lambda r: [nichiiki, "extract", *map(str, pdfs), "--out", str(work / f"out-{r}")],
        "pdfplumber script": lambda r: [PY, "-c", PDFPLUMBER_SCRIPT, *map(str, pdfs)],
        "pymupdf get_text(dict)": lambda r: [PY, "-c", PYMUPDF_SCRIPT, *map(str, pdfs)],
    }
    runs: dict[str, list[dict]] = {name: [] for name in commands}
    memory: dict[str, dict] = {}
    load_at_start = os.getloadavg()

    def cold_env(tag: str) -> dict:
        # Cold: a fresh NLP cache (gazetteer, GiNZA answers) and result cache for every run.
        return dict(os.environ, NICHIIKI_NLP_CACHE=str(work / f"nlp-{tag}"), NICHIIKI_CACHE_DIR=str(work / f"cache-{tag}"))

    try:
        for r in range(args.rounds):
            for name, command in commands.items():
                load = os.getloadavg()[0]
                # Timed reading RSS and CPU only: the tree's PSS costs the kernel a walk of every
                # page, on the cores being measured (it lengthened nichiiki's 3.4 s by ~0.4 s).
                result = measure(command(r), cold_env(str(r)), every=0.1)
                result["load_avg_1m_before"] = round(load, 2)
                runs[name].append(result)
                print(f"round {r + 1} {name}: {result['wall_s']} s, {result['peak_rss_mb']} MB RSS, {result['cpu_s']} s CPU", flush=True)
        for name, command in commands.items():
            # Peak PSS from a cold run of its own, read along every 0.2 s; its wall is not reported.
            memory[name] = measure(command("memory"), cold_env("memory"), pss=True)
            print(f"memory {name}: {memory[name]['peak_pss_mb']} MB PSS", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = []
    for name, results in runs.items():
        wall = statistics.median(r["wall_s"] for r in results)
        summary.append({
            "command": name,
            "wall_s_median": wall,
            "pages_per_s": round(pages / wall, 1),
            "peak_rss_mb_max": max(r["peak_rss_mb"] for r in results),
            "peak_pss_mb": memory[name]["peak_pss_mb"],
            "cpu_s_median": statistics.median(r["cpu_s"] for r in results),
            "wall_s_each": [r["wall_s"] for r in results],
            "load_avg_1m_before_each": [r["load_avg_1m_before"] for r in results],
        })
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_at_start": load_at_start, "load_avg_at_end": os.getloadavg()},
        "folder": args.folder.name,
        "documents": [p.name for p in pdfs],
        "pages": pages,
        "rounds": args.rounds,
        "results": summary,
    }
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for row in summary:
        print(f"{row['command']:24s} {row['wall_s_median']:7.2f} s  {row['pages_per_s']:6.1f} pages/s  {row['peak_rss_mb_max']:7.1f} MB RSS {row['peak_pss_mb']:7.1f} MB PSS {row['cpu_s_median']:6.1f} s CPU")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
