"""`nichiiki extract` on single documents, as reviewers and tests use it."""

from __future__ import annotations

import pandas as pd

from conftest import SAMPLES
from pipeline.cli import main


def test_extract_writes_one_parquet_per_dataset(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["extract", str(SAMPLES / "mlit_r7_senkoteki.pdf"), "--out", str(out)])
    assert code == 0
    assert len(pd.read_parquet(out / "consortia.parquet")) == 44
    assert len(pd.read_parquet(out / "theme_marks.parquet")) == 199
    assert "consortia" in capsys.readouterr().out


def test_extract_reports_a_bad_file_by_name_and_keeps_the_good(tmp_path, capsys):
    bad = tmp_path / "notes.pdf"
    bad.write_text("just text")
    out = tmp_path / "out"
    code = main(["extract", str(bad), str(SAMPLES / "mlit_r7_senkoteki.pdf"), "--out", str(out)])
    assert code == 1
    err = capsys.readouterr().err
    assert "notes.pdf" in err and "not a PDF" in err
    failures = pd.read_parquet(out / "failures.parquet")
    assert failures["doc_id"].tolist() == ["notes"]
    assert len(pd.read_parquet(out / "consortia.parquet")) == 44
