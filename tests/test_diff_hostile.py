"""nichiiki diff on hostile outputs: control characters, poster-sized pages, pages MuPDF cannot render."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pymupdf
import pytest

from pipeline.review.diff_cli import EXIT_CHANGED, EXIT_ERROR, escape_controls
from pipeline.review.diff_cli import main as diff_main
from pipeline.review.report_html import MAX_CROP_PIXELS, _Cropper
from tests import hostile


def big_page_pdf(path: Path, side: float = 14400) -> str:
    doc = pymupdf.open()
    page = doc.new_page(width=side, height=side)
    page.insert_text((72, 100), "二地域居住", fontname="japan", fontsize=12)
    doc.save(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def outputs(tmp_path: Path, sha: str, old_name: str, new_name: str, bbox=None) -> tuple[Path, Path]:
    folders = []
    for label, name in (("old", old_name), ("new", new_name)):
        folder = tmp_path / label
        folder.mkdir()
        pd.DataFrame([{
            "doc_id": "big", "source_sha256": sha, "page": 1, "bbox": bbox, "extractor": "matrix", "extractor_version": "1",
            "run_id": label, "consortium_id": "big#1", "row": 1, "round": 1, "region_raw": "町", "consortium_name_raw": name,
            "tour": False, "ocr": False,
        }]).to_parquet(folder / "consortia.parquet", index=False)
        folders.append(folder)
    return folders[0], folders[1]


def test_terminal_diff_escapes_control_characters(tmp_path, capsys):
    old, new = outputs(tmp_path, "0" * 64, "普通の名前", "\x1b[2J\x1b]0;PWNED\x07名前\u202e逆")
    assert diff_main(["diff", str(old), str(new), "--limit", "0"]) == EXIT_CHANGED
    out = capsys.readouterr().out
    assert "\x1b]0;" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b]0;PWNED\\x07" in out.replace("\n", "")


def test_escape_controls_leaves_japanese_alone():
    assert escape_controls("東京都 千代田区\t\r") == "東京都 千代田区\t\\x0d"
    assert escape_controls("a\u200db") == "a\\u200db"


@pytest.mark.parametrize("bbox", [None, [0.0, 0.0, 14400.0, 14400.0]])
def test_crop_of_a_poster_sized_page_is_capped_in_pixels(tmp_path, bbox):
    pdf = tmp_path / "big.pdf"
    sha = big_page_pdf(pdf)
    cropper = _Cropper(lambda doc_id, sha256: pdf)
    figure, caption = cropper.crop({"doc_id": "big", "source_sha256": sha, "page": 1, "bbox": bbox})
    assert figure is not None and not cropper.failed, caption
    from pipeline.review.report_html import crop_dpi, _context_rect

    clip = pymupdf.Rect(0, 0, 14400, 14400) if bbox is None else _context_rect(pymupdf.Rect(*bbox), pymupdf.Rect(0, 0, 14400, 14400))
    dpi = crop_dpi(clip)
    assert (clip.width / 72 * dpi) * (clip.height / 72 * dpi) <= MAX_CROP_PIXELS


def test_html_report_of_a_poster_sized_page(tmp_path):
    samples = tmp_path / "samples"
    samples.mkdir()
    sha = big_page_pdf(samples / "big.pdf")
    old, new = outputs(tmp_path, sha, "名前", "名前（改）")
    report = tmp_path / "r.html"
    assert diff_main(["diff", str(old), str(new), "--html", str(report), "--samples", str(samples)]) == EXIT_CHANGED
    assert report.read_text().count('<img class="crop"') >= 1


def test_rendering_failure_exits_2_not_1(tmp_path, capsys):
    samples = tmp_path / "samples"
    samples.mkdir()
    broken = samples / "broken.pdf"
    broken.write_bytes(hostile.page_tree_cycle())
    sha = hashlib.sha256(broken.read_bytes()).hexdigest()
    old, new = outputs(tmp_path, sha, "名前", "名前（改）", bbox=[10.0, 10.0, 50.0, 30.0])
    report = tmp_path / "r.html"
    assert diff_main(["diff", str(old), str(new), "--html", str(report), "--samples", str(samples)]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not be rendered" in err and str(report) in err
    assert report.is_file()  # the report is still written, saying which crop is missing
