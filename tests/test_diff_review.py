"""A reviewer's diff of a one-cell edit to a real sample PDF: the change first, with both crops, in a small page.

The sample's matrix pages are extracted with ``nichiiki extract --out``, one ● is
turned into a ○ in the PDF in place, and the edited file is extracted into a
second folder: the old PDF then exists only in the content-addressed store.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pymupdf
import pytest

from conftest import SAMPLES
from frictionless_check import errors, frictionless_validate
from pipeline.review.outputs import diff_outputs
from pipeline.review.diff_cli import main as diff_main
from pipeline.runs.local import extract_to_folder
from pipeline.ingest.pdfstore import stored_path
from test_report_html import browser, load  # noqa: F401 (the Chromium fixture)

WINDOW_WIDTH = 1400


def _matrix_pages(dst: Path) -> None:
    """The pages of the sample that hold the consortium × theme matrix (found by their marks)."""
    doc = pymupdf.open(SAMPLES / "mlit_r7_senkoteki.pdf")
    pages = [p.number for p in doc if len(p.search_for("●")) + len(p.search_for("○")) > 20]
    doc.select(pages)
    doc.save(dst)
    doc.close()


def _turn_first_filled_mark_hollow(path: Path) -> None:
    """Replace the first ● glyph of the first page by a ○ at the same baseline and size, in place."""
    doc = pymupdf.open(path)
    page = doc[0]
    span = next(s for b in page.get_text("dict")["blocks"] for line in b.get("lines", []) for s in line["spans"] if "●" in s["text"])
    page.add_redact_annot(page.search_for("●")[0], fill=False)
    page.apply_redactions(images=pymupdf.PDF_REDACT_IMAGE_NONE, graphics=pymupdf.PDF_REDACT_LINE_ART_NONE)
    page.insert_text(span["origin"], "○", fontname="japan", fontsize=span["size"])
    data = doc.tobytes()
    doc.close()
    path.write_bytes(data)


@pytest.fixture(scope="module")
def one_cell_change(tmp_path_factory) -> tuple[Path, Path, Path]:
    work = tmp_path_factory.mktemp("one_cell")
    pdf, cache = work / "matrix.pdf", work / "cache"
    _matrix_pages(pdf)
    extract_to_folder([pdf], work / "old", cache_dir=cache)
    _turn_first_filled_mark_hollow(pdf)
    extract_to_folder([pdf], work / "new", cache_dir=cache)
    return work / "old", work / "new", cache


def test_extract_folder_names_its_inputs_by_sha256_and_is_a_data_package(one_cell_change) -> None:
    old, new, cache = one_cell_change
    manifests = [json.loads((folder / "manifest.json").read_text(encoding="utf-8")) for folder in (old, new)]
    (old_input,), (new_input,) = (m["inputs"] for m in manifests)
    assert old_input["sha256"] != new_input["sha256"]
    for item in (old_input, new_input):
        stored = Path(item["stored"])
        assert stored == stored_path(cache, item["sha256"]) and hashlib.sha256(stored.read_bytes()).hexdigest() == item["sha256"]
    report = frictionless_validate(old)
    assert report["valid"], errors(report)[:10]


def test_one_cell_change_is_listed_once_and_provenance_is_counted(one_cell_change, capsys) -> None:
    old, new, _ = one_cell_change
    diff = diff_outputs(old, new)
    marks = diff.datasets["theme_marks"]
    assert [(c.key["row"], [(x.column, x.old, x.new) for x in c.value_cells]) for c in marks.value_changed] == [(1, [("mark", "●", "○")])]
    assert len(marks.provenance_changed) == marks.new_rows - 1  # every other row: a new source_sha256 only
    assert list(diff.source_changes) == ["matrix"]
    assert diff_main(["diff", str(old), str(new), "--limit", "0"]) == 1
    out = capsys.readouterr().out
    # Once per dataset that holds the cell: the matrix's theme_marks and the generic marks.
    assert out.count("mark: ● → ○") == 2 and "source_sha256:" not in out
    assert len(out.splitlines()) < 60, out


def test_report_of_a_one_cell_change_is_small_and_shows_it_first_with_both_crops(browser, one_cell_change, tmp_path: Path) -> None:  # noqa: F811
    old, new, cache = one_cell_change
    report = tmp_path / "review.html"
    # Run from elsewhere: the crops come from the manifests and the store, not from samples/.
    assert diff_main(["diff", str(old), str(new), "--html", str(report), "--samples", str(tmp_path / "none")]) == 1
    assert report.stat().st_size < 1_000_000

    browser.set_window_size(WINDOW_WIDTH, 1000)
    load(browser, report)
    first = browser.find_element("css selector", ".row-card")
    assert first.get_attribute("data-kind") == "changed"
    assert first.find_element("xpath", "ancestor::section").get_attribute("id") == "ds-theme_marks"
    cell = first.find_element("css selector", "tr.changed-cell[data-column=mark]")
    assert (cell.find_element("css selector", "td.old").text, cell.find_element("css selector", "td.new").text) == ("●", "○")
    crops = first.find_elements("css selector", "img.crop")
    assert len(crops) == 2
    sizes = browser.execute_script("return arguments[0].map(i => [i.naturalWidth, i.naturalHeight])", crops)
    assert all(w > 0 and h > 0 for w, h in sizes), sizes
    captions = [c.text for c in first.find_elements("css selector", "figcaption")]
    old_sha = diff_outputs(old, new).source_changes["matrix"][0]
    assert captions[0].startswith("old source") and stored_path(cache, old_sha).name in captions[0]  # only the store has it
    assert captions[1].startswith("new source")
    assert all(img.get_attribute("loading") == "lazy" for img in browser.find_elements("css selector", "img.crop"))
    # Provenance-only rows are counted, not listed: only value changes have cards.
    kinds = browser.execute_script("return [...document.querySelectorAll('.row-card')].map(c => c.closest('section').id)")
    assert kinds and all(k in ("ds-theme_marks", "ds-marks", "ds-tables") for k in kinds), kinds
    assert browser.find_element("css selector", "tr[data-dataset=consortia] .count-provenance").get_attribute("data-count") == "44"
    # It fits the window: nothing scrolls sideways.
    overflow = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert overflow[0] <= overflow[1], overflow


def test_many_changed_rows_come_in_pages(browser, tmp_path: Path) -> None:  # noqa: F811
    import pandas as pd

    from pipeline.review.report_html import CARDS_PER_PAGE, write_html
    from test_report_html import rows

    n = 2 * CARDS_PER_PAGE + 5
    names = [f"協議会{i}" for i in range(n)]
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir(), new.mkdir()
    rows(names, "a" * 64).to_parquet(old / "consortia.parquet", index=False)
    rows([f"{name}（改）" for name in names], "a" * 64).to_parquet(new / "consortia.parquet", index=False)
    report = write_html(diff_outputs(old, new), tmp_path / "paged.html", lambda doc_id, sha: None)

    def visible_rows() -> list[int]:
        return browser.execute_script(
            "return [...document.querySelectorAll('#ds-consortia .row-card')].filter(c => c.offsetParent !== null)"
            ".map(c => Number(c.querySelectorAll('.card-head b')[1].textContent))"
        )

    browser.set_window_size(WINDOW_WIDTH, 1000)
    load(browser, report)
    assert visible_rows() == list(range(1, CARDS_PER_PAGE + 1))
    browser.find_element("css selector", "#ds-consortia nav.pager a[href$='-p3']").click()
    assert visible_rows() == list(range(2 * CARDS_PER_PAGE + 1, n + 1))
    assert len(pd.read_parquet(new / "consortia.parquet")) == n
