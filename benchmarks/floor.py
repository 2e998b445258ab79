"""How fast a cold ``nichiiki extract`` of the text pages could be, as the pipeline's parts cost today.

Not a test. Issue 14 asks the text path for ≥ 30 pages/s and for a wall within 3×
PyMuPDF's raw parse. This script measures every part of a cold run once, apart,
and lays them on the machine's two cores as well as they could ever be laid: the
result is a floor no scheduling of today's code can beat. A goal below the
floor needs the parts themselves to cost less, not a better arrangement.

Per round, each part in a fresh process with empty caches (as compare.py's cold runs):

- the interpreter's start (``python -c pass``);
- the command's own chain: the command line (Typer, the settings), building the
  text stage's table caches, the imports for validating and writing, and the
  validation's warm-up;
- a document worker's chain: its imports, schemas and tables (the fork
  server's preload), then each document extracted in a child forked from it,
  its CPU seconds counted in the child;
- a real cold ``nichiiki extract`` with its timeline, for its wall, its CPU and
  the time from the last document to the files written (validation, checks,
  writing);
- PyMuPDF's raw parse, compare.py's script, for the 3× line.

The floor of a round, on two cores:

    interpreter start
    + the worker's chain (imports and tables): no document starts before it
    + the documents' CPU shared over both cores, with whatever of the command's
      chain (command line, table caches, imports, validation warm-up) did not
      fit beside the worker's chain; never less than the longest document
    + validating and writing the datasets after the last document

It leaves out what a run cannot avoid and this script does not count (a child's
fork, sending its frames back, the checks, the manifest, the process's exit), so
the real floor is higher. Writes benchmarks/floor.json.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/floor.py [--folder DIR] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from compare import PYMUPDF_SCRIPT, add_corpus_arguments, corpus_pdfs, corpus_report  # noqa: E402  (the same 10 PDFs as the comparison)
from run import PY, measure, read_events  # noqa: E402
from timeline import summarise  # noqa: E402

COMMAND_CHAIN = """
from pipeline.model.timeline import mark
mark("floor:start")
import flows.cli
mark("floor:command_line")
flows.cli._cache_text_tables()
mark("floor:text_tables")
import pipeline.runs.local
from pipeline.publish.writer import new_run_id, validated_empty_frames
mark("floor:command_imports")
validated_empty_frames(new_run_id())
mark("floor:warm_validation")
"""

WORKER_CHAIN = """
import os, sys, time
from pathlib import Path
from pipeline.model.timeline import mark
mark("floor:start")
import pipeline.document.preload
mark("floor:worker_ready")
from pipeline.document.extract import extract_pdf
for path in map(Path, sys.argv[1:]):
    pid = os.fork()
    if pid == 0:
        cpu = time.process_time()
        extract_pdf(path, path.stem, cache_dir=Path(os.environ["NICHIIKI_CACHE_DIR"]))
        mark("floor:document", doc_id=path.stem, document_cpu_s=round(time.process_time() - cpu, 4))
        os._exit(0)
    os.waitpid(pid, 0)
"""


def _run(cmd: list[str], env: dict) -> float:
    """Run ``cmd`` to its end; its wall seconds."""
    started = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def _cpu_between(events: list[dict], first: str, last: str) -> float:
    """CPU seconds the process spent from mark ``first`` to mark ``last``."""
    at = {e["event"]: e["cpu_s"] for e in events}
    return at[last] - at[first]


def one_round(pdfs: list[Path], work: Path, tag: str) -> dict:
    def cold_env(name: str, caches: str) -> dict:
        events = work / f"{name}-{tag}.jsonl"
        return dict(os.environ, PYTHONPATH=str(REPO), NICHIIKI_NLP_CACHE=str(work / f"nlp-{caches}-{tag}"),
                    NICHIIKI_CACHE_DIR=str(work / f"cache-{caches}-{tag}"), NICHIIKI_TIMELINE=str(events))

    interpreter = min(_run([PY, "-c", "pass"], dict(os.environ)) for _ in range(3))

    env = cold_env("command", "parts")
    _run([PY, "-c", COMMAND_CHAIN], env)
    events = read_events(Path(env["NICHIIKI_TIMELINE"]))
    command = {
        "command_line_cpu_s": _cpu_between(events, "floor:start", "floor:command_line"),
        "text_tables_cpu_s": _cpu_between(events, "floor:command_line", "floor:text_tables"),
        "imports_cpu_s": _cpu_between(events, "floor:text_tables", "floor:command_imports"),
        "warm_validation_cpu_s": _cpu_between(events, "floor:command_imports", "floor:warm_validation"),
    }

    env = cold_env("worker", "parts")  # the command chain's caches: it built the tables' files, as in a run
    _run([PY, "-c", WORKER_CHAIN, *map(str, pdfs)], env)
    events = read_events(Path(env["NICHIIKI_TIMELINE"]))
    documents = {e["doc_id"]: e["document_cpu_s"] for e in events if e["event"] == "floor:document"}
    if len(documents) != len(pdfs):
        raise RuntimeError(f"floor: {len(pdfs) - len(documents)} document(s) did not finish")
    worker_ready = _cpu_between(events, "floor:start", "floor:worker_ready")

    env = cold_env("extract", "run")  # caches of its own, empty
    spawned = time.time()
    real = measure([str(Path(PY).with_name("nichiiki")), "extract", *map(str, pdfs), "--out", str(work / f"out-{tag}")], env, every=0.1)
    timeline = summarise(read_events(Path(env["NICHIIKI_TIMELINE"])), spawned, real["wall_s"])
    tail = (timeline.get("validate") or {}).get("seconds", 0.0) + (timeline.get("write_datasets") or {}).get("seconds", 0.0)

    pymupdf = measure([PY, "-c", PYMUPDF_SCRIPT, *map(str, pdfs)], dict(os.environ), every=0.1)["wall_s"]

    document_cpu = sum(documents.values())
    # The command's chain runs on the other core while the worker's does; what is left of it
    # shares the cores with the documents.
    spill = max(0.0, sum(command.values()) - worker_ready)
    head = max(worker_ready, command["command_line_cpu_s"] + command["text_tables_cpu_s"])
    body = max((document_cpu + spill) / 2, max(documents.values()))
    floor = interpreter + head + body + tail
    return {
        "interpreter_start_s": round(interpreter, 3),
        "command_chain": {k: round(v, 3) for k, v in command.items()},
        "worker_ready_cpu_s": round(worker_ready, 3),
        "documents_cpu_s": round(document_cpu, 3),
        "command_chain_beyond_worker_chain_cpu_s": round(spill, 3),
        "longest_document": max(documents, key=documents.get),
        "longest_document_cpu_s": round(max(documents.values()), 3),
        "validate_and_write_s": round(tail, 3),
        "floor": {"head_s": round(interpreter + head, 3), "documents_s": round(body, 3), "tail_s": round(tail, 3), "total_s": round(floor, 3)},
        "cpu_of_every_part_once_s": round(worker_ready + sum(command.values()) + document_cpu + tail, 3),
        "nichiiki_extract": {"wall_s": real["wall_s"], "cpu_s": real["cpu_s"], "fork_server_ready_s": timeline.get("fork_server_ready_s"),
                             "documents_end_s": timeline.get("documents_end_s"), "written_s": timeline.get("written_s"),
                             "children_cpu_s": round(sum(d.get("child_cpu_s") or 0 for d in timeline.get("documents", [])), 3),
                             "validate_s": (timeline.get("validate") or {}).get("seconds"),
                             "write_datasets_s": (timeline.get("write_datasets") or {}).get("seconds")},
        "pymupdf_raw_parse_wall_s": pymupdf,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_corpus_arguments(parser, REPO / "benchmarks" / "floor.json")
    args = parser.parse_args()
    pdfs, pages = corpus_pdfs(args, "floor")
    work = Path(tempfile.mkdtemp(prefix="nichiiki-floor-"))
    load_at_start = os.getloadavg()
    rounds = []
    try:
        for r in range(args.rounds):
            rounds.append(one_round(pdfs, work, str(r)))
            got = rounds[-1]
            print(f"round {r + 1}: floor {got['floor']['total_s']} s, nichiiki extract {got['nichiiki_extract']['wall_s']} s, "
                  f"PyMuPDF {got['pymupdf_raw_parse_wall_s']} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def median(get) -> float:
        return round(statistics.median(get(r) for r in rounds), 3)

    floor = median(lambda r: r["floor"]["total_s"])
    real = median(lambda r: r["nichiiki_extract"]["wall_s"])
    pymupdf = median(lambda r: r["pymupdf_raw_parse_wall_s"])
    summary = {
        "floor_s": floor,
        "floor_pages_per_s": round(pages / floor, 1),
        "floor_parts_s": {part: median(lambda r, p=part: r["floor"][p]) for part in ("head_s", "documents_s", "tail_s")},
        "nichiiki_extract_wall_s": real,
        "nichiiki_extract_pages_per_s": round(pages / real, 1),
        "above_floor_s": round(real - floor, 3),
        "goal_30_pages_per_s_wall_s": round(pages / 30, 3),
        "pymupdf_raw_parse_wall_s": pymupdf,
        "goal_3x_pymupdf_wall_s": round(3 * pymupdf, 3),
        "floor_over_pymupdf": round(floor / pymupdf, 2),
    }
    what = "the least wall a cold `nichiiki extract` of the text-only PDFs could take on this machine's cores with today's parts (see the script)"
    report = corpus_report(what, args, pdfs, pages, load_at_start, summary=summary, runs=rounds)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
