"""The ``nichiiki`` script's entry point: the command line, imported only when it is called.

multiprocessing starts every sandboxed child by running the script of the process that starts it,
and the script imports this module. Free of imports, it costs the fork server that preloads it and
each child nothing; the command line's own modules (Typer, the settings' pydantic models: ~0.17 s
of CPU) are loaded by the command alone.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """``flows.cli.main``."""
    from flows.cli import main as cli_main

    return cli_main(argv)
