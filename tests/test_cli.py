"""The `nichiiki` command: extraction of single documents, user errors, releases, start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO, SAMPLES, unanswered_api_url
from flows.cli import main

HEAVY = ("prefect", "pandas", "fitz", "pymupdf", "spacy", "ginza", "numpy", "pyarrow", "dask")


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


def test_extract_writes_nothing_when_no_document_could_be_read(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["extract", str(tmp_path / "missing.pdf"), "--out", str(out)]) == 1
    assert not out.exists() or not list(out.iterdir())
    assert "nothing written" in capsys.readouterr().err


# ---------------------------------------------------------------- start-up and user errors


def _cli(tmp_path: Path, *args: str, cwd: Path | None = None, api_url: str | None = None) -> dict:
    """Run the CLI in a fresh interpreter; its exit code, output and which heavy modules it imported."""
    probe = (
        "import json, sys\n"
        "from flows.cli import main\n"
        f"code = main({list(args)!r})\n"
        # A None entry blocks an import (pipeline does so for pymupdf's unused add-ons): nothing loaded.
        f"heavy = sorted({{m.split('.')[0] for m, module in sys.modules.items() if module is not None}} & set({list(HEAVY)!r}))\n"
        "print('@@' + json.dumps({'code': code, 'heavy': heavy}))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    env.pop("PREFECT_API_URL", None)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd or tmp_path, env=env, capture_output=True, text=True, timeout=120)
    marker = [line for line in done.stdout.splitlines() if line.startswith("@@")]
    assert marker, done.stdout + done.stderr
    return json.loads(marker[-1][2:]) | {"out": done.stdout, "err": done.stderr}


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["run", "--help"], ["run", "--workers", "many"], ["nonsense"]])
def test_help_version_and_argument_errors_import_nothing_heavy(tmp_path, args):
    result = _cli(tmp_path, *args)
    assert result["heavy"] == [], f"{args} imported {result['heavy']}"
    assert "Traceback" not in result["err"]


def test_extract_imports_in_its_own_process_only_what_assembling_validating_and_writing_need(tmp_path):
    # The documents are read in the sandbox's children; the command receives their results, so
    # neither the readers (PyMuPDF, OpenCV, the language models) nor pandera's unused back-ends
    # (Dask's dataframe, hypothesis) are imported here.
    pdf = SAMPLES / "real" / "pdfminer_kampo.pdf"
    probe = (
        "import json, sys\n"
        "from flows.cli import main\n"
        f"code = main(['extract', {str(pdf)!r}, '--out', {str(tmp_path / 'out')!r}])\n"
        "loaded = {m for m, module in sys.modules.items() if module is not None}\n"
        "unwanted = ('pymupdf', 'fitz', 'cv2', 'spacy', 'sudachipy', 'pdfplumber', 'dask.dataframe', 'hypothesis',\n"
        "            'extractors.matrix', 'pipeline.document.extract', 'pipeline.text.stage')\n"
        "import gc\n"
        "print('@@' + json.dumps({'code': code, 'unwanted': sorted(loaded & set(unwanted)), 'frozen': gc.get_freeze_count()}))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO), NICHIIKI_NLP_CACHE=str(tmp_path / "nlp"), NICHIIKI_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    marker = [line for line in done.stdout.splitlines() if line.startswith("@@")]
    assert marker, done.stdout + done.stderr
    result = json.loads(marker[-1][2:])
    assert result["code"] == 0 and (tmp_path / "out" / "documents.parquet").exists(), done.stderr
    assert result["unwanted"] == []
    # What it imported is frozen, so neither its collections nor its exit walk those objects again.
    assert result["frozen"] > 10_000


def test_version(tmp_path):
    from pipeline import __version__

    result = _cli(tmp_path, "--version")
    assert result["code"] == 0 and f"nichiiki {__version__}" in result["out"]


def _registry(folder: Path, text: str | None = None) -> Path:
    (folder / "docs").mkdir(exist_ok=True)
    (folder / "docs" / "a.pdf").write_bytes((SAMPLES / "mic_tsuchi_71.pdf").read_bytes())
    path = folder / "sources.yaml"
    path.write_text(text or "documents:\n  - {id: a, publisher: MIC, title: 通知, issued: null, url: null, sample: docs/a.pdf}\n", encoding="utf-8")
    return path


def _one_line_error(result: dict, *needles: str) -> None:
    lines = result["err"].strip().splitlines()
    assert result["code"] == 2, result
    assert len(lines) == 1 and lines[0].startswith("nichiiki: error: "), result["err"]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert "prefect" not in result["heavy"], "the error must come before any Prefect import (or server start)"


@pytest.mark.parametrize("command", ["run", "validate"])
def test_registry_syntax_error_is_one_line_before_prefect(tmp_path, command):
    _registry(tmp_path, "documents:\n  - {id: a, publisher: MIC\n   title: [\n")
    _one_line_error(_cli(tmp_path, command), "sources.yaml")


def test_unwritable_output_folder_is_one_line_before_prefect(tmp_path):
    _registry(tmp_path)
    (tmp_path / "plain-file").write_text("not a folder")
    _one_line_error(_cli(tmp_path, "run", "--outputs", "plain-file/releases"), "output folder", "plain-file")


def test_a_prefect_api_url_that_does_not_answer_is_one_line(tmp_path):
    _registry(tmp_path)
    _one_line_error(_cli(tmp_path, "run", api_url=unanswered_api_url()), "PREFECT_API_URL", "does not answer")


def test_workers_zero_is_one_line(tmp_path):
    _registry(tmp_path)
    _one_line_error(_cli(tmp_path, "run", "--workers", "0"), "workers", "greater than or equal to 1")


def test_extract_on_a_folder_is_one_line_and_writes_nothing(tmp_path):
    (tmp_path / "pdfs").mkdir()
    result = _cli(tmp_path, "extract", "pdfs", "--out", "out")
    _one_line_error(result, "pdfs is a folder")
    assert not (tmp_path / "out").exists()
    assert "pandas" not in result["heavy"]


def test_validate_reports_the_registry_and_warns_about_urls_without_fetch(tmp_path):
    _registry(
        tmp_path,
        "documents:\n  - {id: a, publisher: MIC, title: 通知, issued: null, url: null, sample: docs/a.pdf}\n"
        "  - {id: web, publisher: MIC, title: ウェブ, issued: null, url: 'https://example.invalid/w.pdf', sample: null}\n",
    )
    result = _cli(tmp_path, "validate")
    assert result["code"] == 0 and "ok: 2 document(s)" in result["out"]
    assert "web: only a url" in result["err"] and "--fetch" in result["err"]
    assert result["heavy"] == []
    assert _cli(tmp_path, "run", "--dry-run", "--strict")["code"] == 1  # a warning is a failure under --strict
    assert _cli(tmp_path, "run", "--dry-run", "--fetch", "--strict")["code"] == 0


# ---------------------------------------------------------------- releases


def _fake_release(outputs: Path, run_id: str) -> Path:
    folder = outputs / "releases" / run_id
    folder.mkdir(parents=True)
    manifest = {"run_id": run_id, "published_at": "2026-01-01T00:00:00+00:00", "outputs": {"x": {"rows": 3}}, "failures": []}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def test_releases_list_and_prune_never_remove_the_current_one(tmp_path, capsys):
    outputs = tmp_path / "outputs"
    ids = [f"2026010{i}T000000Z-00000{i}" for i in range(1, 5)]
    for run_id in ids:
        _fake_release(outputs, run_id)
    (outputs / "releases" / ".tmp-unfinished").mkdir()
    # current points at an older release (a rollback, say)
    (outputs / "current").symlink_to(Path("releases") / ids[0])
    assert main(["releases", "list", "--outputs", str(outputs)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[-6] if line.startswith("*") else line.split()[0] for line in listed] == ids[::-1]
    assert listed[-1].startswith("* " + ids[0])

    assert main(["releases", "prune", "--keep", "1", "--dry-run", "--outputs", str(outputs)]) == 0
    assert all((outputs / "releases" / r).exists() for r in ids)
    assert main(["releases", "prune", "--keep", "1", "--outputs", str(outputs)]) == 0
    left = sorted(p.name for p in (outputs / "releases").iterdir() if not p.name.startswith("."))
    assert left == [ids[0], ids[3]]  # the newest and the current one
    assert (outputs / "current").resolve().name == ids[0]


def test_extract_caches_ocr_in_the_given_cache_folder(tmp_path):
    # `nichiiki extract` caches OCR answers where its settings say (NICHIIKI_CACHE_DIR), as a run
    # does: a cold run given an empty cache folder must not find a warm one in the checkout.
    import pymupdf

    from pipeline.runs.local import extract_to_folder
    from scan_pdf import scan

    doc = pymupdf.open()
    page = doc.new_page(width=300, height=120)
    page.insert_text((20, 60), "Dual-region living 2025", fontsize=16)
    pdf = tmp_path / "one_line_scan.pdf"
    pdf.write_bytes(scan(doc.tobytes(), dpi=150))
    report = extract_to_folder([pdf], tmp_path / "out", limits=None, cache_dir=tmp_path / "cache")
    assert report.extractions and not report.failures
    assert list((tmp_path / "cache" / "ocr").rglob("*.json")), "no OCR answer cached in the given folder"


def test_extract_run_from_a_folder_holding_a_pipeline_package_runs_nichiikis_code(tmp_path):
    # The sandbox's fork server is a `python -c` process, and Python puts the folder such a process
    # starts in first on its path: a folder of the user's holding a `pipeline/` directory (a
    # checkout of another project, an unpacked archive) would have every document run its code.
    decoy = tmp_path / "pipeline"
    decoy.mkdir()
    marker = tmp_path / "decoy-imported"
    (decoy / "__init__.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise ImportError('decoy')\n", encoding="utf-8")
    nichiiki = Path(sys.executable).with_name("nichiiki")
    env = dict(os.environ, PYTHONPATH=str(REPO), NICHIIKI_NLP_CACHE=str(tmp_path / "nlp"), NICHIIKI_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run([str(nichiiki), "extract", str(SAMPLES / "real" / "pdfminer_kampo.pdf"), "--out", str(tmp_path / "out")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert not marker.exists(), "a process of the command imported the working folder's pipeline package"
    assert (tmp_path / "out" / "documents.parquet").exists()


@pytest.mark.parametrize(
    "main_name, preloaded",
    [("flows.cli", "flows.cli"), (None, "flows.entry"), ("pytest.__main__", "flows.entry"), ("__main__", "flows.entry")],
)
def test_the_fork_server_preloads_the_main_module_children_run_and_never_a_dunder_main(monkeypatch, main_name, preloaded):
    # `python -m flows.cli`: each child runs flows.cli again as its main, so the server imports it once.
    # The nichiiki script (no module name): its entry module. `python -m pytest`: multiprocessing runs
    # no __main__ module again, and importing pytest.__main__ in the server would run pytest there.
    import importlib.machinery
    import types

    from flows import forkserver

    fake = types.ModuleType("__main__")
    fake.__spec__ = importlib.machinery.ModuleSpec(main_name, None) if main_name else None
    monkeypatch.setitem(sys.modules, "__main__", fake)
    assert forkserver.main_module() == preloaded


@pytest.mark.parametrize(
    "argv, command",
    [(["extract", "a.pdf", "--out", "o"], "extract"), (["-q", "extract", "a.pdf"], "extract"),
     (["--log-level", "DEBUG", "extract"], "extract"), (["--log-level=DEBUG", "extract"], "extract"),
     (["--log-level", "extract", "run"], "run"), (["diff", "extract"], "diff"), (["extract", "--help"], None),
     (["-h"], None), (["--version"], None), ([], None)],
)
def test_the_script_names_the_command_before_parsing_the_command_line(argv, command):
    # flows.entry starts the fork server for `extract` only, before Typer parses anything: help,
    # the version and the other commands must not start one.
    from flows.entry import command_named

    assert command_named(argv) == command


def test_the_script_knows_which_global_options_take_a_value():
    # flows.entry reads the command word before Typer parses anything: the global options that
    # take a value (the word after them is no command) must be the command line's own.
    import typer.main

    from flows import entry
    from flows.cli import app

    group = typer.main.get_command(app)
    with_value = {opt for p in group.params if not p.is_flag and not p.count for opt in p.opts}
    assert with_value == set(entry._OPTIONS_WITH_VALUE)
