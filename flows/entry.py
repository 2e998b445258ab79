"""The ``nichiiki`` script's entry point: the command line, imported only when it is called.

multiprocessing starts every sandboxed child by running the script of the process that starts it,
and the script imports this module. Free of imports, it costs the fork server that preloads it and
each child nothing; the command line's own modules (Typer, the settings' pydantic models: ~0.17 s
of CPU) are loaded by the command alone.
"""

from __future__ import annotations

import sys

# Global options of the command line (flows.cli) that take a value: the word after them is not a command.
_OPTIONS_WITH_VALUE = ("--log-level",)
_HELP = ("-h", "--help", "--version")


def main(argv: list[str] | None = None) -> int:
    """``flows.cli.main``; for ``extract``, the sandbox's fork server is started first."""
    if command_named(sys.argv[1:] if argv is None else argv) == "extract":
        # ``extract`` reads every document in the sandbox's fork server, which imports and loads its
        # models for ~0.9 s before the first can start. Started before the command line is parsed,
        # that overlaps this process's own imports from their start instead of after Typer's and
        # the settings'. Settings that turn the sandbox off leave it idle; it ends with this process.
        from flows.forkserver import start_fork_server_early

        start_fork_server_early()
    from flows.cli import main as cli_main

    return cli_main(argv)


def command_named(args: list[str]) -> str | None:
    """The command word of a ``nichiiki`` command line, or None when it only asks for help or the version."""
    if any(arg in _HELP for arg in args):
        return None
    words = iter(args)
    for arg in words:
        if arg in _OPTIONS_WITH_VALUE:
            next(words, None)
        elif not arg.startswith("-"):
            return arg
    return None
