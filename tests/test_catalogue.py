"""The extractor catalogue: readers are found by scanning the package, and every dataset they declare is real."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from conftest import GOLDENS
from extractors.base import REGISTRY
from extractors.catalogue import all_extractors, reader_modules
from pipeline.document import OCR_PRELOAD_MODULE, PRELOAD_MODULE
from pipeline.model.schema import DATASETS

# Declared datasets that no bundled sample yields, with the tests that produce them instead.
NOT_ON_SAMPLES = {
    "cell_reviews": "no bundled sample has a matrix cell to check by eye; "
    "tests/test_mark_shapes.py and tests/test_scan_grid.py produce it from generated PDFs",
}


def test_every_reader_module_registers_an_extractor() -> None:
    """A module dropped into extractors/ is found; one that registers nothing is a mistake (or belongs in a sub-package)."""
    extractors = all_extractors()
    registered_in = {sys.modules[e.fn.__module__].__name__ for e in extractors}
    assert set(reader_modules()) == registered_in
    assert [e.name for e in extractors] == sorted(REGISTRY)


def test_every_declared_dataset_is_in_the_schema() -> None:
    missing = [(e.name, d) for e in all_extractors() for d in e.datasets if d not in DATASETS]
    assert missing == []


def test_every_declared_dataset_is_produced_on_some_sample() -> None:
    """The reviewed goldens (equal to a fresh extraction, tests/test_goldens.py) hold every declared dataset."""
    on_samples = {path.stem for path in Path(GOLDENS).glob("*/*.json")}
    declared = {d for e in all_extractors() for d in e.datasets}
    assert sorted(declared - on_samples - set(NOT_ON_SAMPLES)) == []
    assert sorted(set(NOT_ON_SAMPLES) & on_samples) == [], "now on a sample: drop it from NOT_ON_SAMPLES"


def test_the_sandbox_preload_module_exists() -> None:
    """The fork server imports it by name: a rename must not silently start every worker cold."""
    assert importlib.util.find_spec(PRELOAD_MODULE) is not None


def test_the_ocr_engine_is_imported_by_its_own_preload_module_only(tmp_path) -> None:
    """``nichiiki run``'s fork server imports rapidocr while Prefect starts; ``extract``'s, which gets its
    first document as soon as it is ready, leaves it to the documents that OCR."""
    import os
    import subprocess

    env = dict(os.environ, NICHIIKI_NLP_CACHE=str(tmp_path))
    for module, imported in ((PRELOAD_MODULE, False), (OCR_PRELOAD_MODULE, True)):
        code = f"import sys, {module}; print('rapidocr.main' in sys.modules)"
        done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent, env=env,
                              capture_output=True, text=True, check=True)
        assert done.stdout.strip().splitlines()[-1] == str(imported), (module, done.stdout + done.stderr)


def test_the_sandbox_preload_module_leaves_ginza_to_the_documents_that_need_it(tmp_path) -> None:
    """GiNZA (~200 MB, ~0.8 s with spaCy's import) is loaded in a document's child on first use, not by
    the fork server for every run: most documents send it no sentence."""
    import os
    import subprocess

    code = f"import sys, {PRELOAD_MODULE}; print(sorted(m for m in ('spacy', 'ginza', 'thinc') if m in sys.modules))"
    env = dict(os.environ, NICHIIKI_NLP_CACHE=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent, env=env,
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr
    # and the module still warms what every document uses: Sudachi, and the font look-alikes are drawn with
    code = (f"import {PRELOAD_MODULE}; from pipeline.text.language import sudachi; from pipeline.text import lookalike; "
            "print(sudachi.cache_info().currsize, lookalike._font.cache_info().currsize)")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent, env=env,
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "1 1", done.stdout + done.stderr
