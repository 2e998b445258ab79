"""One self-contained HTML page a reviewer reads to decide whether a diff is right.

For each dataset: counts; for each added, removed or changed row: its values
with the changes highlighted (character level for text, item level for lists)
and a crop of the source PDF page around the row's bbox, rendered with
PyMuPDF and embedded as a base64 PNG, so the reviewer checks the data against
the source without opening the PDF. Old and new crops sit side by side when
the source, page or region changed.

Element ids and classes the browser test (and any script) can rely on:
``#verdict``, ``tr.dataset-summary[data-dataset=NAME]`` with
``td.count-added|count-removed|count-changed|count-old|count-new``
(``data-count`` attribute), ``section.dataset#ds-NAME``, ``div.row-card``
(``data-kind`` added|removed|changed), ``img.crop``.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import html
import io
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pymupdf
from PIL import Image

import pipeline.reading.pdf  # noqa: F401  (MuPDF set up as for extraction: crops read the same glyph boxes)
from pipeline.publish.writer import read_manifest
from pipeline.review.diff import DatasetDiff, OutputDiff, RowChange, values_equal
from pipeline.model.schema import PROVENANCE_COLUMNS

PdfResolver = Callable[[str, str], "Path | None"]

CROP_DPI = 110
CROP_MARGIN = 18.0  # points around the row's bbox
CROP_MIN_HEIGHT = 90.0
MAX_CARDS_PER_KIND = 200  # per dataset and kind; the counts above stay exact
CARDS_PER_PAGE = 20  # cards of a dataset shown at once; the others are a link away (CSS :target, no script)
CROP_COLOURS = 32
# A crop never exceeds this many pixels: a poster-sized page (or a damaged MediaBox) is
# rendered at a lower resolution instead of asking MuPDF for gigabytes.
MAX_CROP_PIXELS = 4_000_000
MAX_CROPS = 40  # whole report: a crop is ~55 kB, so the file stays near 2 MB at most


# ---------------------------------------------------------------- finding the PDFs


def default_pdf_resolver(
    diff: OutputDiff,
    samples_dir: Path = Path("samples"),
    cache_dir: Path = Path(".cache/pdfs"),
) -> PdfResolver:
    """Find a source PDF by (doc_id, sha256): manifest inputs, then the PDF cache, then samples/.

    A candidate is used only if its bytes still hash to ``sha256`` (a crop
    from a different version of the document would mislead the reviewer).
    """
    manifest_paths: dict[str, list[Path]] = {}
    for folder in (diff.new_dir, diff.old_dir):
        if folder is None:
            continue
        for item in read_manifest(folder, missing_ok=True).get("inputs", []) or []:
            # "stored": the PDF store's copy (extract --out); "path" / "source": where it was read.
            for place in ("stored", "path", "source"):
                if item.get("sha256") and isinstance(item.get(place), str) and "://" not in item[place]:
                    manifest_paths.setdefault(item["sha256"], []).append(Path(item[place]))
    hashes: dict[Path, str | None] = {}
    samples = sorted(Path(samples_dir).rglob("*.pdf")) if Path(samples_dir).is_dir() else []

    def digest(path: Path) -> str | None:
        if path not in hashes:
            try:
                hashes[path] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
            except OSError:
                hashes[path] = None
        return hashes[path]

    def resolve(doc_id: str, sha256: str) -> Path | None:
        candidates = list(manifest_paths.get(sha256, []))
        candidates.append(Path(cache_dir) / f"{sha256}.pdf")
        # The file named after the doc id first: usually the right one, so one hash suffices.
        candidates.extend(sorted(samples, key=lambda p: p.stem != doc_id))
        for path in candidates:
            if digest(path) == sha256:
                return path
        return None

    return resolve


# ---------------------------------------------------------------- crops


class _Cropper:
    """Renders crops, keeping each PDF open once; counts what it could not render."""

    def __init__(self, resolver: PdfResolver) -> None:
        self.resolver = resolver
        self.docs: dict[Path, pymupdf.Document] = {}
        self.rendered = 0
        self.missing: set[tuple[str, str]] = set()
        self.failed: list[str] = []  # crops MuPDF could not render: the report says so, and diff exits 2
        # Rows of one table line share a crop (every mark of a matrix row): render it once.
        self.cache: dict[tuple, str] = {}

    def crop(self, row: dict[str, Any]) -> tuple[str | None, str]:
        """(data URI or None, caption) for the row's page region."""
        doc_id, sha, page_no, bbox = row.get("doc_id"), row.get("source_sha256"), row.get("page"), row.get("bbox")
        if not doc_id or not sha or not page_no:
            return None, "no page region for this row"
        path = self.resolver(doc_id, sha)
        if path is None:
            self.missing.add((doc_id, sha))
            return None, f"source PDF not found for {doc_id} (sha256 {sha[:12]}…)"
        try:
            doc = self.docs.get(path) or pymupdf.open(path)
            self.docs[path] = doc
            page = doc[int(page_no) - 1]
        except Exception as exc:  # noqa: BLE001 — a missing crop must not stop the report
            self.failed.append(f"{path.name} p.{page_no}: {type(exc).__name__}: {exc}")
            return None, f"cannot render {path.name} p.{page_no}: {exc}"
        if self.rendered >= MAX_CROPS:
            return None, f"crop omitted (report limit of {MAX_CROPS} crops)"
        page_rect = page.rect
        if bbox and len(bbox) == 4:
            clip = _context_rect(pymupdf.Rect(*bbox), page_rect)
        else:
            clip = page_rect
        cache_key = (path, int(page_no), tuple(round(v, 1) for v in clip))
        uri = self.cache.get(cache_key)
        if uri is None:
            try:
                pix = page.get_pixmap(dpi=crop_dpi(clip), clip=clip, alpha=False)
            except Exception as exc:  # noqa: BLE001 — MuPDF's FzError* types: one missing crop, reported
                self.failed.append(f"{path.name} p.{page_no}: {type(exc).__name__}: {exc}")
                return None, f"cannot render {path.name} p.{page_no}: {type(exc).__name__}"
            self.rendered += 1
            uri = "data:image/png;base64," + base64.b64encode(_small_png(pix)).decode("ascii")
            self.cache[cache_key] = uri
        overlay = None
        if bbox and len(bbox) == 4:
            # The row's own box, as percentages of the crop, drawn over the image in CSS.
            overlay = (
                (bbox[0] - clip.x0) / clip.width * 100,
                (bbox[1] - clip.y0) / clip.height * 100,
                (bbox[2] - bbox[0]) / clip.width * 100,
                (bbox[3] - bbox[1]) / clip.height * 100,
            )
        caption = f"{path.name} p.{page_no}" + (f" bbox {[round(v, 1) for v in bbox]}" if bbox else " (whole page)")
        figure = _figure_html(uri, overlay)
        if bbox and len(bbox) == 4:
            # The text layer inside the box, to compare with the value character by character
            # (scans have none: the crop is then the only evidence).
            text = " ".join(page.get_text("text", clip=pymupdf.Rect(*bbox)).split())
            if text:
                figure += f'<div class="boxtext"><span class="k">text in box:</span> {html.escape(text)}</div>'
        return figure, caption

    def close(self) -> None:
        for doc in self.docs.values():
            doc.close()


def crop_dpi(clip: pymupdf.Rect) -> int:
    """CROP_DPI, lowered so that the crop stays within MAX_CROP_PIXELS (at least 1 dpi)."""
    pixels = (clip.width / 72 * CROP_DPI) * (clip.height / 72 * CROP_DPI)
    if pixels <= MAX_CROP_PIXELS:
        return CROP_DPI
    return max(1, int(CROP_DPI * math.sqrt(MAX_CROP_PIXELS / pixels)))


class RenderFailed(RuntimeError):
    """The report was written, but some crops could not be rendered."""

    def __init__(self, path: Path, failures: list[str]) -> None:
        self.path = path
        self.failures = failures
        super().__init__(f"{path}: {len(failures)} crop(s) could not be rendered (first: {failures[0]})")


def _small_png(pix: pymupdf.Pixmap) -> bytes:
    """The crop as a 32-colour palette PNG: a third of the bytes, and print on white stays legible."""
    image = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
    out = io.BytesIO()
    image.quantize(CROP_COLOURS, method=Image.Quantize.FASTOCTREE).save(out, "PNG", compress_level=6)
    return out.getvalue()


def _context_rect(box: pymupdf.Rect, page: pymupdf.Rect) -> pymupdf.Rect:
    """The row's box with its surroundings: the full page width (so a cell is seen with its
    row's label), and at least CROP_MIN_HEIGHT tall (so the lines around it are seen too)."""
    rect = pymupdf.Rect(page.x0, box.y0 - CROP_MARGIN, page.x1, box.y1 + CROP_MARGIN)
    if rect.height < CROP_MIN_HEIGHT:
        grow = (CROP_MIN_HEIGHT - rect.height) / 2
        rect.y0, rect.y1 = rect.y0 - grow, rect.y1 + grow
    clipped = rect & page
    return clipped if not clipped.is_empty else page


def _figure_html(uri: str, overlay: tuple[float, float, float, float] | None) -> str:
    box = ""
    if overlay:
        x, y, w, h = overlay
        box = f'<div class="bbox" style="left:{x:.2f}%;top:{y:.2f}%;width:{w:.2f}%;height:{h:.2f}%"></div>'
    return f'<div class="cropwrap"><img class="crop" alt="source crop" loading="lazy" decoding="async" src="{uri}">{box}</div>'


# ---------------------------------------------------------------- values


def _plain(value: Any) -> str:
    if value is None:
        return '<span class="null">∅ null</span>'
    if isinstance(value, list):
        return "[" + ", ".join(_plain(v) if not isinstance(v, str) else f'<span class="item">{html.escape(v)}</span>' for v in value) + "]"
    if isinstance(value, float):
        return html.escape(f"{value:g}")
    return html.escape(str(value) if not isinstance(value, bool) else str(value).lower())


def _text_diff(old: str, new: str) -> tuple[str, str]:
    """Old and new with the differing characters marked (OCR slips are often one character)."""
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    a_parts, b_parts = [], []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        a_seg, b_seg = html.escape(old[i1:i2]), html.escape(new[j1:j2])
        if op == "equal":
            a_parts.append(a_seg)
            b_parts.append(b_seg)
        else:
            if a_seg:
                a_parts.append(f"<del>{a_seg}</del>")
            if b_seg:
                b_parts.append(f"<ins>{b_seg}</ins>")
    return "".join(a_parts), "".join(b_parts)


def _list_diff(old: list, new: list) -> tuple[str, str]:
    def render(items: list, other: list, tag: str) -> str:
        out = []
        for item in items:
            text = html.escape(str(item)) if item is not None else "∅"
            out.append(f"<{tag}>{text}</{tag}>" if item not in other else f'<span class="item">{text}</span>')
        return "[" + ", ".join(out) + "]"

    return render(old, new, "del"), render(new, old, "ins")


def _cell_pair(old: Any, new: Any) -> tuple[str, str]:
    if isinstance(old, str) and isinstance(new, str):
        return _text_diff(old, new)
    if isinstance(old, list) and isinstance(new, list) and all(not isinstance(v, list) for v in old + new):
        return _list_diff(old, new)
    return f"<del>{_plain(old)}</del>", f"<ins>{_plain(new)}</ins>"


# ---------------------------------------------------------------- page


def _key_html(ds: DatasetDiff, row: dict[str, Any]) -> str:
    return " ".join(f'<span class="k">{html.escape(k)}</span>=<b>{_plain(row.get(k))}</b>' for k in ds.key)


def _crops_html(cropper: _Cropper, old: dict[str, Any] | None, new: dict[str, Any] | None) -> str:
    sides = []
    if old is not None and new is not None:
        same_region = (
            old.get("source_sha256") == new.get("source_sha256")
            and old.get("page") == new.get("page")
            and values_equal(old.get("bbox"), new.get("bbox"), "bbox")
        )
        sides = [("source", new)] if same_region else [("old source", old), ("new source", new)]
    elif old is not None:
        sides = [("source (old)", old)]
    elif new is not None:
        sides = [("source (new)", new)]
    sides = [(label, row) for label, row in sides if row.get("page")]
    if not sides:
        return ""  # a document-level row (documents, failures): nothing on a page to show
    figures = []
    for label, row in sides:
        figure, caption = cropper.crop(row)
        body = figure or f'<div class="nocrop">{html.escape(caption)}</div>'
        figures.append(f'<figure><figcaption>{html.escape(label)}: {html.escape(caption)}</figcaption>{body}</figure>')
    return f'<div class="crops">{"".join(figures)}</div>'


def _column_rank(ds: DatasetDiff, column: str) -> int:
    """Key columns, then what the row says, then where it came from."""
    return 0 if column in ds.key else 2 if column in PROVENANCE_COLUMNS else 1


def _changed_card(ds: DatasetDiff, change: RowChange, cropper: _Cropper) -> str:
    rows = []
    changed = set(change.changed_columns)
    for cell in change.cells:
        a, b = _cell_pair(cell.old, cell.new)
        rows.append(f'<tr class="changed-cell" data-column="{html.escape(cell.column)}"><th>{html.escape(cell.column)}</th><td class="old">{a}</td><td class="new">{b}</td></tr>')
    same = sorted((c for c in change.new if c not in changed and c in change.old), key=lambda c: _column_rank(ds, c))
    context = "".join(f"<tr><th>{html.escape(c)}</th><td colspan=2>{_plain(change.new[c])}</td></tr>" for c in same)
    return (
        f'<div class="row-card changed" data-kind="changed"><div class="card-head"><span class="tag tchanged">changed</span> {_key_html(ds, change.new)}'
        f' <span class="cols">({html.escape(", ".join(change.changed_columns))})</span></div>'
        f'<table class="cells"><tr><th></th><th>old</th><th>new</th></tr>{"".join(rows)}</table>'
        f'<details><summary>unchanged columns ({len(same)})</summary><table class="cells">{context}</table></details>'
        f"{_crops_html(cropper, change.old, change.new)}</div>"
    )


def _one_side_card(ds: DatasetDiff, row: dict[str, Any], kind: str, cropper: _Cropper) -> str:
    ordered = sorted(row, key=lambda c: _column_rank(ds, c))
    data = [c for c in ordered if c not in PROVENANCE_COLUMNS or c in ds.key]
    where = [c for c in ordered if c not in data]
    cells = "".join(f"<tr><th>{html.escape(c)}</th><td>{_plain(row[c])}</td></tr>" for c in data)
    provenance = "".join(f"<tr><th>{html.escape(c)}</th><td>{_plain(row[c])}</td></tr>" for c in where)
    details = f'<details><summary>provenance ({len(where)})</summary><table class="cells">{provenance}</table></details>' if where else ""
    crops = _crops_html(cropper, row if kind == "removed" else None, row if kind == "added" else None)
    return (
        f'<div class="row-card {kind}" data-kind="{kind}"><div class="card-head"><span class="tag t{kind}">{kind}</span> {_key_html(ds, row)}</div>'
        f'<table class="cells">{cells}</table>{details}{crops}</div>'
    )


def _count_cell(name: str, kind: str, n: int | None) -> str:
    shown = "—" if n is None else str(n)
    return f'<td class="count-{kind}" id="count-{html.escape(name)}-{kind}" data-count="{"" if n is None else n}">{shown}</td>'


def _summary_html(diff: OutputDiff) -> str:
    rows = []
    for ds in diff.datasets.values():
        notes = ds.summary_notes()
        name = html.escape(ds.name)
        link = f'<a href="#ds-{name}">{name}</a>' if ds.has_value_changes else name
        rows.append(
            f'<tr class="dataset-summary{" has-changes" if ds.has_changes else ""}" data-dataset="{name}"><td>{link}</td>'
            + _count_cell(ds.name, "old", ds.old_rows)
            + _count_cell(ds.name, "new", ds.new_rows)
            + _count_cell(ds.name, "added", len(ds.added))
            + _count_cell(ds.name, "removed", len(ds.removed))
            + _count_cell(ds.name, "changed", len(ds.value_changed))
            + _count_cell(ds.name, "provenance", len(ds.provenance_changed))
            + f'<td class="note">{html.escape("; ".join(notes))}</td></tr>'
        )
    head = ("<tr><th>dataset</th><th>old rows</th><th>new rows</th><th>added</th><th>removed</th><th>changed</th>"
            '<th title="rows whose only changes are where they came from (source hash, page, box, extractor)">provenance only</th><th>note</th></tr>')
    return f'<table id="summary">{head}{"".join(rows)}</table>'


def _dataset_html(ds: DatasetDiff, cropper: _Cropper) -> str:
    key = ", ".join(ds.key) + ("" if ds.key_from_schema else " (fallback: no schema key)")
    name = html.escape(ds.name)
    parts = [f'<section class="dataset" id="ds-{name}"><h2>{name}</h2>']
    parts.append(f'<p class="meta">Rows matched on <code>{html.escape(key)}</code>. '
                 f"{len(ds.value_changed)} changed, {len(ds.removed)} removed, {len(ds.added)} added.</p>")
    if ds.value_changed:
        counts = ", ".join(f"<code>{html.escape(c)}</code> in {n}" for c, n in ds.value_column_counts.items())
        parts.append(f'<p class="meta colcounts">Changed columns: {counts} row(s).</p>')
    if ds.provenance_changed:
        # A new PDF version or extractor touches every row: counted here, never listed.
        counts = ", ".join(f"<code>{html.escape(c)}</code> in {n}" for c, n in ds.provenance_column_counts.items())
        parts.append(f'<p class="meta provenance-only" data-count="{len(ds.provenance_changed)}">'
                     f"{len(ds.provenance_changed)} more row(s) changed only where they came from ({counts}): not listed.</p>")
    for note in ds.notes + ([f"only in the {ds.only_in} output"] if ds.only_in else []):
        parts.append(f'<p class="warn">{html.escape(note)}</p>')
    cards: list[str] = []
    # What the data says first: changed values, then rows that went or came.
    for kind, items in (("changed", ds.value_changed), ("removed", ds.removed), ("added", ds.added)):
        for item in items[:MAX_CARDS_PER_KIND]:
            if kind == "changed":
                cards.append(_changed_card(ds, item, cropper))  # type: ignore[arg-type]
            else:
                cards.append(_one_side_card(ds, item, kind, cropper))  # type: ignore[arg-type]
        if len(items) > MAX_CARDS_PER_KIND:
            parts.append(f'<p class="warn">{len(items) - MAX_CARDS_PER_KIND} more {kind} rows not shown (use the terminal output with --limit 0).</p>')
    parts.append(_pages(ds.name, cards))
    parts.append("</section>")
    return "".join(parts)


def _pages(name: str, cards: list[str]) -> str:
    """Cards in pages of CARDS_PER_PAGE: the first shown, the others by their link (CSS :target)."""
    if len(cards) <= CARDS_PER_PAGE:
        return "".join(cards)
    pages = [cards[i:i + CARDS_PER_PAGE] for i in range(0, len(cards), CARDS_PER_PAGE)]
    anchor = f"ds-{html.escape(name)}-p"
    links = " ".join(f'<a href="#{anchor}{n}">{n}</a>' for n in range(1, len(pages) + 1))
    nav = f'<nav class="pager">pages of {CARDS_PER_PAGE}: {links}</nav>'
    body = "".join(f'<div class="page{" first" if n == 1 else ""}" id="{anchor}{n}">{"".join(page)}</div>' for n, page in enumerate(pages, start=1))
    return f'{nav}<div class="pages">{body}</div>'


def _sources_html(diff: OutputDiff) -> str:
    """Each document whose source bytes changed, once."""
    changes = diff.source_changes
    if not changes:
        return ""
    items = "".join(
        f'<li data-doc-id="{html.escape(doc_id)}"><b>{html.escape(doc_id)}</b>: <code>{html.escape(str(old)[:12])}…</code> → '
        f"<code>{html.escape(str(new)[:12])}…</code></li>"
        for doc_id, (old, new) in changes.items()
    )
    return f'<section id="sources"><h2>Source PDFs changed ({len(changes)})</h2><ul>{items}</ul></section>'


CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,"Noto Sans CJK JP","Hiragino Sans",sans-serif;margin:1.5em;color:#222;max-width:1400px;overflow-wrap:anywhere}
table{max-width:100%} .labels code{word-break:break-all}
.pages>.page{display:none} .pages>.page.first{display:block}
.pages:has(>.page:target)>.page:not(:target){display:none} .pages>.page:target{display:block}
.pager a{margin:0 .2em} .provenance-only{color:#666}
h1{margin:0 0 .2em} .labels{color:#555;font-size:.9em} code{background:#f3f3f3;padding:0 .3em}
#verdict{font-size:1.2em;font-weight:bold;padding:.5em .8em;border-radius:4px;margin:.8em 0;display:inline-block}
#verdict.changed{background:#fff3cd} #verdict.same{background:#d4edda}
table{border-collapse:collapse} td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
#summary td[data-count]{text-align:right;font-variant-numeric:tabular-nums}
#summary tr.has-changes td:first-child{font-weight:bold} #summary tr:not(.has-changes){color:#888}
.count-added:not([data-count="0"]){color:#1a7f37;font-weight:bold}.count-removed:not([data-count="0"]){color:#cf222e;font-weight:bold}
.count-changed:not([data-count="0"]){color:#9a6700;font-weight:bold}
.row-card{border:1px solid #ccc;border-left:6px solid #999;border-radius:4px;margin:1em 0;padding:.6em .8em;background:#fff}
.row-card.changed{border-left-color:#d4a72c}.row-card.added{border-left-color:#2da44e}.row-card.removed{border-left-color:#cf222e}
.card-head{margin-bottom:.4em}.tag{font-size:.75em;text-transform:uppercase;padding:.1em .5em;border-radius:3px;color:#fff}
.tchanged{background:#9a6700}.tadded{background:#1a7f37}.tremoved{background:#cf222e}
.cols{color:#666;font-size:.9em} .k{color:#666}
table.cells th{background:#f6f8fa;font-weight:normal;color:#444;white-space:nowrap}
td.old{background:#fff5f5} td.new{background:#f3fff5}
del{background:#ffc1c0;text-decoration:line-through} ins{background:#abf2bc;text-decoration:none}
.null{color:#999;font-style:italic} .item{background:#eef}
.crops{display:flex;gap:1em;flex-wrap:wrap;margin-top:.6em} figure{margin:0;max-width:100%}
figcaption{font-size:.8em;color:#555;margin-bottom:.2em}
.cropwrap{position:relative;display:inline-block;border:1px solid #bbb;max-width:100%}
.cropwrap img{display:block;max-width:100%;height:auto}
.bbox{position:absolute;outline:2px solid rgba(220,0,0,.85);background:rgba(255,230,0,.12);pointer-events:none}
.boxtext{font-size:.85em;margin-top:.25em;max-width:80em}
.nocrop{color:#888;font-style:italic;padding:.5em;border:1px dashed #ccc}
.warn{background:#fff8e1;padding:.3em .6em;border-left:3px solid #d4a72c}
details{margin-top:.3em;font-size:.9em}
.help{color:#555;font-size:.9em;max-width:60em}
"""


def render_html(diff: OutputDiff, pdf_resolver: PdfResolver, failed: list[str] | None = None) -> str:
    """The report; crops that could not be rendered are appended to ``failed``."""
    cropper = _Cropper(pdf_resolver)
    try:
        sections = "".join(_dataset_html(ds, cropper) for ds in diff.value_changed_datasets)
    finally:
        cropper.close()
    if failed is not None:
        failed.extend(cropper.failed)
    n_changed = len(diff.changed_datasets)
    n_values = len(diff.value_changed_datasets)
    verdict = (
        f'<div id="verdict" class="changed" data-changed-datasets="{n_changed}" data-value-changed-datasets="{n_values}">'
        f"{n_changed} of {len(diff.datasets)} datasets changed, {n_values} in their values</div>"
        if diff.has_changes
        else f'<div id="verdict" class="same" data-changed-datasets="0">No changes in {len(diff.datasets)} datasets</div>'
    )
    missing = ""
    if cropper.missing:
        docs = ", ".join(sorted(f"{d} ({s[:12]}…)" for d, s in cropper.missing))
        missing = f'<p class="warn">Source PDFs not found, so no crops for: {html.escape(docs)}. Searched manifest inputs, .cache/pdfs/ and samples/.</p>'
    generated = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return f"""<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>nichiiki diff: {html.escape(diff.new_label)}</title>
<style>{CSS}</style></head><body>
<h1>nichiiki extraction diff</h1>
<div class="labels">old: <code>{html.escape(diff.old_label)}</code><br>new: <code>{html.escape(diff.new_label)}</code><br>generated {generated}</div>
{verdict}
<p class="help">Each changed row shows old and new values (<del>removed text</del> / <ins>added text</ins>) and a crop of the
source PDF page with the row's region outlined in red: check the new value against the crop. Run ids and fetch
times are not compared; boxes moving less than 0.5 pt are not changes.</p>
{missing}
{_sources_html(diff)}
{_summary_html(diff)}
{sections}
</body></html>
"""


def write_html(diff: OutputDiff, path: Path, pdf_resolver: PdfResolver) -> Path:
    """Write the report to ``path`` (one file: inline CSS, images as data URIs).

    Raises ``RenderFailed`` after writing when a crop could not be rendered.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    failed: list[str] = []
    tmp.write_text(render_html(diff, pdf_resolver, failed), encoding="utf-8")
    tmp.replace(path)
    if failed:
        raise RenderFailed(path, failed)
    return path


