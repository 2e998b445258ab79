"""Prefect's temporary API server, started so that it ends with the run that started it.

Without ``PREFECT_API_URL``, Prefect starts a temporary server (uvicorn, about
235 MB) in a child process the first time a client needs it, and stops it at
interpreter exit. A run killed with ``kill -9`` never reaches that exit: the
server stayed, listening, for as long as nobody noticed. Here the server is
started before the flow, from the main thread, through a tiny launcher that
asks the kernel (``PR_SET_PDEATHSIG``) to send it SIGTERM when its parent
dies, then ``exec``s uvicorn, which keeps that setting. Prefect's clients find
the running server (it is a per-process singleton) and use it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import types
from typing import Any

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int, signum: int = signal.SIGTERM) -> None:
    """Ask for ``signum`` when the parent dies; exit now if it already has."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


class _Launcher(types.ModuleType):
    """``subprocess`` as prefect.server.api.server sees it: Popen runs the command through the launcher."""

    def __init__(self) -> None:
        super().__init__("subprocess")

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    @staticmethod
    def Popen(args: list[str], **kwargs: Any) -> subprocess.Popen:  # noqa: N802 — the name Prefect calls
        if args[:1] == [sys.executable]:
            args = [sys.executable, "-m", "flows.server", str(os.getpid()), *args[1:]]
        return subprocess.Popen(args, **kwargs)


def start_temporary_server() -> str | None:
    """Start Prefect's temporary server tied to this process; its URL, or None when a server is configured."""
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    if settings.api.url or not settings.server.ephemeral.enabled:
        return None  # a configured server, or none at all: Prefect decides as usual
    import prefect.server.api.server as server_module

    server_module.subprocess = _Launcher()  # type: ignore[assignment]
    server = server_module.SubprocessASGIServer()
    server.start()
    return server.api_url


def main(argv: list[str]) -> None:
    """``python -m flows.server PARENT_PID ARGS...``: die with PARENT_PID, then exec ``python ARGS...``."""
    die_with_parent(int(argv[0]))
    os.execv(sys.executable, [sys.executable, *argv[1:]])


if __name__ == "__main__":
    main(sys.argv[1:])
