"""The sandbox's fork server, started by a command before it needs it (``flows.entry``, ``flows.cli``)."""

from __future__ import annotations

import sys

# The module the ``nichiiki`` script imports (pyproject.toml's [project.scripts]).
ENTRY_MODULE = "flows.entry"

_started = False


def main_module() -> str:
    """The module each sandboxed child imports as its main: ``flows.cli`` under ``python -m flows.cli``,
    otherwise ``flows.entry``, the module the ``nichiiki`` script imports.

    A ``__main__`` module (``python -m pytest`` runs ``pytest.__main__``) is never run again in a
    child, and importing it in the fork server would run it there: the script's module stands in.
    """
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    name = spec.name if spec is not None and spec.name else ""
    if name and name != "__main__" and not name.endswith(".__main__"):
        return name
    return ENTRY_MODULE


def start_fork_server_early(ocr: bool = False) -> None:
    """Start the sandbox's fork server now, so that it loads the models while this process imports the rest.

    multiprocessing starts every sandboxed child by running this process's main module or script
    again (``main_module``): imported once in the fork server, each document's child finds it loaded.
    The ``nichiiki`` script's module is ``flows.entry``, which imports nothing; under ``python -m flows.cli``
    it is the command line (Typer, the settings), which each child would otherwise import again
    (~0.07 s of CPU a document).
    ``ocr``: the server also imports the OCR engine, for a caller that sends no document before
    the server would be done with it (``pipeline.document.preload_ocr``). A second call does nothing.
    """
    global _started
    if _started:
        return
    from pipeline.document import OCR_PRELOAD_MODULE, PRELOAD_MODULE
    from pipeline.model.timeline import mark
    from pipeline.reading.sandbox import start_fork_server

    preload = [PRELOAD_MODULE, *([OCR_PRELOAD_MODULE] if ocr else []), main_module()]
    start_fork_server(preload)
    _started = True
    mark("command:fork_server_started", preload=preload)
