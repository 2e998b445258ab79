"""A cold ``nichiiki extract`` on one time axis: the chain that sets its wall time.

Not a test. Runs ``nichiiki extract`` on the text-only PDFs of a folder (default
../shared/real, benchmarks/compare.py's set) as a fresh process with empty NLP
and result caches and ``NICHIIKI_TIMELINE`` set, so the command, the threads
that wait on the sandbox and the sandbox's children append their events
(pipeline/model/timeline.py) to one file. From it, per run, seconds since the
command was spawned:

- when the command's imports end, when the fork server is asked to start and
  when it forks its first child (it is ready: imports and models loaded);
- the fork server's preload: its imports, the pandera schemas, the gazetteer and
  cleaning tables (wall and CPU seconds each), and the command building the
  tables' cache files meanwhile;
- when each document starts and ends (the command's thread and the child),
  its pages and the child's CPU;
- how long assembling, the validation warm-up, validation, the document
  checks and writing (datasets, stored PDFs, manifest, data package) take;
- the chain: start → fork server ready → last document done → written → exit.

With ``--before DIR`` each round also runs the same command with DIR's code
first on the path (another checkout, e.g. main), alternating, for a paired
before/after of wall and CPU (user + system of the process tree, sampled by
benchmarks/run.py); DIR's code need not have the timeline.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/timeline.py [--rounds 3] [--before /work/main] [--out benchmarks/timeline.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from compare import add_corpus_arguments, corpus_pdfs, corpus_report  # noqa: E402  (the same 10 PDFs and options as the comparison)
from run import PY, measure, read_events  # noqa: E402  (the same wall / CPU / peak-memory sampler)


# The fork server's preload marks (pipeline/document/preload.py), in order.
PRELOAD_PHASES = ("imported", "schemas_built", "tables_loaded")


def _preload_phases(events: list[dict], spawned: float) -> dict | None:
    """When the fork server's preload starts, and the wall and CPU seconds of each of its phases:
    imports, building the pandera schemas, loading the gazetteer, Sudachi and the cleaning tables."""
    marks = {e["event"].split(":", 1)[1]: e for e in events if e["event"].startswith("preload:")}
    if "start" not in marks:
        return None
    out: dict = {"start_s": round(marks["start"]["t"] - spawned, 3)}
    previous = marks["start"]
    for phase in PRELOAD_PHASES:
        if phase in marks:
            out[phase] = {"seconds": round(marks[phase]["t"] - previous["t"], 3), "cpu_s": round(marks[phase]["cpu_s"] - previous["cpu_s"], 3)}
            previous = marks[phase]
    return out


def summarise(events: list[dict], spawned: float, wall: float) -> dict:
    """The run's events as seconds since the command was spawned, grouped into the chain's parts."""

    def at(event: str, last: bool = False) -> float | None:
        times = [e["t"] for e in events if e["event"] == event]
        if not times:
            return None
        return round((max(times) if last else min(times)) - spawned, 3)

    def spans(prefix: str) -> list[dict]:
        """Every ``<prefix>:start``/``:end`` pair of one process and thread, in order."""
        open_: dict[tuple, dict] = {}
        out = []
        for e in events:
            if e["event"] == f"{prefix}:start":
                open_[(e["pid"], e["thread"])] = e
            elif e["event"] == f"{prefix}:end":
                s = open_.pop((e["pid"], e["thread"]), None)
                if s is not None:
                    fields = {k: v for k, v in e.items() if k not in ("t", "event", "pid", "thread", "cpu_s")}
                    out.append({**fields, "start_s": round(s["t"] - spawned, 3), "seconds": round(e["t"] - s["t"], 3),
                                "cpu_s": round(e["cpu_s"] - s["cpu_s"], 3), "_where": (e["pid"], e["thread"], s["t"], e["t"])})
        return out

    def total(prefix: str) -> dict | None:
        found = spans(prefix)
        if not found:
            return None
        return {"start_s": found[0]["start_s"], "count": len(found), "seconds": round(sum(s["seconds"] for s in found), 3),
                "cpu_s": round(sum(s["cpu_s"] for s in found), 3)}

    command_pid = next((e["pid"] for e in events if e["event"] == "command:start"), None)
    forks = [e for e in events if e["event"] == "sandbox:forked"]
    child_events: dict[int, dict] = {}
    for e in events:
        if e["event"] in ("child:start", "child:end"):
            child_events.setdefault(e["pid"], {})[e["event"]] = e
    documents = []
    timings = {e["doc_id"]: e for e in events if e["event"] == "document:timings"}
    for span in spans("document"):
        doc = {"doc_id": span["doc_id"], "start_s": span["start_s"], "seconds": span["seconds"]}
        pid, thread, begun, ended = span["_where"]
        # The child of this document: forked by the same thread while it waited on this document.
        forked = next((f for f in forks if (f["pid"], f["thread"]) == (pid, thread) and begun <= f["t"] <= ended), None)
        if forked is not None:
            doc["forked_s"] = round(forked["t"] - spawned, 3)
            child = child_events.get(forked["child"], {})
            if "child:start" in child and "child:end" in child:
                doc["child_start_s"] = round(child["child:start"]["t"] - spawned, 3)
                doc["child_seconds"] = round(child["child:end"]["t"] - child["child:start"]["t"], 3)
                doc["child_cpu_s"] = child["child:end"]["cpu_s"]  # since the fork: the child's own CPU
                doc["child_startup_cpu_s"] = child["child:start"]["cpu_s"]
        if span["doc_id"] in timings:
            doc["pages"] = timings[span["doc_id"]]["pages"]
        documents.append(doc)
    documents.sort(key=lambda d: d["start_s"])
    command_cpu = max((e["cpu_s"] for e in events if e["pid"] == command_pid), default=None)
    first_fork = at("sandbox:forked")
    documents_end = at("documents:end")
    written = at("command:written")
    last_doc = max(documents, key=lambda d: d["start_s"] + d["seconds"]) if documents else None
    return {
        "wall_s": wall,
        "command_start_s": at("command:start"),
        "fork_server_started_s": at("command:fork_server_started"),
        "command_imports_done_s": at("command:imports_done"),
        "fork_server_ready_s": first_fork,
        "fork_server_preload": _preload_phases(events, spawned),
        "documents_end_s": documents_end,
        "last_document": last_doc["doc_id"] if last_doc else None,
        "written_s": written,
        "chain": {
            "until_fork_server_ready_s": first_fork,
            "documents_s": round(documents_end - first_fork, 3) if None not in (documents_end, first_fork) else None,
            "after_documents_until_written_s": round(written - documents_end, 3) if None not in (written, documents_end) else None,
            "after_written_until_exit_s": round(wall - written, 3) if written is not None else None,
        },
        "command_cpu_s_at_written": command_cpu,
        "command_text_tables": total("command:text_tables"),
        "warm_validation": total("warm_validation"),
        "assemble": total("assemble"),
        "waiting_for_warm_validation": total("warm_validation:wait"),
        "validate": total("validate"),
        "checks": total("checks"),
        "write_datasets": total("write:datasets"),
        "write_parquet": total("write:dataset"),
        "write_fsync": total("write:fsync"),
        "write_store_pdf": total("write:store_pdf"),
        "write_manifest": total("write:manifest"),
        "write_datapackage": total("write:datapackage"),
        "validate_per_dataset": [{k: s[k] for k in ("dataset", "rows", "seconds", "cpu_s")} for s in spans("validate:dataset")],
        "documents": documents,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_corpus_arguments(parser, REPO / "benchmarks" / "timeline.json")
    parser.add_argument("--before", type=Path, help="another checkout to run alternately as 'before' (its code first on the path)")
    args = parser.parse_args()
    pdfs, pages = corpus_pdfs(args, "timeline")
    work = Path(tempfile.mkdtemp(prefix="nichiiki-timeline-"))
    nichiiki = str(Path(PY).with_name("nichiiki"))
    code = {"after": REPO}
    if args.before:
        code = {"before": args.before.resolve(), "after": REPO}
    runs: dict[str, list[dict]] = {name: [] for name in code}
    load_at_start = os.getloadavg()

    def cold_extract(root: Path, tag: str) -> tuple[list[str], dict]:
        """The command and environment of a cold extract with ``root``'s code: fresh NLP and result
        caches, the checkout's code first on the path. Run from the checkout's own folder: a checkout
        from before the sandbox started its fork server with PYTHONSAFEPATH has the server import
        its working folder's code."""
        env = dict(os.environ, NICHIIKI_NLP_CACHE=str(work / f"nlp-{tag}"), NICHIIKI_CACHE_DIR=str(work / f"cache-{tag}"),
                   PYTHONPATH=str(root))
        command = ["sh", "-c", 'cd "$0" && exec "$@"', str(root), nichiiki, "extract", *map(str, pdfs), "--out", str(work / f"out-{tag}")]
        return command, env

    try:
        for r in range(args.rounds):
            for name, root in code.items():
                tag = f"{name}-{r}"
                events_path = work / f"timeline-{tag}.jsonl"
                command, env = cold_extract(root, tag)
                env["NICHIIKI_TIMELINE"] = str(events_path)
                load = os.getloadavg()[0]
                spawned = time.time()
                # RSS and CPU only: reading the tree's PSS along the run slowed it (see compare.py).
                result = measure(command, env, every=0.1)
                result["load_avg_1m_before"] = round(load, 2)
                result.pop("tail", None)
                events = read_events(events_path)
                result["events"] = len(events)
                if events:
                    result["timeline"] = summarise(events, spawned, result["wall_s"])
                runs[name].append(result)
                chain = result.get("timeline", {}).get("chain", {}) if result["events"] else {}
                print(f"round {r + 1} {name}: {result['wall_s']} s wall, {result['cpu_s']} s CPU, {result['peak_rss_mb']} MB RSS, load {load:.1f}"
                      + (f"; fork server ready {chain.get('until_fork_server_ready_s')} s, documents {chain.get('documents_s')} s, "
                         f"then {chain.get('after_documents_until_written_s')} s to written, {chain.get('after_written_until_exit_s')} s to exit" if chain else ""),
                      flush=True)
        memory = {}
        for name, root in code.items():
            # Peak PSS from one more cold run of each checkout, read along; its times are not reported.
            memory[name] = measure(*cold_extract(root, f"{name}-memory"), pss=True)["peak_pss_mb"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = {}
    for name, results in runs.items():
        summary[name] = {
            "wall_s_median": round(statistics.median(r["wall_s"] for r in results), 2),
            "cpu_s_median": round(statistics.median(r["cpu_s"] for r in results), 2),
            "pages_per_s": round(pages / statistics.median(r["wall_s"] for r in results), 1),
            "peak_pss_mb": memory[name],
            "peak_rss_mb_max": max(r["peak_rss_mb"] for r in results),
            "wall_s_each": [r["wall_s"] for r in results],
            "cpu_s_each": [r["cpu_s"] for r in results],
            "load_avg_1m_before_each": [r["load_avg_1m_before"] for r in results],
        }
    what = "a cold `nichiiki extract` of the text-only PDFs on one time axis (seconds since the command was spawned)"
    report = corpus_report(what, args, pdfs, pages, load_at_start, before=str(args.before) if args.before else None, summary=summary, runs=runs)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for name, row in summary.items():
        print(f"{name:7s} wall {row['wall_s_median']:6.2f} s ({row['pages_per_s']} pages/s)  CPU {row['cpu_s_median']:5.2f} s  PSS {row['peak_pss_mb']} MB")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
