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
    from rich.default_styles import DEFAULT_STYLES
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.theme import Theme

    columns = (
        TextColumn("{task.description}", markup=False),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    # Prefect's console has a theme of its own without rich's progress styles.
    console.push_theme(Theme({k: v for k, v in DEFAULT_STYLES.items() if k.startswith(("bar.", "progress."))}, inherit=False))
    try:
        return _show(futures, names, describe, label, console, columns)
    except Exception as exc:  # noqa: BLE001 — a display that breaks must not fail the run
        logging.getLogger(__name__).warning("progress display off: %s: %s", type(exc).__name__, exc)
        return [f.result() for f in futures]
    finally:
        console.pop_theme()


def _show(futures: Sequence[PrefectFuture], names: Sequence[str], describe: Callable[[object], str], label: str, console, columns) -> list:
    from rich.progress import Progress

    with Progress(*columns, console=console, transient=False, refresh_per_second=4) as progress:
        overall = progress.add_task(label, total=len(futures))
        lines = [progress.add_task(f"  {name}: waiting", total=None, visible=True) for name in names]
        done: set[int] = set()
        started: set[int] = set()
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
                elif stage == "extracting" or i not in started:
                    # A state read between Running and Completed may say neither: never step back.
                    if stage == "extracting":
                        started.add(i)
                    progress.update(lines[i], description=f"  {names[i]}: {stage}")
            if len(done) < len(futures):
                time.sleep(POLL_SECONDS)
    return [f.result() for f in futures]
