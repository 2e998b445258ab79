"""Scale, measured: a corpus of N pages made of copies of the real PDFs, run four ways.

Not a test. The corpus repeats samples/real under new names until it holds at
least N pages; every copy gets a trailing PDF comment of its own, so no copy
has another's bytes (the result cache keys on the PDF's sha256 and cannot
dedupe them; the OCR cache keys on page images and still can, as it would for
a re-published scan). For each size, cold (empty result and NLP caches), it runs
``python -m flows.cli run`` (one Prefect server, started once and not counted):

- ``threads``: the default, a thread pool of 2, each document in its sandboxed process;
- ``sequential``: one process;
- ``dask_local``: the flow's own local Dask cluster, 2 worker processes;
- ``dask_scheduler``: an existing ``dask scheduler`` on 127.0.0.1 with 2
  ``dask worker`` processes (DASK_DISTRIBUTED__WORKER__DAEMON=False), given
  to the flow with ``--dask-address``.

Reports wall, pages/s, the peak RSS of the whole process tree and of each
worker process. Writes benchmarks/scale.json.

    .venv/bin/python benchmarks/scale.py [--pages 100,500] [--modes threads,sequential,dask_local,dask_scheduler]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from run import PY, _free_port, code_commit, release_facts, start_server  # noqa: E402


def build_corpus(folder: Path, real: Path, min_pages: int) -> tuple[Path, int]:
    """Copies of ``real``'s PDFs, each with bytes of its own, until ``min_pages`` pages; returns the registry."""
    import pymupdf

    sources = []
    for pdf in sorted(real.glob("*.pdf")):
        with pymupdf.open(pdf) as doc:
            sources.append((pdf, pdf.read_bytes(), doc.page_count))
    docs = folder / "docs"
    docs.mkdir(parents=True)
    lines, pages, copy = ["documents:"], 0, 0
    while pages < min_pages:
        for pdf, data, count in sources:
            if pages >= min_pages:
                break
            name = f"{pdf.stem}_c{copy:04d}"
            # A comment after %%EOF: every reader ignores it, every hash sees it.
            (docs / f"{name}.pdf").write_bytes(data + f"\n% nichiiki scale copy {copy}\n".encode())
            lines.append(f"  - {{id: {name.lower()}, publisher: bench, title: {name}, issued: null, url: null, sample: docs/{name}.pdf}}")
            pages += count
        copy += 1
    registry = folder / "sources.yaml"
    registry.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return registry, pages


def measure_tree(cmd: list[str], env: dict, watch: list[psutil.Process] = ()) -> dict:
    """Wall seconds; peak RSS of the process tree and of each process in it (or in ``watch``), sampled every 100 ms."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root = psutil.Process(proc.pid)
    peaks: dict[int, tuple[str, int]] = {}
    tree_peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal tree_peak
        while not done.is_set():
            total = 0
            try:
                for p in [root, *root.children(recursive=True), *(q for w in watch for q in (w, *w.children(recursive=True)))]:
                    try:
                        rss = p.memory_info().rss
                        name = " ".join(p.cmdline()[1:4])[:80]
                    except psutil.Error:
                        continue
                    total += rss
                    if rss > peaks.get(p.pid, ("", 0))[1]:
                        peaks[p.pid] = (name, rss)
            except psutil.Error:
                pass
            tree_peak = max(tree_peak, total)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out[-4000:]}")
    biggest = sorted(peaks.values(), key=lambda v: -v[1])
    return {
        "wall_s": round(wall, 2),
        "peak_rss_tree_mb": round(tree_peak / 2**20, 1),
        "peak_rss_by_process_mb": [{"process": name, "mb": round(rss / 2**20, 1)} for name, rss in biggest[:6]],
    }


def start_dask(env: dict, workers: int) -> tuple[str, list[subprocess.Popen]]:
    """``dask scheduler`` on 127.0.0.1 and ``workers`` single-threaded ``dask worker`` processes."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(Path(PY).with_name("dask"))
    env = dict(env, DASK_DISTRIBUTED__WORKER__DAEMON="False", PYTHONPATH=str(REPO))
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], env=env, cwd=REPO,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    for _ in range(workers):
        procs.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                                       "--host", "127.0.0.1"], env=env, cwd=REPO,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
    from distributed import Client

    with Client(address, timeout=120) as client:
        client.wait_for_workers(workers, timeout=300)
    return address, procs


def stop(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        try:
            os.killpg(p.pid, 15)
            p.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real", type=Path, default=REPO / "samples" / "real")
    parser.add_argument("--pages", default="100,500")
    parser.add_argument("--modes", default="threads,sequential,dask_local,dask_scheduler")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "scale.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nichiiki-scale-"))
    env = dict(os.environ, PREFECT_HOME=str(work / "prefect-home"), PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_LOGGING_LEVEL="WARNING", PYTHONPATH=str(REPO))
    server = start_server(env)
    commit = code_commit()
    report: dict = {"commit": commit, "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                                  "load_avg_at_start": os.getloadavg()}, "runs": []}
    try:
        for size in (int(n) for n in args.pages.split(",")):
            registry, pages = build_corpus(work / f"corpus-{size}", args.real, size)
            for mode in args.modes.split(","):
                tag = f"{size}-{mode}"
                env_run = dict(env, NICHIIKI_NLP_CACHE=str(work / f"nlp-{tag}"))
                cmd = [PY, "-m", "flows.cli", "run", "--sources", str(registry), "--outputs", str(work / f"out-{tag}"),
                       "--cache-dir", str(work / f"cache-{tag}"), "--no-progress", "--force"]
                extra: list[subprocess.Popen] = []
                if mode == "threads":
                    cmd += ["--runner", "threads", "--workers", "2"]
                elif mode == "sequential":
                    cmd += ["--runner", "sequential", "--workers", "1"]
                elif mode == "dask_local":
                    cmd += ["--runner", "dask", "--workers", "2"]
                else:
                    address, extra = start_dask(env_run, 2)
                    cmd += ["--runner", "dask", "--dask-address", address]
                print(f"{size} pages, {mode} ...", flush=True)
                try:
                    run = measure_tree(cmd, env_run, [psutil.Process(p.pid) for p in extra])
                finally:
                    stop(extra)
                facts = release_facts(work / f"out-{tag}")
                run |= {"mode": mode, "corpus_pages": pages, "documents": facts["documents"], "failures": facts["failures"],
                        "pages_per_s": round(facts["pages"] / run["wall_s"], 2), "stages_s": facts["stages_s"]}
                report["runs"].append(run)
                print(json.dumps({k: run[k] for k in ("mode", "corpus_pages", "wall_s", "pages_per_s", "peak_rss_tree_mb")}), flush=True)
                args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        report["machine"]["load_avg_at_end"] = os.getloadavg()
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}")
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
