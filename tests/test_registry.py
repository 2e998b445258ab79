"""Hostile and mistyped registries: one RegistryError line naming the file, nothing built or published."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipeline.ingest.registry import RegistryError, load_registry

GOOD = "  - {id: good, publisher: MLIT, title: 良い文書, issued: \"2026-03\", url: null, sample: good.pdf}\n"


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text("documents:\n" + body, encoding="utf-8")
    (tmp_path / "good.pdf").write_bytes(b"%PDF-1.7\n%%EOF\n")
    return path


def refused(path: Path, pattern: str) -> str:
    with pytest.raises(RegistryError) as info:
        load_registry(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    assert pattern in message, message
    return message


def test_good_registry_loads(tmp_path):
    [entry] = load_registry(write(tmp_path, GOOD))
    assert entry.id == "good" and entry.sample == tmp_path / "good.pdf"


def test_bundled_registry_loads():
    assert len(load_registry(Path(__file__).resolve().parents[1] / "sources.yaml")) >= 7


@pytest.mark.parametrize("doc_id", ['"good\\n"', '"Good"', '"a b"', "123", "[a]", '"../x"'])
def test_id_must_match_whole(tmp_path, doc_id):
    refused(write(tmp_path, GOOD.replace("id: good", f"id: {doc_id}")), "must be a string of lower-case letters")


def test_billion_laughs_refused_before_building(tmp_path):
    lol = "a: &a [" + ",".join(["x"] * 10) + "]\n"
    for i in range(1, 9):
        lol += f"{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 10) + "]\n"
    path = tmp_path / "sources.yaml"
    path.write_text(lol + "documents:\n" + GOOD.replace("title: 良い文書", "title: *i"), encoding="utf-8")
    started = time.process_time()
    refused(path, "anchors and aliases")
    assert time.process_time() - started < 5  # nothing of 10^9 elements was built


def test_deep_nesting_refused_naming_the_file(tmp_path):
    path = write(tmp_path, GOOD)
    path.write_text(path.read_text() + "extra: " + "[" * 50000 + "]" * 50000 + "\n")
    refused(path, "nested more than")


def test_oversized_registry_refused(tmp_path):
    path = write(tmp_path, GOOD)
    with open(path, "a") as fh:
        fh.write("# " + "x" * (2 * 1024 * 1024) + "\n")
    refused(path, "more than the")


@pytest.mark.parametrize("typo, key", [("issued", "isued"), ("url", "ulr"), ("sample", "smaple")])
def test_misspelled_key_named(tmp_path, typo, key):
    message = refused(write(tmp_path, GOOD.replace(f"{typo}:", f"{key}:")), f"unknown key {key!r}")
    assert f"did you mean {typo!r}" in message and "(good)" in message


def test_unknown_top_level_key(tmp_path):
    path = write(tmp_path, GOOD)
    path.write_text("documnets: []\n" + path.read_text())
    refused(path, "unknown key 'documnets'")


@pytest.mark.parametrize("field, value", [("title", "[1, 2]"), ("title", "{a: b}"), ("publisher", "12"), ("issued", "2026-03-01"), ("title", '"a\\x1b[2Jb"')])
def test_fields_are_plain_strings(tmp_path, field, value):
    body = GOOD.replace('issued: "2026-03"', "issued: null").replace(f"{field}: ", f"{field}: {value}, x{field}: ")
    body = body.replace(f", x{field}: " + {"title": "良い文書", "publisher": "MLIT", "issued": "null"}[field], "")
    refused(write(tmp_path, body), field)


def test_yaml_tags_refused(tmp_path):
    refused(write(tmp_path, GOOD.replace("title: 良い文書", "title: !!python/object:os.system x")), "tag")


@pytest.mark.parametrize("sample", ["/etc/passwd", "/etc/shadow", "../../../../etc/passwd", "link/passwd"])
def test_sample_confined(tmp_path, sample):
    (tmp_path / "link").symlink_to("/etc")
    refused(write(tmp_path, GOOD.replace("sample: good.pdf", f"sample: {sample}")), "outside the allowed folders")


def test_sample_in_allowed_folder(tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    reg_dir = tmp_path / "reg"
    reg_dir.mkdir()
    (other / "x.pdf").write_bytes(b"%PDF-1.7\n%%EOF\n")
    path = write(reg_dir, GOOD.replace("sample: good.pdf", f"sample: {other / 'x.pdf'}"))
    with pytest.raises(RegistryError):
        load_registry(path)
    [entry] = load_registry(path, sample_dirs=[other])
    assert entry.sample == other / "x.pdf"


def test_not_utf8(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_bytes(b"documents:\n  - {id: a, title: \xff\xfe}\n")
    refused(path, "not UTF-8")
