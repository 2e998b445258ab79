"""Where a cold ``nichiiki extract`` spends its time: per stage, per page, largest costs first.

Not a test. For each document set — the text-only real PDFs, then the whole
corpus (samples/*.pdf and samples/real, scans included) — one fresh process
with empty NLP and OCR caches extracts every document one after another (one
core, so stages do not blur into each other) and times every stage by its own
time, nested stages subtracted from the ones that called them:

- ``parse`` (PyMuPDF characters and drawings), ``ocr`` (any OCR engine call);
- ``extract:<name>`` for every registered extractor, ``link``;
- ``text`` and its sub-steps: ``text:normalise``, ``text:sudachi``,
  ``text:gazetteer_load``, ``text:gazetteer_match``, ``text:ginza``.

Each stage reports wall and CPU seconds, its share and milliseconds per page;
each document its pages and per-page cost. Writes benchmarks/profile.json.

    .venv/bin/python benchmarks/profile.py [--real DIR] [--sets text_real,corpus] [--out benchmarks/profile.json]

A set not named in ``--sets`` keeps what the file already holds (each set names the commit that measured it).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable


class StageClock:
    """Own time per stage: a stage called inside another is subtracted from its caller."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._stack: list[list[float]] = []  # [nested wall, nested cpu] per open stage

    def wrap(self, label, fn):  # type: ignore[no-untyped-def]
        @functools.wraps(fn)
        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            self._stack.append([0.0, 0.0])
            w0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                nested = self._stack.pop()
                name = label(*args) if callable(label) else label
                self.wall[name] = self.wall.get(name, 0.0) + wall - nested[0]
                self.cpu[name] = self.cpu.get(name, 0.0) + cpu - nested[1]
                self.calls[name] = self.calls.get(name, 0) + 1
                if self._stack:
                    self._stack[-1][0] += wall
                    self._stack[-1][1] += cpu

        return timed


def instrument(clock: StageClock) -> None:
    """Replace each timed function wherever the project's modules hold it (``from x import f`` copies included)."""
    import importlib

    import extractors.base
    import pipeline.document.extract
    import pipeline.text.places

    targets = [
        ("pipeline.document.extract", "parse_pages", "parse"),
        ("pipeline.document.extract", "link_document", "link"),
        ("pipeline.document.extract", "run_text_stage", "text"),
        ("pipeline.text.normalize", "clean_text", "text:normalise"),
        ("pipeline.text.language", "token_spans", "text:sudachi"),
        ("pipeline.text.language", "place_subwords", "text:sudachi"),
        ("pipeline.text.gazetteer", "load_gazetteer", "text:gazetteer_load"),
        ("pipeline.text.language", "place_entities", "text:ginza"),
        ("pipeline.text.language", "ginza_ner", "text:ginza_load"),
        # Whatever OCR engine the project uses: every entry point of pipeline.reading.ocr.
        ("pipeline.reading.ocr", "ocr_words", "ocr"),
        ("pipeline.reading.ocr", "ocr_text", "ocr"),
        ("pipeline.reading.ocr", "ocr_page_chars", "ocr"),
        ("pipeline.reading.ocr", "ocr_page", "ocr"),
        ("pipeline.reading.ocr", "ocr_lines", "ocr"),
    ]
    for module_name, attr, label in targets:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        original = getattr(module, attr, None)
        if original is None:
            continue
        timed = clock.wrap(label, original)
        for loaded in list(sys.modules.values()):
            name = getattr(loaded, "__name__", "")
            if not (name.startswith("pipeline") or name.startswith("extractors")):
                continue
            for key, value in list(vars(loaded).items()):
                if value is original:
                    setattr(loaded, key, timed)
    resolver = pipeline.text.places.PlaceResolver
    for method in ("find_mentions", "found_spans", "entity_could_add", "resolve_region_cell"):
        setattr(resolver, method, clock.wrap("text:gazetteer_match", getattr(resolver, method)))
    registered = extractors.base.Registered
    registered.__call__ = clock.wrap(lambda self, *_: f"extract:{self.name}", registered.__call__)
    assert pipeline.document.extract.parse_pages is not None


def worker(pdfs: list[Path]) -> dict:
    """Runs in a fresh process: extract ``pdfs`` one by one, cold, and return the stage times."""
    started = time.perf_counter()
    from pipeline.document.extract import extract_pdf, sha256_file
    from pipeline.reading.sandbox import prepare_worker_process

    # One OpenCV thread, as in every sandboxed worker: otherwise the scans' grid reading runs on
    # both cores here and its CPU exceeds its wall.
    prepare_worker_process()
    clock = StageClock()
    instrument(clock)
    imported = time.perf_counter() - started
    ocr_cache = Path(tempfile.mkdtemp(prefix="nichiiki-profile-ocr-"))
    documents = []
    for path in pdfs:
        w0, c0 = time.perf_counter(), time.process_time()
        result = extract_pdf(path, path.stem.lower(), sha256_file(path), cache_dir=ocr_cache)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        pages = result.info.pages
        documents.append({
            "document": path.name, "pages": pages, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "ms_per_page": round(1000 * wall / max(pages, 1), 1), "failures": [f.stage for f in result.failures],
        })
    pages = sum(d["pages"] for d in documents)
    total = sum(clock.wall.values())
    stages = [
        {"stage": name, "wall_s": round(wall, 3), "cpu_s": round(clock.cpu[name], 3), "share": round(wall / total, 3) if total else 0.0,
         "ms_per_page": round(1000 * wall / max(pages, 1), 2), "calls": clock.calls[name]}
        for name, wall in sorted(clock.wall.items(), key=lambda kv: -kv[1])
    ]
    return {
        "documents": len(documents), "pages": pages, "import_s": round(imported, 2),
        "extract_wall_s": round(sum(d["wall_s"] for d in documents), 2),
        "extract_cpu_s": round(sum(d["cpu_s"] for d in documents), 2),
        "pages_per_s_one_core": round(pages / max(sum(d["wall_s"] for d in documents), 1e-9), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "stages": stages, "per_document": sorted(documents, key=lambda d: -d["wall_s"]),
    }


def text_only(pdfs: list[Path]) -> list[Path]:
    import pymupdf

    chosen = []
    for path in pdfs:
        with pymupdf.open(path) as doc:
            if all(page.get_text("text").strip() for page in doc):
                chosen.append(path)
    return chosen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", type=Path, default=REPO / "samples" / "real")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "profile.json")
    parser.add_argument("--sets", default="text_real,corpus", help="comma-separated: text_real, corpus")
    parser.add_argument("--worker", nargs="*", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker)))
        return 0
    real = sorted(args.real.glob("*.pdf"))
    sets = {"text_real": text_only(real), "corpus": sorted((REPO / "samples").glob("*.pdf")) + real}
    report: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_at_start": os.getloadavg()}, "sets": {}}
    if args.out.is_file():
        # Sets not re-run this time keep their figures, each naming the commit that measured it.
        report["sets"] = json.loads(args.out.read_text(encoding="utf-8")).get("sets", {})
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip() or None
    for name in args.sets.split(","):
        with tempfile.TemporaryDirectory(prefix="nichiiki-profile-") as nlp:
            # One BLAS thread, as in the sandbox's workers (pipeline.sandbox_preload).
            env = dict(os.environ, NICHIIKI_NLP_CACHE=nlp, PYTHONPATH=str(REPO), OPENBLAS_NUM_THREADS="1")
            out = subprocess.run([PY, __file__, "--worker", *map(str, sets[name])], env=env, cwd=REPO, capture_output=True, text=True)
        if out.returncode != 0:
            print(out.stderr[-4000:], file=sys.stderr)
            return 1
        report["sets"][name] = result = json.loads(out.stdout.strip().splitlines()[-1])
        result["commit"] = commit
        print(f"{name}: {result['documents']} documents, {result['pages']} pages, {result['extract_wall_s']} s wall, "
              f"{result['extract_cpu_s']} s CPU, {result['pages_per_s_one_core']} pages/s on one core", flush=True)
        for stage in result["stages"][:12]:
            print(f"  {stage['stage']:28s} {stage['wall_s']:8.2f} s  {stage['cpu_s']:8.2f} s CPU  {stage['ms_per_page']:8.1f} ms/page")
    report["machine"]["load_avg_at_end"] = os.getloadavg()
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
