"""Benchmark of whole runs: pages/s end to end, seconds per stage, peak RSS; each task runner, cold and warm cache.

Not a test: it runs `python -m flows.cli run` as a subprocess per scenario on the
bundled samples plus samples/real (the 12 real PDFs) and writes
benchmarks/results.json. A Prefect server is started once first and its start
is excluded (a scheduled deployment talks to a running server); "process
start" (interpreter + importing the flow, measured separately) is reported so
figures can be read "beyond process start". Every run writes its timeline
(``NICHIIKI_TIMELINE``); a run that publishes reports its chain from it: until
the flow starts (Prefect), until the first document starts, the documents,
publishing, and what remains until the process ends. A cold run's memory
(PSS, which the kernel answers by walking every page of the tree) is
measured in a second cold run of its own, so that reading it slows no
timed run.

    .venv/bin/python benchmarks/run.py [--real DIR] [--out benchmarks/results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pandas as pd
import psutil

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable


def code_commit() -> str:
    """The short hash of the checkout being measured, recorded in every benchmark file that keeps figures."""
    return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict) -> subprocess.Popen:
    port = _free_port()
    env["PREFECT_API_URL"] = f"http://127.0.0.1:{port}/api"
    server = subprocess.Popen(
        [str(Path(PY).with_name("prefect")), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(env["PREFECT_API_URL"] + "/health", timeout=2):
                return server
        except OSError:
            time.sleep(1)
    raise RuntimeError("prefect server did not start")


def read_events(path: Path) -> list[dict]:
    """The events a command wrote to its ``NICHIIKI_TIMELINE`` file (pipeline/model/timeline.py)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run_chain(timeline: Path, spawned: float, wall: float) -> dict | None:
    """Where a run's wall time went, from the events it wrote: seconds from the command's spawn
    until the flow starts and until the first document starts, the documents, publishing, and
    what follows publishing until the process ends."""
    events = read_events(timeline)

    def at(event: str) -> float | None:
        times = [e["t"] - spawned for e in events if e["event"] == event]
        return min(times) if times else None

    flow_start, first_task = at("flow:start"), at("task:extract")
    extracted, published = at("flow:extracted"), at("flow:published")
    if None in (flow_start, first_task, extracted, published):
        return None  # an unchanged run publishes nothing
    return {
        "until_flow_start_s": round(flow_start, 2),
        "until_first_document_s": round(first_task, 2),
        "documents_s": round(extracted - first_task, 2),
        "publish_s": round(published - extracted, 2),
        "after_publish_until_exit_s": round(wall - published, 2),
    }


def measure(cmd: list[str], env: dict, pss: bool = False, every: float = 0.05, pss_every: float = 0.2) -> dict:
    """Wall seconds and peak RSS of the whole process tree (sampled every ``every`` seconds).

    With ``pss``, also the peak proportional set size of the tree, read every ``pss_every``
    seconds: forked children count the pages they share with their parent once, not each. The
    kernel walks every page of every process to answer (~30 ms for the tree of a run over the
    corpus, against ~1.5 ms for the tree's RSS and CPU), and the sampler runs on the same cores as
    what it measures: read every 0.2 s during a cold run of the corpus it took 6.2 s of CPU and
    lengthened the run by 2–5 s.
    """
    started, spawned = time.perf_counter(), time.time()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = peak_pss = 0
    cpu: dict[int, float] = {}  # user + system seconds of each process of the tree, last seen
    root = psutil.Process(proc.pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak, peak_pss
        last_pss = -pss_every
        while not done.is_set():
            try:
                tree = [root] + root.children(recursive=True)
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
                for p in tree:
                    times = p.cpu_times()
                    cpu[p.pid] = max(cpu.get(p.pid, 0.0), times.user + times.system)
                if pss and time.monotonic() - last_pss >= pss_every:
                    last_pss = time.monotonic()
                    peak_pss = max(peak_pss, sum(p.memory_full_info().pss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(every)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out[-4000:]}")
    result = {"wall_s": round(wall, 2), "peak_rss_mb": round(peak / 2**20, 1), "tail": (out.strip().splitlines() or [""])[-1]}
    chain = run_chain(Path(env["NICHIIKI_TIMELINE"]), spawned, wall) if env.get("NICHIIKI_TIMELINE") else None
    if chain:
        result["chain"] = chain
    if pss:
        result["peak_pss_mb"] = round(peak_pss / 2**20, 1)
    # CPU of the tree as sampled (up to one interval of each process's end unseen): unlike the wall,
    # it hardly depends on how busy the machine is.
    result["cpu_s"] = round(sum(cpu.values()), 2)
    return result


def corpus(folder: Path, real: Path | None) -> Path:
    docs = folder / "docs"
    docs.mkdir(parents=True)
    pdfs = sorted((REPO / "samples").glob("*.pdf")) + (sorted(real.glob("*.pdf")) if real and real.is_dir() else [])
    lines = ["documents:"]
    for pdf in pdfs:
        shutil.copy(pdf, docs / pdf.name)
        doc_id = pdf.stem.lower().replace(".", "_")
        lines.append(f"  - {{id: {doc_id}, publisher: bench, title: {pdf.stem}, issued: null, url: null, sample: docs/{pdf.name}}}")
    registry = folder / "sources.yaml"
    registry.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return registry


def release_facts(outputs: Path) -> dict:
    current = (outputs / "current").resolve()
    manifest = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
    pages = int(pd.read_parquet(current / "documents.parquet")["pages"].sum())
    return {"run_id": manifest["run_id"], "pages": pages, "documents": len(manifest["inputs"]), "failures": len(manifest["failures"]),
            "stages_s": {k: round(v, 2) for k, v in manifest["timings"].items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", type=Path, default=REPO / "samples" / "real")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nichiiki-bench-"))
    env = dict(os.environ, PREFECT_HOME=str(work / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING")
    server = start_server(env)
    commit = code_commit()
    results: dict = {"commit": commit, "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                                   "load_avg_at_start": os.getloadavg()}, "runs": []}
    try:
        registry = corpus(work, args.real)
        # The first import also warms the OS file cache; the fastest of three is the process start.
        start = min((measure([PY, "-c", "import flows.main"], env) for _ in range(3)), key=lambda r: r["wall_s"])
        results["process_start_s"] = start["wall_s"]
        # The default (a thread pool of 2, each document in its sandboxed process), then one document
        # at a time, then a local Dask cluster of 2 worker processes.
        for workers, runner in ((2, "threads"), (1, "sequential"), (2, "dask")):
            outputs, cache = work / f"out-{runner}-{workers}", work / f"cache-{runner}-{workers}"
            # Cold means every cache empty: results and OCR (in --cache-dir), and the
            # gazetteer and GiNZA's entities (NICHIIKI_NLP_CACHE), as on a fresh machine.
            env["NICHIIKI_NLP_CACHE"] = str(work / f"nlp-{runner}-{workers}")

            def command(outputs: Path, cache: Path) -> list[str]:
                return [PY, "-m", "flows.cli", "run", "--sources", str(registry), "--outputs", str(outputs), "--cache-dir", str(cache),
                        "--runner", runner, "--workers", str(workers), "--no-progress"]

            base = command(outputs, cache)
            # The cold run's memory is measured in a cold run of its own (folders and caches of its
            # own), so that reading it (``measure``) takes nothing from the timed run.
            print(f"{workers} worker(s) {runner} cold (memory) ...", flush=True)
            memory = measure(command(work / f"out-{runner}-{workers}-memory", work / f"cache-{runner}-{workers}-memory"),
                             env | {"NICHIIKI_NLP_CACHE": str(work / f"nlp-{runner}-{workers}-memory")}, pss=True)
            changed = work / "docs" / "mic_tsuchi_71.pdf"
            original = changed.read_bytes()
            scenarios = [
                ("cold", base, None),
                ("warm_unchanged_noop", base, None),
                ("warm_forced_publish", base + ["--force"], None),
                ("one_pdf_changed", base, lambda: changed.write_bytes(original + f"\n% bench {runner} {workers}\n".encode())),
            ]
            for name, cmd, before in scenarios:
                if before:
                    before()
                print(f"{workers} worker(s) {runner} {name} ...", flush=True)
                timeline = work / f"timeline-{runner}-{workers}-{name}.jsonl"
                env_run = env | {"NICHIIKI_TIMELINE": str(timeline)}
                if name == "cold":
                    run = measure(cmd, env_run, every=0.1) | {"peak_pss_mb": memory["peak_pss_mb"], "memory_run": memory}
                else:  # a few seconds: memory read along, once a second
                    run = measure(cmd, env_run, pss=True, every=0.1, pss_every=1.0)
                run |= {"workers": workers, "runner": runner, "scenario": name}
                facts = release_facts(outputs)
                run["release"] = facts
                run["beyond_process_start_s"] = round(run["wall_s"] - start["wall_s"], 2)
                if name != "warm_unchanged_noop":
                    run["pages_per_s"] = round(facts["pages"] / run["wall_s"], 2)
                results["runs"].append(run)
                print(json.dumps({k: v for k, v in run.items() if k != "release"}, ensure_ascii=False), flush=True)
            changed.write_bytes(original)
        results["finished_load_avg"] = os.getloadavg()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
