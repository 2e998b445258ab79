"""The HTML diff report, loaded in headless Chromium: counts, crops, escaping, side-by-side sources."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pandas as pd
import pymupdf
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from pipeline.review.outputs import diff_outputs
from pipeline.review.diff_cli import main as diff_main
from pipeline.review.report_html import default_pdf_resolver, write_html

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NAMES = ["釧路活性化プロジェクト", "浦河町コンソーシアム", "厚真町二地域居住推進", "石巻市ふるさと協議会"]


def make_pdf(path: Path, names: list[str]) -> str:
    """A one-page table of consortium names (Japanese text, ruled rows); returns the sha256."""
    doc = pymupdf.open()
    page = doc.new_page(width=842, height=595)
    for i, name in enumerate(names):
        top = 100 + 30 * i
        page.draw_rect(pymupdf.Rect(40, top, 800, top + 30), color=(0, 0, 0), width=0.6)
        page.insert_text((50, top + 20), f"{i + 1}次", fontname="japan", fontsize=11)
        page.insert_text((120, top + 20), name, fontname="japan", fontsize=11)
        page.draw_oval(pymupdf.Rect(600, top + 8, 614, top + 22), color=(0, 0, 0), fill=(0, 0, 0))
    doc.save(path)
    doc.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows(names: list[str], sha: str) -> pd.DataFrame:
    return pd.DataFrame([
        {
            "doc_id": "tbl", "source_sha256": sha, "page": 1, "bbox": [40.0, 100.0 + 30 * i, 800.0, 130.0 + 30 * i],
            "extractor": "matrix", "extractor_version": "1.0", "run_id": "r", "consortium_id": f"tbl|{i + 1}",
            "row": i + 1, "round": 1, "region_raw": "町", "consortium_name_raw": n, "tour": False, "ocr": False,
        }
        for i, n in enumerate(names)
    ])


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    profile = tempfile.mkdtemp(prefix="nichiiki-chrome-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1300,1000",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture()
def two_outputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """old: 4 rows from v1 of the PDF; new: v2 of the PDF, one name fixed, one row gone, one added."""
    samples = tmp_path / "samples"
    samples.mkdir()
    old_sha = make_pdf(samples / "tbl_v1.pdf", NAMES)
    new_names = [NAMES[0], "浦河町コンソーシアム（改）", NAMES[2], "<script>document.title='pwned'</script>"]
    new_sha = make_pdf(samples / "tbl.pdf", new_names)
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    new.mkdir()
    rows(NAMES[:3], old_sha).to_parquet(old / "consortia.parquet", index=False)
    new_frame = rows(new_names, new_sha)
    new_frame = new_frame[new_frame["row"] != 3]  # row 3 removed
    new_frame.loc[new_frame["row"] == 1, "source_sha256"] = old_sha  # row 1 unchanged, same source
    new_frame.to_parquet(new / "consortia.parquet", index=False)
    docs = pd.DataFrame([{"doc_id": "tbl", "sha256": old_sha, "fetched_at": "t1", "run_id": "r"}])
    docs.to_parquet(old / "documents.parquet", index=False)
    docs.assign(sha256=new_sha, fetched_at="t2").to_parquet(new / "documents.parquet", index=False)
    return old, new, samples


def load(browser: webdriver.Chrome, path: Path) -> None:
    browser.get(path.as_uri())
    # Lazy images load only when shown: wait for the ones on screen (hidden pages of cards never load).
    browser.execute_script(
        "return Promise.all([...document.images]"
        ".filter(i => i.loading !== 'lazy' || (i.offsetParent !== null && i.getBoundingClientRect().top < window.innerHeight))"
        ".map(i => i.complete ? 0 : new Promise(r => { i.onload = i.onerror = r; })))"
    )


def test_report_in_chromium_shows_counts_crops_and_escaped_text(browser: webdriver.Chrome, two_outputs, tmp_path: Path) -> None:
    old, new, samples = two_outputs
    diff = diff_outputs(old, new)
    report = write_html(diff, tmp_path / "report.html", default_pdf_resolver(diff, samples_dir=samples, cache_dir=tmp_path / "none"))
    load(browser, report)

    counts = browser.execute_script(
        "const out = {}; for (const tr of document.querySelectorAll('tr.dataset-summary')) {"
        " out[tr.dataset.dataset] = Object.fromEntries(['old','new','added','removed','changed'].map("
        " k => [k, tr.querySelector('.count-' + k).dataset.count])); } return out;"
    )
    assert counts["consortia"] == {"old": "3", "new": "3", "added": "1", "removed": "1", "changed": "1"}
    # The PDF's sha256 changed: said once, as a source change, and counted as a provenance-only row.
    assert counts["documents"]["changed"] == "0"
    assert browser.find_element("css selector", "tr[data-dataset=documents] .count-provenance").get_attribute("data-count") == "1"
    assert browser.find_element("css selector", "#sources li[data-doc-id=tbl]")
    assert browser.find_element("id", "verdict").text == "2 of 2 datasets changed, 1 in their values"

    cards = browser.execute_script("return [...document.querySelectorAll('#ds-consortia .row-card')].map(c => c.dataset.kind)")
    assert sorted(cards) == ["added", "changed", "removed"]
    images = browser.execute_script("return [...document.images].map(i => [i.naturalWidth, i.naturalHeight])")
    # changed row (sha differs: old and new side by side) + removed + added = 4 crops.
    assert len(images) == 4
    assert all(w > 0 and h > 0 for w, h in images), images
    changed = browser.find_element("css selector", "#ds-consortia .row-card.changed")
    assert len(changed.find_elements("css selector", "img.crop")) == 2
    assert "old source" in changed.text and "new source" in changed.text
    assert changed.find_element("css selector", "tr[data-column=consortium_name_raw] td.new ins").text == "（改）"
    # Beside each crop, the PDF's own text in the row's box: the new source says （改）, the old one does not.
    box_texts = [e.text for e in changed.find_elements("css selector", ".boxtext")]
    assert len(box_texts) == 2 and "（改）" not in box_texts[0] and "浦河町コンソーシアム（改）" in box_texts[1]

    # Data is text, never markup: the extracted <script> is shown, not run.
    assert browser.title != "pwned"
    assert browser.execute_script("return document.querySelectorAll('script').length") == 0
    assert "<script>document.title='pwned'</script>" in browser.find_element("css selector", "#ds-consortia .row-card.added").text


def test_report_without_the_pdf_says_so_and_no_changes_page(browser: webdriver.Chrome, two_outputs, tmp_path: Path) -> None:
    old, new, _ = two_outputs
    diff = diff_outputs(old, new)
    report = write_html(diff, tmp_path / "nopdf.html", lambda doc_id, sha: None)
    load(browser, report)
    assert browser.execute_script("return document.images.length") == 0
    assert "source PDF not found for tbl" in browser.find_element("css selector", "#ds-consortia .nocrop").text

    same = write_html(diff_outputs(old, old), tmp_path / "same.html", lambda doc_id, sha: None)
    load(browser, same)
    assert browser.find_element("id", "verdict").text == "No changes in 2 datasets"


def test_cli_writes_the_html_report(two_outputs, tmp_path: Path) -> None:
    old, new, samples = two_outputs
    report = tmp_path / "cli.html"
    assert diff_main(["diff", str(old), str(new), "--html", str(report), "--samples", str(samples)]) == 1
    text = report.read_text(encoding="utf-8")
    assert text.count('<img class="crop"') == 4 and "&lt;script&gt;" in text


def test_resolver_prefers_manifest_path_and_checks_the_hash(tmp_path: Path, two_outputs) -> None:
    old, new, samples = two_outputs
    v1 = samples / "tbl_v1.pdf"
    sha_v1 = hashlib.sha256(v1.read_bytes()).hexdigest()
    elsewhere = tmp_path / "fetched" / "x.pdf"
    elsewhere.parent.mkdir()
    shutil.copy(v1, elsewhere)
    (old / "manifest.json").write_text(json.dumps({"run_id": "r", "inputs": [{"doc_id": "tbl", "path": str(elsewhere), "sha256": sha_v1}]}))
    resolve = default_pdf_resolver(diff_outputs(old, new), samples_dir=samples, cache_dir=tmp_path / "none")
    assert resolve("tbl", sha_v1) == elsewhere
    # A file at the manifest's path whose bytes changed is not the source any more: fall back to samples/.
    elsewhere.write_bytes(b"%PDF-1.4 different")
    resolve = default_pdf_resolver(diff_outputs(old, new), samples_dir=samples, cache_dir=tmp_path / "none")
    assert resolve("tbl", sha_v1) == v1
    assert resolve("tbl", "0" * 64) is None


def test_value_changes_come_before_provenance_only_changes(two_outputs, tmp_path: Path) -> None:
    old, new, samples = two_outputs
    frame = pd.read_parquet(new / "consortia.parquet")
    frame["extractor_version"] = "1.1"  # touches every row
    frame.to_parquet(new / "consortia.parquet", index=False)
    diff = diff_outputs(old, new)
    text = write_html(diff, tmp_path / "order.html", lambda doc_id, sha: None).read_text(encoding="utf-8")
    section = text[text.index('id="ds-consortia"'):]
    heads = re.findall(r'data-kind="changed"><div class="card-head">.*?row</span>=<b>(\d+)</b>', section)
    assert heads == ["2"]  # row 2's name changed; row 1 only got the new extractor version: counted, not listed
    assert re.search(r'class="meta provenance-only" data-count="1">1 more row\(s\) changed only where they came from \(<code>extractor_version</code> in 1', section)
    assert section.index('data-kind="changed"') < section.index('data-kind="removed"') < section.index('data-kind="added"')
