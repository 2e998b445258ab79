"""Golden regression: a fresh extraction of samples/ equals the reviewed goldens (through the diff code)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import pipeline.review.goldens as goldens_module
from pipeline.review.diff import diff_frames
from pipeline.review.goldens import HOW_TO_ACCEPT, check_goldens, describe, extract_samples, load_goldens, main, write_goldens


@pytest.fixture(scope="module")
def fresh() -> dict[str, pd.DataFrame]:
    """samples/ extracted once for this module (the slow part: every sample, OCR included)."""
    return extract_samples()


def test_fresh_extraction_of_samples_equals_reviewed_goldens(fresh) -> None:
    diff = check_goldens(fresh=fresh)
    if diff.has_changes:
        pytest.fail(f"Extraction of samples/ differs from samples/goldens/:\n{describe(diff)}\n{HOW_TO_ACCEPT}", pytrace=False)
    # The check must have compared something: every bundled sample has at least its documents row.
    assert diff.datasets["documents"].new_rows == len(list(Path("samples").glob("*.pdf")))


def frames() -> dict[str, pd.DataFrame]:
    return {
        "consortia": pd.DataFrame([
            {"doc_id": "b", "row": 2, "page": 4, "bbox": [1.0, 2.0, 3.0, 4.0], "consortium_name_raw": "二", "run_id": "r"},
            {"doc_id": "a", "row": 1, "page": 4, "bbox": [1.0, 2.0, 3.0, 4.0], "consortium_name_raw": "一", "run_id": "r"},
            {"doc_id": "b", "row": 1, "page": 4, "bbox": None, "consortium_name_raw": "壱", "run_id": "r"},
        ]),
        "documents": pd.DataFrame([{"doc_id": "a", "sha256": "0" * 64, "fetched_at": "now", "run_id": "r"},
                                   {"doc_id": "b", "sha256": "1" * 64, "fetched_at": "now", "run_id": "r"}]),
    }


def test_write_is_per_document_sorted_without_volatile_columns_and_round_trips(tmp_path: Path) -> None:
    written = write_goldens(frames(), tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "a/consortia.json", "a/documents.json", "b/consortia.json", "b/documents.json",
    ]
    rows = json.loads((tmp_path / "b" / "consortia.json").read_text(encoding="utf-8"))
    assert [r["row"] for r in rows] == [1, 2]
    assert "run_id" not in rows[0] and list(rows[0]) == sorted(rows[0])
    assert "fetched_at" not in json.loads((tmp_path / "a" / "documents.json").read_text())[0]
    assert "壱" in (tmp_path / "b" / "consortia.json").read_text(encoding="utf-8")  # readable Japanese in git diffs
    assert not diff_frames(load_goldens(tmp_path), frames()).has_changes
    assert write_goldens(frames(), tmp_path) == []  # unchanged data: files untouched


def test_an_edited_golden_is_reported_cell_by_cell(tmp_path: Path) -> None:
    write_goldens(frames(), tmp_path)
    path = tmp_path / "a" / "consortia.json"
    path.write_text(path.read_text(encoding="utf-8").replace("一", "ー"), encoding="utf-8")
    diff = diff_frames(load_goldens(tmp_path), frames())
    change = diff.datasets["consortia"].changed[0]
    assert change.key == {"doc_id": "a", "row": 1}
    assert [(c.column, c.old, c.new) for c in change.cells] == [("consortium_name_raw", "ー", "一")]
    assert "consortium_name_raw: ー → 一" in describe(diff)


def test_write_removes_stale_schema_goldens_and_keeps_other_branches_files(tmp_path: Path) -> None:
    write_goldens(frames(), tmp_path)
    foreign = tmp_path / "a" / "some_unmerged_dataset.json"
    foreign.write_text("[]\n")
    only_a = {name: f[f["doc_id"] == "a"] for name, f in frames().items()}
    removed = write_goldens(only_a, tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in removed) == ["b/consortia.json", "b/documents.json"]
    assert foreign.exists()


def test_nichiiki_diff_reads_a_goldens_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from pipeline.review.diff_cli import main as diff_main

    write_goldens(frames(), tmp_path / "goldens")
    out = tmp_path / "out"
    out.mkdir()
    changed = frames()["consortia"].assign(run_id="r2")
    changed.loc[changed["row"] == 2, "consortium_name_raw"] = "弐"
    changed.to_parquet(out / "consortia.parquet", index=False)
    frames()["documents"].to_parquet(out / "documents.parquet", index=False)
    assert diff_main(["diff", str(tmp_path / "goldens"), str(out)]) == 1
    assert "consortium_name_raw: 二 → 弐" in capsys.readouterr().out


def test_bad_golden_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "consortia.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"a/consortia.json: not valid JSON"):
        load_goldens(tmp_path)


def test_check_command_exit_code_on_change(fresh, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    # Goldens of the real samples with one value altered: --check must fail and say how to accept.
    goldens = tmp_path / "goldens"
    src = Path("samples/goldens")
    for path in src.glob("*/*.json"):
        target = goldens / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    statements = goldens / "mlit_r7_senkoteki" / "report_statements.json"
    rows = json.loads(statements.read_text(encoding="utf-8"))
    rows[0]["value"] += 1
    statements.write_text(json.dumps(rows, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    monkeypatch.setattr(goldens_module, "extract_samples", lambda samples: fresh)  # the real extraction, made once
    assert main(["--check", "--goldens", str(tmp_path / "absent")]) == 1  # no goldens at all: everything is new
    assert main(["--check", "--goldens", str(src)]) == 0
    capsys.readouterr()
    assert main(["--check", "--goldens", str(goldens)]) == 1
    out = capsys.readouterr().out
    assert "report_statements" in out and "make goldens" in out


def _misreading_cases() -> list:
    from pipeline.review.goldens import known_misreadings

    return [
        pytest.param(entry, id=f"{entry['key']['doc_id']}:{entry['dataset']}.{entry['column']}@{entry['key'].get('row', '')}",
                     marks=pytest.mark.xfail(strict=True, reason=f"reads {entry['read']!r}: {entry['reason']}"))
        for entry in known_misreadings()
    ]


@pytest.mark.parametrize("entry", _misreading_cases())
def test_known_misreading_reads_what_the_page_says(fresh, entry) -> None:
    """Each cell the product still misreads: expected to fail until it reads the page's text."""
    from pipeline.review.goldens import cell_value

    assert cell_value(fresh, entry) == entry["truth"]
