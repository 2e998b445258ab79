"""The timeline of a run (pipeline/model/timeline.py): off by default, one line per event when on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO, SAMPLES, unanswered_api_url
from pipeline.document import OCR_PRELOAD_MODULE, PRELOAD_MODULE
from pipeline.model import timeline


def test_off_it_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(timeline.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    timeline.mark("x")
    with timeline.span("y"):
        pass
    assert list(tmp_path.iterdir()) == []


def test_on_each_event_is_one_line_with_time_process_and_cpu(tmp_path, monkeypatch):
    path = tmp_path / "timeline.jsonl"
    monkeypatch.setenv(timeline.ENV, str(path))
    timeline.mark("a", doc_id="d")
    with pytest.raises(ValueError):
        with timeline.span("b", rows=3):
            raise ValueError("the end is recorded anyway")
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [e["event"] for e in events] == ["a", "b:start", "b:end"]
    assert events[0]["doc_id"] == "d" and events[2]["rows"] == 3
    assert all(e["pid"] == os.getpid() and e["cpu_s"] >= 0 for e in events)
    assert events[0]["t"] <= events[1]["t"] <= events[2]["t"]


def test_a_cold_extract_records_its_chain_in_order(tmp_path):
    # The real `nichiiki` script, so the fork server and its children are those of the command.
    path = tmp_path / "timeline.jsonl"
    pdf = SAMPLES / "real" / "pdfminer_kampo.pdf"
    env = dict(os.environ, PYTHONPATH=str(REPO), NICHIIKI_TIMELINE=str(path),
               NICHIIKI_NLP_CACHE=str(tmp_path / "nlp"), NICHIIKI_CACHE_DIR=str(tmp_path / "cache"))
    nichiiki = os.path.join(os.path.dirname(sys.executable), "nichiiki")
    done = subprocess.run([nichiiki, "extract", str(pdf), "--out", str(tmp_path / "out")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    first = {}
    for e in events:
        first.setdefault(e["event"], e)
    chain = ["command:fork_server_started", "command:start", "command:text_tables:start", "command:text_tables:end", "command:imports_done", "documents:start", "document:start",
             "child:start", "child:end", "document:end", "documents:end", "validate:start", "validate:end",
             "checks:start", "checks:end", "write:datasets:start", "write:datasets:end", "write:datapackage:end", "command:written"]
    # The script starts the fork server before it loads the command line (flows.entry), and once.
    assert [e["event"] for e in events].count("command:fork_server_started") == 1
    missing = [name for name in chain + ["sandbox:forked"] if name not in first]
    assert missing == []
    times = [first[name]["t"] for name in chain]
    assert times == sorted(times), [name for name, t, u in zip(chain, times, times[1:]) if u < t]
    # The command marks the fork once the server has answered, the child its start as it runs: the
    # two are marked at once by two processes, in either order; both lie between the document's bounds.
    assert first["document:start"]["t"] <= first["sandbox:forked"]["t"] <= first["child:end"]["t"]
    command = first["command:start"]["pid"]
    assert first["child:start"]["pid"] == first["sandbox:forked"]["child"] != command
    # The fork server preloads the module the `nichiiki` script imports (pyproject's entry point),
    # so the children do not import it again when they run the script; it imports nothing itself.
    entry = "flows.entry"
    assert f'nichiiki = "{entry}:main"' in (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert entry in first["command:fork_server_started"]["preload"]
    code = f"import sys, {entry}; print(sorted(m for m in ('typer', 'pydantic', 'flows.cli', 'pandas') if m in sys.modules))"
    alone = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert alone.stdout.strip() == "[]", alone.stdout + alone.stderr
    # ... and not the OCR engine: the first document goes to the server as soon as it is ready.
    assert OCR_PRELOAD_MODULE not in first["command:fork_server_started"]["preload"]
    # The command wrote the tables' cache files for the server; nothing else is left beside them.
    assert first["command:text_tables:end"]["pid"] == command
    written = sorted(p.name.split("-")[0] for p in (tmp_path / "nlp").iterdir())
    assert "gazetteer" in written and "kJapaneseOn" in written and not [n for n in written if ".tmp" in n]


def test_run_has_its_fork_server_import_the_ocr_engine_while_prefect_starts(tmp_path):
    # A PREFECT_API_URL nobody answers ends the command right after the fork server has started.
    path = tmp_path / "timeline.jsonl"
    (tmp_path / "a.pdf").write_bytes((SAMPLES / "real" / "pdfminer_kampo.pdf").read_bytes())
    (tmp_path / "sources.yaml").write_text("documents:\n  - {id: a, publisher: MIC, title: 官報, issued: null, url: null, sample: a.pdf}\n",
                                           encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO), NICHIIKI_TIMELINE=str(path), PREFECT_API_URL=unanswered_api_url())
    done = subprocess.run([sys.executable, "-m", "flows.cli", "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode != 0 and "does not answer" in done.stderr
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    started = [e for e in events if e["event"] == "command:fork_server_started"]
    assert len(started) == 1 and started[0]["preload"].index(PRELOAD_MODULE) < started[0]["preload"].index(OCR_PRELOAD_MODULE)
