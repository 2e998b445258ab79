"""``nichiiki diff [OLD NEW] [--html report.html]``: what changed between two extractions.

Exit codes (as diff(1), so CI can gate on them): 0 nothing changed,
1 something changed, 2 the outputs could not be read.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # pipeline.review.diff pulls in pandas and the schema: only load them when diffing
    from pipeline.review.diff import DatasetDiff, OutputDiff

EXIT_SAME, EXIT_CHANGED, EXIT_ERROR = 0, 1, 2
# What a terminal would act on instead of showing: C0/C1 controls (ESC starts screen-clearing and
# title-setting sequences), bidi overrides, zero-width characters, lone surrogates.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")


def escape_controls(text: str) -> str:
    """``text`` with every character a terminal would interpret written as a visible escape (\\x1b, \\u202e)."""
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)


def add_diff_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "diff",
        help="show rows added, removed and changed between two extractions (exit 1 when anything changed)",
        description=(
            "Compare two output folders (nichiiki extract --out DIR) or two releases "
            "(outputs/releases/<run_id>). With no OLD/NEW, compares the current release "
            "with the previous one. Exit code: 0 same, 1 changed, 2 error."
        ),
    )
    p.add_argument("old", nargs="?", type=Path, metavar="OLD", help="older output folder or release")
    p.add_argument("new", nargs="?", type=Path, metavar="NEW", help="newer output folder or release")
    p.add_argument("--outputs", type=Path, default=Path("outputs"), help="outputs root used when OLD/NEW are omitted (default: outputs)")
    p.add_argument("--html", type=Path, metavar="REPORT.html", help="also write a self-contained HTML report with PDF crops")
    p.add_argument("--limit", type=int, default=20, help="changed rows listed per dataset in the terminal (default 20; 0 for all)")
    p.add_argument("--samples", type=Path, default=Path("samples"), help="folder searched for source PDFs by sha256 (default: samples)")
    p.set_defaults(func=run_diff)
    return p


def run_diff(args: argparse.Namespace) -> int:
    try:
        return _run_diff(args)
    except Exception as exc:  # noqa: BLE001 — exit 1 means "changed": nothing else may end with it
        print(escape_controls(f"nichiiki diff: {type(exc).__name__}: {exc}"), file=sys.stderr)
        return EXIT_ERROR


def _run_diff(args: argparse.Namespace) -> int:
    # Loaded per command: pandas and the schema would slow `nichiiki --help`.
    from pipeline.review.outputs import OutputNotFound, diff_outputs, previous_release

    console = Console(stderr=False, highlight=False)
    try:
        if args.old is None and args.new is None:
            old, new = previous_release(args.outputs)
        elif args.old is None or args.new is None:
            print("nichiiki diff: give both OLD and NEW, or neither (current release vs previous)", file=sys.stderr)
            return EXIT_ERROR
        else:
            old, new = args.old, args.new
        diff = diff_outputs(old, new)
    except OutputNotFound as exc:
        print(f"nichiiki diff: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print_summary(diff, console, limit=args.limit)
    if args.html:
        # PyMuPDF only when a report with crops is asked for.
        from pipeline.review.report_html import RenderFailed, default_pdf_resolver, write_html

        try:
            write_html(diff, args.html, default_pdf_resolver(diff, samples_dir=args.samples))
        except RenderFailed as exc:
            print(escape_controls(f"nichiiki diff: {exc}"), file=sys.stderr)
            return EXIT_ERROR
        console.print(Text(f"HTML report: {escape_controls(str(args.html))}"))
    return EXIT_CHANGED if diff.has_changes else EXIT_SAME


def _show(value: Any, width: int = 60) -> str:
    text = "∅" if value is None else repr(value) if not isinstance(value, str) else escape_controls(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _key_text(ds: DatasetDiff, row: dict[str, Any]) -> str:
    return " ".join(f"{k}={_show(row.get(k), 40)}" for k in ds.key)


def summary_table(diff: OutputDiff) -> Table:
    table = Table(title="nichiiki diff: rows per dataset", title_justify="left")
    table.add_column("dataset", no_wrap=True)
    table.add_column("old", justify="right", no_wrap=True)
    table.add_column("new", justify="right", no_wrap=True)
    table.add_column("added", justify="right", style="green", no_wrap=True)
    table.add_column("removed", justify="right", style="red", no_wrap=True)
    table.add_column("changed", justify="right", style="yellow", no_wrap=True)
    table.add_column("provenance only", justify="right", style="dim", no_wrap=True)
    table.add_column("note", overflow="fold")
    for ds in diff.datasets.values():
        notes = ds.summary_notes()
        table.add_row(
            Text(escape_controls(ds.name), style="bold" if ds.has_changes else "dim"),
            "—" if ds.old_rows is None else str(ds.old_rows),
            "—" if ds.new_rows is None else str(ds.new_rows),
            str(len(ds.added)) if ds.added else "·",
            str(len(ds.removed)) if ds.removed else "·",
            str(len(ds.value_changed)) if ds.value_changed else "·",
            str(len(ds.provenance_changed)) if ds.provenance_changed else "·",
            Text(escape_controls("; ".join(notes))),
        )
    return table


def print_summary(diff: OutputDiff, console: Console, limit: int = 20) -> None:
    console.print(Text(escape_controls(f"old: {diff.old_label}") + "\n" + escape_controls(f"new: {diff.new_label}"), style="dim"), soft_wrap=True)
    console.print(summary_table(diff))
    print_source_changes(diff, console)
    for ds in diff.changed_datasets:
        lines: list[Text] = []
        # Value changes first; where-from cells (a new source hash) are said once per document above.
        for change in ds.value_changed:
            line = Text(f"~ {_key_text(ds, change.new)}", style="yellow")
            for cell in change.value_cells:
                line.append(f"\n    {cell.column}: ")
                line.append(_show(cell.old), style="red strike")
                line.append(" → ")
                line.append(_show(cell.new), style="green")
            lines.append(line)
        for row in ds.removed:
            lines.append(Text(f"- {_key_text(ds, row)}", style="red"))
        for row in ds.added:
            lines.append(Text(f"+ {_key_text(ds, row)}", style="green"))
        if not lines:
            continue
        heading = Text(f"\n{escape_controls(ds.name)}", style="bold")
        if ds.value_changed:
            heading.append("  changed columns: " + ", ".join(f"{c}×{n}" for c, n in ds.value_column_counts.items()), style="dim")
        console.print(heading)
        shown = lines if limit <= 0 else lines[:limit]
        for line in shown:
            console.print(line)
        if len(lines) > len(shown):
            console.print(Text(f"  … {len(lines) - len(shown)} more (use --limit 0 or --html)", style="dim"))
    where_from = [f"{ds.name} {len(ds.provenance_changed)}" for ds in diff.changed_datasets if ds.provenance_changed]
    if where_from:
        columns = sorted({c for ds in diff.changed_datasets for c in ds.provenance_column_counts})
        console.print(Text(
            f"\nrows changed only where they came from ({', '.join(columns)}), counted, not listed: " + ", ".join(where_from),
            style="dim",
        ))
    if not diff.has_changes:
        console.print("No changes.")


def print_source_changes(diff: OutputDiff, console: Console) -> None:
    """Each document whose source bytes changed, once (its rows then differ in source_sha256 only)."""
    changes = diff.source_changes
    if not changes:
        return
    console.print(Text(f"\nsource PDFs changed ({len(changes)} document(s)):", style="bold"))
    for doc_id, (old, new) in changes.items():
        console.print(Text(f"  {_show(doc_id, 40)}: {_show(old, 12)} → {_show(new, 12)}"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nichiiki")
    add_diff_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main(["diff", *sys.argv[1:]]))
