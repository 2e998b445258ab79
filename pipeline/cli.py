"""The ``nichiiki`` command.

- ``nichiiki extract FILE.pdf ... --out DIR``: extraction without the registry
  or Prefect, for reviewers and tests; writes ``DIR/<dataset>.parquet``.
- ``nichiiki run``: the main Prefect flow over sources.yaml (what ``make run`` does).
- ``nichiiki diff [OLD NEW] [--html report.html]``: what changed between two
  extractions or releases (pipeline/diff_cli.py); exit 1 when anything changed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.diff_cli import add_diff_parser
from pipeline.errors import ValidationFailed


def _add_extract(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="extract datasets from PDFs into a folder of parquet files")
    p.add_argument("pdfs", nargs="+", type=Path, metavar="FILE.pdf")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for <dataset>.parquet files")
    p.set_defaults(func=_run_extract)


def _run_extract(args: argparse.Namespace) -> int:
    from pipeline.local import extract_to_folder
    from pipeline.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"nichiiki: {exc}", file=sys.stderr)
        return 2
    # The same sandbox and limits as a run: a hostile file costs bounded time and memory here too.
    report = extract_to_folder(args.pdfs, args.out, settings.limits() if settings.sandbox else None)
    for name, out in sorted(report.outputs.items()):
        print(f"{name:20s} {out['rows']:6d} rows  {args.out / out['path']}")
    for failure in report.failures:
        print(f"FAILED {failure.message}", file=sys.stderr)
    return 1 if report.failures else 0


def _add_run(sub: argparse._SubParsersAction) -> None:
    from pipeline.settings import settings_help

    p = sub.add_parser(
        "run",
        help="run the main Prefect flow over the source registry and publish a release",
        description="Run the main Prefect flow over the source registry and publish a release.",
        epilog=settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from flows.main import add_settings_arguments

    add_settings_arguments(p)
    p.set_defaults(func=_run_flow)


def _run_flow(args: argparse.Namespace) -> int:
    from flows.main import run_from_args

    return run_from_args(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nichiiki", description="Japanese government PDF reports to validated open data.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_extract(sub)
    _add_run(sub)
    add_diff_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValidationFailed as exc:
        print(f"nichiiki: nothing published: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
