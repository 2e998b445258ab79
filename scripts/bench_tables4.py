"""Time the tables4 extractors (and linking) on every sample and real PDF; write the figures to a file.

    python scripts/bench_tables4.py [OUT.json]   # default: outputs/bench_tables4.json

Rows per dataset double as a robustness record: documents without the
structures must yield none.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import extractors.budget  # noqa: E402
import extractors.case_studies  # noqa: E402
import extractors.expert_opinions  # noqa: E402
import extractors.tour_statements  # noqa: E402
import extractors.tours  # noqa: E402
from extractors.base import REGISTRY  # noqa: E402
from pipeline.document.linking import link_document  # noqa: E402
from pipeline.document.extract import records_to_frames  # noqa: E402
from pipeline.reading.pdf import iter_pages, open_document  # noqa: E402

NAMES = ("budget", "case_studies", "expert_opinions", "tours", "tour_statements")


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "outputs" / "bench_tables4.json"
    files = sorted((REPO / "samples").glob("*.pdf")) + sorted((REPO / "samples" / "real").glob("*.pdf"))
    results = []
    for path in files:
        doc = open_document(path, str(path))
        started = time.perf_counter()
        pages = list(iter_pages(doc, path.stem, "0" * 64))
        entry = {"file": path.name, "pages": len(pages), "parse_s": round(time.perf_counter() - started, 3), "extract_s": {}, "rows": {}}
        records = []
        for name in NAMES:
            started = time.perf_counter()
            recs = REGISTRY[name](pages)
            entry["extract_s"][name] = round(time.perf_counter() - started, 3)
            records.extend(recs)
        entry["rows"] = dict(Counter(r.dataset for r in records))
        started = time.perf_counter()
        link_document(records_to_frames(records))
        entry["link_s"] = round(time.perf_counter() - started, 3)
        results.append(entry)
        print(json.dumps(entry, ensure_ascii=False), flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
