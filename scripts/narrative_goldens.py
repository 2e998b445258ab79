"""Write golden JSON for the narrative datasets of bundled samples, for a person to review.

    .venv/bin/python scripts/narrative_goldens.py

Writes samples/goldens/<doc_id>/<dataset>.json (pretty, sorted keys, one object
per row, no run_id). Review the diff against the PDF before committing it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.document.extract import extract_pdf  # noqa: E402

GOLDENS = {
    "mic_tsuchi_71": ("sections", "footnotes", "notices", "notice_items"),
    "join_kanousei": ("sections", "footnotes"),
}


def golden_rows(frame) -> list[dict]:
    rows = json.loads(frame.drop(columns=["run_id"], errors="ignore").to_json(orient="records", force_ascii=False))
    return rows


def main() -> int:
    for doc_id, datasets in GOLDENS.items():
        result = extract_pdf(REPO / "samples" / f"{doc_id}.pdf", doc_id)
        folder = REPO / "samples" / "goldens" / doc_id
        folder.mkdir(parents=True, exist_ok=True)
        for name in datasets:
            frame = result.frames.get(name)
            rows = golden_rows(frame) if frame is not None else []
            (folder / f"{name}.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
            print(f"{doc_id}/{name}.json: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
