"""Write (or check) the reviewed goldens of the tables4 datasets.

    python scripts/goldens_tables4.py          # print a diff summary against the goldens
    python scripts/goldens_tables4.py --write  # rewrite them (then review the diff by eye)

Goldens are pretty JSON, one object per row, sorted keys, no run_id.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.document.extract import extract_pdf  # noqa: E402
from pipeline.model.schema import DATASETS  # noqa: E402

GOLDENS = {
    "mlit_r7_senkoteki": ("case_studies", "tours", "tour_age_counts"),
    "mlit_gaiyo": ("budget_items",),
    "mlit_r5_sankou5": ("expert_opinions",),
}


def rows_for_golden(name: str, frame) -> list[dict]:
    """Rows as the publisher would write them (schema-coerced), without run_id."""
    frame = DATASETS[name].model.validate(frame.assign(run_id="golden"))
    rows = []
    for record in frame.to_dict("records"):
        row = {}
        for key, value in record.items():
            if key == "run_id":
                continue
            if hasattr(value, "tolist"):
                value = value.tolist()
            if value is None or (isinstance(value, float) and math.isnan(value)) or str(value) in ("<NA>", "NaT"):
                value = None
            elif hasattr(value, "item"):
                value = value.item()
            row[key] = value
        rows.append(row)
    return rows


def dump(rows: list[dict]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    changed = 0
    for doc_id, datasets in GOLDENS.items():
        extraction = extract_pdf(REPO / "samples" / f"{doc_id}.pdf", doc_id)
        for name in datasets:
            path = REPO / "samples" / "goldens" / doc_id / f"{name}.json"
            text = dump(rows_for_golden(name, extraction.frames[name]))
            old = path.read_text(encoding="utf-8") if path.exists() else None
            if old != text:
                changed += 1
                print(f"{path.relative_to(REPO)}: {'differs' if old else 'missing'}")
                if args.write:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text, encoding="utf-8")
    return 0 if args.write or not changed else 1


if __name__ == "__main__":
    raise SystemExit(main())
