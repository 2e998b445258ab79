"""Rewrite module paths of the flat layout (pipeline/*.py, extractors/*.py, pipeline/nlp) to the layered one.

For code written against the old layout (another branch's new module or
test): ``python scripts/relayout_imports.py FILE...`` rewrites dotted names
(imports, monkeypatch targets, ``-m`` arguments) and slash paths in place.
Running it twice changes nothing. docs/architecture.md describes the layers.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

MOVES = """
pipeline/records.py pipeline/model/records.py
pipeline/schema.py pipeline/model/schema.py
pipeline/errors.py pipeline/model/errors.py
pipeline/limits.py pipeline/model/limits.py
pipeline/columns.py pipeline/model/columns.py
pipeline/pdf.py pipeline/reading/pdf.py
pipeline/ocr.py pipeline/reading/ocr.py
pipeline/textlayer.py pipeline/reading/textlayer.py
pipeline/overprint.py pipeline/reading/overprint.py
pipeline/sandbox.py pipeline/reading/sandbox.py
pipeline/sanitize.py pipeline/reading/sanitize.py
pipeline/nlp/__init__.py pipeline/text/__init__.py
pipeline/nlp/chunks.py pipeline/text/chunks.py
pipeline/nlp/gazetteer.py pipeline/text/gazetteer.py
pipeline/nlp/language.py pipeline/text/language.py
pipeline/nlp/lookalike.py pipeline/text/lookalike.py
pipeline/nlp/normalize.py pipeline/text/normalize.py
pipeline/nlp/places.py pipeline/text/places.py
pipeline/nlp/stage.py pipeline/text/stage.py
pipeline/nlp/vocabulary.py pipeline/text/vocabulary.py
pipeline/gazetteer.py pipeline/text/prefectures.py
pipeline/registry.py pipeline/ingest/registry.py
pipeline/fetch.py pipeline/ingest/fetch.py
pipeline/safepath.py pipeline/ingest/safepath.py
pipeline/settings.py pipeline/ingest/settings.py
pipeline/crawl.py pipeline/ingest/crawl.py
pipeline/discover.py pipeline/ingest/discover.py
pipeline/discovered.py pipeline/ingest/discovered.py
pipeline/discover_cli.py pipeline/ingest/discover_cli.py
pipeline/pdfstore.py pipeline/ingest/pdfstore.py
pipeline/preflight.py pipeline/ingest/preflight.py
extractors/grid.py extractors/grids/grid.py
extractors/scan_grid.py extractors/grids/scan_grid.py
extractors/marks.py extractors/grids/marks.py
extractors/mark_pixels.py extractors/grids/mark_pixels.py
extractors/mark_shapes.py extractors/grids/mark_shapes.py
extractors/cell_ocr.py extractors/grids/cell_ocr.py
extractors/layout.py extractors/text/layout.py
extractors/columns.py extractors/text/columns.py
extractors/pagetext.py extractors/text/pagetext.py
extractors/numbering.py extractors/text/numbering.py
extractors/footnotes.py extractors/text/footnotes.py
extractors/values.py extractors/text/values.py
extractors/tour_checks.py extractors/tour_statements.py
pipeline/checks.py pipeline/checks/consortia.py
extractors/linking.py pipeline/document/linking.py
pipeline/renditions.py pipeline/document/renditions.py
pipeline/extract.py pipeline/document/extract.py
pipeline/sandbox_preload.py pipeline/document/preload.py
pipeline/publish.py pipeline/publish/writer.py
pipeline/datapackage.py pipeline/publish/datapackage.py
pipeline/releases.py pipeline/publish/releases.py
pipeline/dictionary.py pipeline/publish/dictionary.py
pipeline/run.py pipeline/runs/steps.py
pipeline/guarded.py pipeline/runs/guarded.py
pipeline/local.py pipeline/runs/local.py
pipeline/cache.py pipeline/runs/cache.py
pipeline/diff.py pipeline/review/diff.py
pipeline/diff_cli.py pipeline/review/diff_cli.py
pipeline/goldens.py pipeline/review/goldens.py
pipeline/report_html.py pipeline/review/report_html.py
pipeline/cli.py flows/cli.py
"""
# Names that moved again after the files did (split out of a moved module).
RENAMED = {
    "pipeline.review.diff.diff_outputs": "pipeline.review.outputs.diff_outputs",
    "pipeline.review.diff.load_output": "pipeline.review.outputs.load_output",
    "pipeline.review.diff.previous_release": "pipeline.review.outputs.previous_release",
    "pipeline.review.diff.OutputNotFound": "pipeline.review.outputs.OutputNotFound",
}


def _module(path: str) -> str:
    name = path[:-3].replace("/", ".")
    return name.removesuffix(".__init__")


PAIRS = [line.split() for line in MOVES.strip().splitlines()]
DOTTED = {_module(old): _module(new) for old, new in PAIRS} | {"pipeline.nlp": "pipeline.text"}
SLASHED = dict(PAIRS) | {"pipeline/nlp/": "pipeline/text/", "pipeline/nlp": "pipeline/text"}
NEW = {_module(new) for _, new in PAIRS}
_DOTTED = re.compile(r"(?<![\w./])(" + "|".join(map(re.escape, sorted(DOTTED, key=len, reverse=True))) + r")(?![\w])(\.\w+)?")
_SLASHED = re.compile(r"(?<![\w./])(" + "|".join(map(re.escape, sorted(SLASHED, key=len, reverse=True))) + r")(?![\w])")


def _dotted(m: re.Match) -> str:
    name, rest = m.group(1), m.group(2) or ""
    if name + rest in NEW or name in NEW:  # already the new layout (pipeline.checks.consortia, pipeline.publish.writer)
        return m.group(0)
    return DOTTED[name] + rest


def rewrite(text: str) -> str:
    text = _SLASHED.sub(lambda m: SLASHED[m.group(1)], text)
    text = _DOTTED.sub(_dotted, text)
    for old, new in RENAMED.items():
        text = text.replace(old, new)
    return text


def main(paths: list[str]) -> int:
    for path in map(Path, paths):
        text = path.read_text(encoding="utf-8")
        new = rewrite(text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"rewrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
