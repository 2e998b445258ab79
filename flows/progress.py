"""A progress display for the extraction: one line per document and an overall line with an ETA.

It prints through the console of Prefect's own log handler, so log lines
scroll above the display instead of being glued onto it (two rich consoles
on one terminal overwrite each other). Without a terminal it shows nothing
and the log lines say the same.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Sequence

from prefect.futures import PrefectFuture

POLL_SECONDS = 0.5


def prefect_console():
    """The rich console Prefect's console log handler prints to, or None."""
    from prefect.logging.handlers import PrefectConsoleHandler

    for name in ("prefect", ""):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, PrefectConsoleHandler):
                return handler.console
    return None


def _stage(future: PrefectFuture) -> str:
    try:
        state = future.state
    except Exception:  # noqa: BLE001 — a state the API cannot answer yet is still waiting
        return "waiting"
    if state.is_completed():
        return "cached" if state.name == "Cached" else "done"
    if state.is_failed() or state.is_crashed():
        return "failed"
    return "extracting" if state.is_running() else "waiting"


def wait_with_progress(
    futures: Sequence[PrefectFuture],
    names: Sequence[str],
    describe: Callable[[object], str],
    label: str,
) -> list:
    """Wait for ``futures`` (results in input order); show a line per document on a terminal.

    ``describe(result)`` says how a finished document went (pages and rows, or the failure).
    """
    console = prefect_console()
    if console is None or not console.is_terminal or not futures:
        return [f.result() for f in futures]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (
        TextColumn("{task.description}", markup=False),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False, refresh_per_second=4) as progress:
        overall = progress.add_task(label, total=len(futures))
        lines = [progress.add_task(f"  {name}: waiting", total=None, visible=True) for name in names]
        done: set[int] = set()
        while len(done) < len(futures):
            for i, future in enumerate(futures):
                if i in done:
                    continue
                stage = _stage(future)
                if stage in ("done", "cached", "failed"):
                    done.add(i)
                    result = future.result()
                    cached = " (cached)" if stage == "cached" else ""
                    progress.update(lines[i], description=f"  {names[i]}: {describe(result)}{cached}", total=1, completed=1)
                    progress.advance(overall)
                else:
                    progress.update(lines[i], description=f"  {names[i]}: {stage}")
            if len(done) < len(futures):
                time.sleep(POLL_SECONDS)
    return [f.result() for f in futures]
