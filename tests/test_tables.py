"""Generic ruled tables (cells, symbols, headers, shapes drawn as marks) and the robustness script."""

from __future__ import annotations

import json
import subprocess
import sys

import pymupdf

from extractors.tables import extract_tables, symbol_of
from pipeline.document.extract import parse_pages
from tests.conftest import REPO
from tests.narrative_pdf import PageSpec, Text, grid_rules, make_pdf


def _cells(tmp_path, spec: PageSpec) -> list[dict]:
    path = make_pdf([spec], tmp_path / "table.pdf")
    _, pages = parse_pages(path, "made", "0" * 64, str(path), cache_dir=None)
    return [r.values | {"bbox": r.provenance.bbox, "page": r.provenance.page} for r in extract_tables(pages)]


def test_cells_symbols_and_header(tmp_path):
    spec = PageSpec(
        texts=[
            Text(70, 118, "地域名"), Text(190, 118, "交通"), Text(270, 118, "住まい"),
            Text(70, 143, "甲市"), Text(200, 143, "●"), Text(280, 143, "○"),
            Text(70, 168, "乙町"), Text(200, 168, "△"), Text(280, 168, "－"),
        ],
        rules=grid_rules(60, 100, [110, 80, 80], 25, 3),
    )
    cells = _cells(tmp_path, spec)
    table = {(c["row"], c["col"]): c for c in cells}
    assert len(table) == 9 and {c["table_id"] for c in cells} == {"made#p1t1"}
    assert [table[(0, c)]["text_raw"] for c in range(3)] == ["地域名", "交通", "住まい"]
    assert all(table[(0, c)]["is_header"] for c in range(3)) and not table[(1, 0)]["is_header"]
    assert [table[(r, c)]["symbol"] for r in (1, 2) for c in (1, 2)] == ["●", "○", "△", "－"]
    assert table[(1, 0)]["symbol"] is None and table[(1, 0)]["text_raw"] == "甲市"
    assert all(c["n_rows"] == 3 and c["n_cols"] == 3 and c["page"] == 1 for c in cells)
    x0, top, x1, bottom = table[(1, 1)]["bbox"]
    assert (round(x0), round(top), round(x1), round(bottom)) == (170, 125, 250, 150)


def test_spanning_header_cells(tmp_path):
    """A group header spanning two columns: its span is kept and the row below is header too."""
    rules = [(60, 100, 300, 100), (140, 125, 300, 125), (60, 150, 300, 150), (60, 175, 300, 175)]
    rules += [(60, 100, 60, 175), (140, 100, 140, 175), (220, 125, 220, 175), (300, 100, 300, 175)]
    spec = PageSpec(
        texts=[Text(70, 130, "地域"), Text(180, 118, "テーマ"), Text(150, 143, "交通"), Text(230, 143, "教育"),
               Text(70, 168, "甲市"), Text(170, 168, "●"), Text(250, 168, "")],
        rules=rules,
    )
    cells = {(c["row"], c["col"]): c for c in _cells(tmp_path, spec)}
    assert (cells[(0, 1)]["col_span"], cells[(0, 1)]["text_raw"]) == (2, "テーマ")
    assert (cells[(0, 0)]["row_span"], cells[(0, 0)]["text_raw"]) == (2, "地域")
    assert cells[(1, 1)]["is_header"] and cells[(1, 2)]["is_header"] and not cells[(2, 1)]["is_header"]
    assert cells[(2, 1)]["symbol"] == "●" and cells[(2, 2)]["text_raw"] == ""


def test_page_without_rules_has_no_tables(tmp_path):
    assert _cells(tmp_path, PageSpec(texts=[Text(70, 100, "罫線のない本文")])) == []


def test_symbol_of():
    assert [symbol_of(t) for t in ["●", " ○ ", "◎", "×", "甲", "●●", ""]] == ["●", "○", "◎", "×", None, None, None]


def test_robustness_script_reports_every_file(tmp_path):
    """One readable PDF and one broken file: both reported, the broken one with its reason."""
    folder = tmp_path / "real"
    folder.mkdir()
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 100), "1. はじめに", fontname="japan", fontsize=12)
    page.insert_text((72, 130), "本文です。", fontname="japan", fontsize=10.5)
    doc.save(folder / "good.pdf")
    (folder / "broken.pdf").write_bytes(b"this is not a PDF at all")
    out = tmp_path / "robustness.json"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "robustness.py"), str(folder), "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )
    assert proc.returncode == 1, proc.stderr
    report = json.loads(out.read_text())
    rows = {r["file"]: r for r in report["files"]}
    assert report["documents"] == 2 and report["ok"] == 1
    assert rows["good.pdf"]["error"] is None and rows["good.pdf"]["pages"] == 1 and rows["good.pdf"]["sections"] >= 1
    assert "not a PDF" in rows["broken.pdf"]["error"] and "broken.pdf" in rows["broken.pdf"]["error"]
    assert "good.pdf" in proc.stdout and "1/2 documents" in proc.stdout


def test_punctuation_hanging_past_the_outer_rule_stays_in_its_cell(tmp_path):
    """LibreOffice hangs a line-end 。 past the margin (ぶら下げ組み): in the last column its
    glyph crosses the table's outer rule, its centre outside every cell."""
    size = 10.0
    # The last column runs 250..330; six glyphs from 266 end at 326, the 。 spans 326..336.
    spec = PageSpec(
        texts=[Text(70, 118, "地域名", size), Text(190, 118, "交通", size), Text(270, 118, "取組", size),
               Text(70, 143, "甲市", size), Text(200, 143, "●", size), Text(266, 143, "住まいを整備。", size)],
        rules=grid_rules(60, 100, [110, 80, 80], 25, 2),
    )
    table = {(c["row"], c["col"]): c for c in _cells(tmp_path, spec)}
    assert table[(1, 2)]["text_raw"] == "住まいを整備。"


def test_page_readers_run_once_per_page_and_arguments_and_each_caller_gets_its_own_list():
    """Grids and lines are read by several extractors: computed once per page object, never shared mutably."""
    import gc

    from pipeline.model.records import ParsedPage, per_page

    calls: list[tuple[int, int]] = []

    @per_page
    def read(page: ParsedPage, n: int = 1) -> list[int]:
        calls.append((page.page_number, n))
        return list(range(n))

    page = ParsedPage("d", "s", 1, 100.0, 100.0)
    first = read(page)
    first.append(99)  # a caller's own list
    assert read(page) == [0] and calls == [(1, 1)]
    assert read(page, 2) == [0, 1] and read(page, 2) == [0, 1] and calls == [(1, 1), (1, 2)]
    twin = ParsedPage("d", "s", 1, 100.0, 100.0)  # equal, yet another page: identity is the key
    read(twin)
    assert len(calls) == 3
    del page, twin
    gc.collect()
    again = ParsedPage("d", "s", 2, 100.0, 100.0)  # may reuse a dead page's id: its answers went with it
    assert read(again) == [0] and calls[-1] == (2, 1)


def test_cells_from_intersections_are_pdfplumbers_cell_for_cell():
    """grid.intersections_to_cells is pdfplumber's algorithm without its quadratic scans: same cells, same order."""
    import random

    from pdfplumber import table as plumber_table

    from extractors.grids.grid import intersections_to_cells

    rng = random.Random(7)
    for case in range(400):
        xs = sorted(rng.sample(range(0, 600, 10), rng.randint(2, 9)))
        ys = sorted(rng.sample(range(0, 800, 10), rng.randint(2, 9)))
        edges = []
        # Rules broken into pieces, some missing (spanning cells, open rows), some overshooting.
        for y in ys:
            for a, b in zip(xs, xs[1:]):
                if rng.random() < 0.8:
                    edges.append({"x0": a - rng.choice((0, 0, 2)), "x1": b, "top": y, "bottom": y, "width": b - a, "height": 0, "orientation": "h"})
        for x in xs:
            for a, b in zip(ys, ys[1:]):
                if rng.random() < 0.8:
                    edges.append({"x0": x, "x1": x, "top": a, "bottom": b + rng.choice((0, 0, 2)), "width": 0, "height": b - a, "orientation": "v"})
        if case % 5 == 0:  # a second, unrelated table beside the first
            edges += [dict(e, x0=e["x0"] + 700, x1=e["x1"] + 700) for e in edges[: len(edges) // 2]]
        merged = plumber_table.merge_edges(edges, 3, 3, 3, 3)
        intersections = plumber_table.edges_to_intersections(merged, 1, 1)
        assert intersections_to_cells(intersections) == plumber_table.intersections_to_cells(intersections), case
