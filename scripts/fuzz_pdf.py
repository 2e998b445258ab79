"""Fuzz the PDF entry point with byte-level mutations of the samples (not part of CI).

    nice -n 19 .venv/bin/python scripts/fuzz_pdf.py --target parse --inputs 100000 --out benchmarks/fuzz.json
    nice -n 19 .venv/bin/python scripts/fuzz_pdf.py --target extract --seconds 3600 --out benchmarks/fuzz-extract.json

Hypothesis draws a recipe (a seed page and 1-8 mutations: bit flips, byte
overwrites, deletions, insertions of PDF tokens, duplications, splices); the
recipe is applied to the seed and the bytes go through exactly what a
published document goes through: ``pipeline.document.extract.extract_pdf`` (open_document,
parse every page, every registered extractor).

Expected outcomes: success, or a ``DocumentError`` (a clear error naming the
file). Findings: any other exception escaping the entry point, a hang past the
per-input budget, or a crash of the worker process (segfault). A persistent
worker process runs the inputs, so a crash or hang costs one restart, not the
run; findings are recorded with their recipe, which re-creates the input from
the samples (tests/test_fuzz_regressions.py replays them).

Seeds are single pages of the samples (small inputs keep throughput high), one
copy with streams compressed as published and one with streams expanded, so
mutations reach content-stream operators and not only Flate bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# (sample, 0-based page) — one page of each kind of layout in the samples: a text
# notice, a cover, the ●/○ matrix, a budget table, expert opinions. Image-heavy
# pages are left out: at 150-300 ms each they would cut throughput in half.
SEED_PAGES = [
    ("mic_tsuchi_71", 0),
    ("mlit_r7_senkoteki", 0),
    ("mlit_r7_senkoteki", 3),
    ("mlit_gaiyo", 0),
    ("mlit_r5_sankou5", 1),
]
TOKENS = [
    b"obj", b"endobj", b"stream\n", b"endstream", b"<<", b">>", b"[", b"]", b"(", b")", b"R", b" 0 R",
    b"/Length 999999999", b"/Length -1", b"/Filter /FlateDecode", b"/Filter /DCTDecode", b"/Type /Page",
    b"/Kids [", b"/Count 99999999", b"-2147483649", b"99999999999999999999", b"1e308", b"xref", b"trailer",
    b"startxref", b"%%EOF", b"BT", b"ET", b"Tj", b"TJ", b"Tf", b"cm", b"q", b"Q" * 64, b"Do", b"re f",
    b"/Font", b"/XObject", b"/Width 65535 /Height 65535", b"/BitsPerComponent 16", b"\x00", b"\xff" * 8,
]
# Per-input budget in CPU seconds of the worker (not wall-clock: under nice -n 19 on
# a busy machine the worker can wait many seconds for a core without hanging).
INPUT_CPU_SECONDS = 20.0
INPUT_WALL_SECONDS = 600.0
WORKER_MEMORY_MB = 2048


# ------------------------------------------------------------------ seeds and mutations


def build_seeds(pages: list[tuple[str, int]] | None = None) -> dict[str, bytes]:
    import pymupdf

    seeds: dict[str, bytes] = {}
    for sample, page in pages or SEED_PAGES:
        src = pymupdf.open(ROOT / "samples" / f"{sample}.pdf")
        if page >= src.page_count:
            continue
        one = pymupdf.open()
        one.insert_pdf(src, from_page=page, to_page=page)
        one.subset_fonts()
        seeds[f"{sample}:p{page + 1}:z"] = one.tobytes(garbage=3, deflate=True)
        seeds[f"{sample}:p{page + 1}:raw"] = one.tobytes(garbage=3, expand=255)
    return seeds


def apply(seed: bytes, ops: list[list], seeds: dict[str, bytes]) -> bytes:
    """Apply a mutation recipe (JSON-friendly lists) to ``seed``."""
    data = bytearray(seed)
    for op in ops:
        kind = op[0]
        n = len(data)
        at = op[1] % (n + 1) if n else 0
        if kind == "flip":
            if n:
                data[at % n] ^= 1 << (op[2] % 8)
        elif kind == "set":
            data[at:at + len(bytes.fromhex(op[2]))] = bytes.fromhex(op[2])
        elif kind == "delete":
            del data[at:at + op[2]]
        elif kind == "insert":
            data[at:at] = bytes.fromhex(op[2])
        elif kind == "token":
            data[at:at] = TOKENS[op[2] % len(TOKENS)]
        elif kind == "dup":
            data[at:at] = data[op[2] % (n + 1):op[2] % (n + 1) + op[3]]
        elif kind == "splice":
            other = seeds[sorted(seeds)[op[2] % len(seeds)]]
            start = op[3] % (len(other) + 1)
            data[at:] = other[start:]
        elif kind == "truncate":
            del data[at:]
    return bytes(data)


def recipes():
    from hypothesis import strategies as st

    offset = st.integers(min_value=0, max_value=1 << 20)
    small = st.binary(min_size=1, max_size=16).map(bytes.hex)
    op = st.one_of(
        st.tuples(st.just("flip"), offset, st.integers(0, 7)),
        st.tuples(st.just("set"), offset, small),
        st.tuples(st.just("delete"), offset, st.integers(1, 4096)),
        st.tuples(st.just("insert"), offset, small),
        st.tuples(st.just("token"), offset, st.integers(0, len(TOKENS) - 1)),
        st.tuples(st.just("dup"), offset, offset, st.integers(1, 8192)),
        st.tuples(st.just("splice"), offset, st.integers(0, 63), offset),
        st.tuples(st.just("truncate"), offset),
    ).map(list)
    return st.tuples(st.integers(0, 1 << 16), st.lists(op, min_size=1, max_size=8))


# ------------------------------------------------------------------ the worker


# What one input goes through. "extract" is everything a published document
# goes through (open, parse, OCR of image-only pages, every extractor, the text
# stage); "parse" stops at the parser boundary (open_document, document_info,
# every page's characters, drawings and rendering) and runs ~50x faster, which
# is where hostile bytes meet native code.
TARGETS = ("extract", "parse")


def _parse_only(path: Path) -> None:
    from pipeline.reading.pdf import document_info, iter_pages, open_document

    doc = open_document(path, str(path))
    try:
        document_info(doc, str(path))
        for _ in iter_pages(doc, "fuzz", "0" * 64, source=str(path)):
            pass
    finally:
        doc.close()


def _worker(conn, folder: str, target: str = "extract") -> None:
    import tempfile as _tempfile

    # Mutated text must not fill the user's NLP cache; the text stage still runs.
    os.environ["NICHIIKI_NLP_CACHE"] = _tempfile.mkdtemp(prefix="nichiiki-fuzz-nlp-")
    from pipeline.model.errors import DocumentError
    from pipeline.document.extract import extract_pdf
    from pipeline.reading.sandbox import prepare_worker_process, is_native_oom, limit_address_space

    prepare_worker_process()  # exactly as a sandboxed document's worker
    limit_address_space(WORKER_MEMORY_MB)

    path = Path(folder) / "input.pdf"
    while True:
        data = conn.recv_bytes()
        path.write_bytes(data)
        try:
            if target == "parse":
                _parse_only(path)
            else:
                extract_pdf(path, "fuzz", source=str(path), cache_dir=None)  # fuzzed scans must not fill the OCR cache
            outcome = ("ok", "")
        except DocumentError as exc:
            outcome = ("expected", exc.error_class)
        except MemoryError:
            outcome = ("expected", "MemoryError")  # the sandbox turns this into MemoryLimitExceeded
        except Exception as exc:  # noqa: BLE001 — this is what the fuzzer looks for
            if is_native_oom(exc):  # the sandbox reports these as MemoryLimitExceeded too
                conn.send(("expected", "MemoryError"))
                continue
            tb = traceback.extract_tb(exc.__traceback__)
            where = next((f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(tb) if str(ROOT) in f.filename), "")
            outcome = ("unexpected", f"{type(exc).__name__}: {str(exc)[:200]} [{where}]")
        conn.send(outcome)


class Runner:
    """A persistent worker process; restarted after a crash or hang."""

    def __init__(self, folder: str, target: str = "extract") -> None:
        self.folder = folder
        self.target = target
        self.ctx = mp.get_context("forkserver")
        self.proc = None
        self.restarts = 0
        self._start()

    def _start(self) -> None:
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, self.folder, self.target), daemon=True)
        self.proc.start()
        child.close()

    def run(self, data: bytes) -> tuple[str, str]:
        import psutil

        worker = psutil.Process(self.proc.pid)
        cpu = lambda: sum(worker.cpu_times()[:2])  # noqa: E731
        start_cpu, start_wall = cpu(), time.monotonic()
        self.conn.send_bytes(data)
        answered = False
        while self.proc.is_alive():
            if self.conn.poll(1.0):
                answered = True
                break
            try:
                used = cpu() - start_cpu
            except psutil.NoSuchProcess:
                break
            if used > INPUT_CPU_SECONDS or time.monotonic() - start_wall > INPUT_WALL_SECONDS:
                break
        if answered or self.conn.poll(0):
            try:
                return self.conn.recv()
            except EOFError:
                pass
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
            self._restart()
            return ("hang", f"no answer within {INPUT_CPU_SECONDS:g} CPU s")
        self.proc.join()
        code = self.proc.exitcode
        self._restart()
        return ("crash", f"worker exit code {code}")

    def _restart(self) -> None:
        self.restarts += 1
        self._start()

    def close(self) -> None:
        self.proc.kill()
        self.proc.join()


# ------------------------------------------------------------------ driver


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=4 * 3600, help="stop after this long anyway")
    parser.add_argument("--batch", type=int, default=1000, help="examples per Hypothesis run")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "fuzz.json")
    parser.add_argument("--target", choices=TARGETS, default="extract", help="how far each input goes (see TARGETS)")
    args = parser.parse_args(argv)

    from hypothesis import HealthCheck, Phase, given, settings

    import pymupdf

    seeds = build_seeds()
    names = sorted(seeds)
    counts: Counter[str] = Counter()
    per_seed: Counter[str] = Counter()
    findings: dict[str, dict] = {}
    started = time.time()
    done = 0
    folder = tempfile.mkdtemp(prefix="nichiiki-fuzz-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None)
    runner = Runner(folder, args.target)

    def report(final: bool) -> None:
        elapsed = time.time() - started
        args.out.parent.mkdir(parents=True, exist_ok=True)
        result = {
            "finished": final,
            "inputs": done,
            "seconds": round(elapsed, 1),
            "inputs_per_second": round(done / elapsed, 1) if elapsed else None,
            "outcomes": dict(counts.most_common()),
            "inputs_per_seed": dict(sorted(per_seed.items())),
            "worker_restarts": runner.restarts,
            "findings": sorted(findings.values(), key=lambda f: -f["count"]),
            "target": args.target,
            "entry_point": {
                "extract": "pipeline.document.extract.extract_pdf (open_document, parse pages, OCR, all extractors, text stage)",
                "parse": "pipeline.reading.pdf (open_document, document_info, iter_pages: characters, drawings, renderings)",
            }[args.target],
            "per_input_budget_cpu_seconds": INPUT_CPU_SECONDS,
            "worker_memory_mb": WORKER_MEMORY_MB,
            "seeds": {name: {"bytes": len(seeds[name]), "sha256": hashlib.sha256(seeds[name]).hexdigest()} for name in names},
            "python": platform.python_version(),
            "pymupdf": pymupdf.VersionBind,
        }
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(args.out)

    @settings(
        max_examples=args.batch,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(recipes())
    def one(recipe) -> None:
        nonlocal done
        seed_index, ops = recipe
        name = names[seed_index % len(names)]
        data = apply(seeds[name], ops, seeds)
        kind, detail = runner.run(data)
        done += 1
        per_seed[name] += 1
        counts[kind if kind != "expected" else f"expected:{detail}"] += 1
        if kind in ("unexpected", "hang", "crash"):
            key = f"{kind}: {detail}"
            entry = findings.setdefault(key, {"kind": kind, "detail": detail, "count": 0, "examples": []})
            entry["count"] += 1
            if len(entry["examples"]) < 3:  # a few recipes per finding, to replay
                entry["examples"].append({"seed": name, "ops": ops, "bytes": len(data)})

    try:
        while done < args.inputs and time.time() - started < args.seconds:
            one()
            report(final=False)
    finally:
        runner.close()
        report(final=True)
    print(json.dumps({"inputs": done, "outcomes": dict(counts), "findings": len(findings)}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
