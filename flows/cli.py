"""The ``nichiiki`` command (typer).

- ``nichiiki extract FILE.pdf ... --out DIR``: extraction without the registry
  or Prefect, for reviewers and tests; writes ``DIR/<dataset>.parquet``.
- ``nichiiki run``: the main Prefect flow over sources.yaml (what ``make run`` does);
  ``--dry-run`` (= ``nichiiki validate``) only checks the settings, the registry and the folders.
- ``nichiiki diff [OLD NEW] [--html report.html]``: what changed between two
  extractions or releases (pipeline/review/diff_cli.py); exit 1 when anything changed.
- ``nichiiki releases list|prune``: the releases of an output folder.
- ``nichiiki discover`` / ``nichiiki sources accept|list``: propose new PDFs from
  the registry's index pages, accept them into it (pipeline/ingest/discover_cli.py).

The flags of ``run`` are generated from ``pipeline.ingest.settings.Settings``, so
the settings have one definition. Heavy modules (Prefect, pandas, PyMuPDF,
spaCy) are imported only inside a command, so ``--help``, ``--version`` and
argument errors answer at once. A user error is one line on stderr and exit
code 2, never a traceback.
"""

from __future__ import annotations

import inspect
import os
import sys
from pathlib import Path
from typing import Any, Literal, Optional, get_args, get_origin

import typer

try:  # typer >= 0.2x carries its own copy of click
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # pragma: no cover - older typer on click
    from click.exceptions import ClickException, UsageError

from flows.forkserver import start_fork_server_early
from pipeline import __version__
from pipeline.ingest.settings import ENV_PREFIX, Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

app = typer.Typer(
    name="nichiiki",
    help="Japanese government PDF reports to validated open data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: rich's help formatter alone costs ~0.3 s of start-up.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
releases_app = typer.Typer(help="list or prune the releases of an output folder", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(releases_app, name="releases")
sources_app = typer.Typer(help="review documents that discovery proposed", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(sources_app, name="sources")


class UserError(Exception):
    """A mistake the user can fix from the message alone: printed as one line, exit code 2."""


def error(message: str) -> None:
    print(f"nichiiki: error: {' '.join(str(message).split())}", file=sys.stderr)


def warn(message: str) -> None:
    print(f"nichiiki: warning: {message}", file=sys.stderr)


# ---------------------------------------------------------------- global options


def _version(value: bool) -> None:
    if value:
        print(f"nichiiki {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="print the version and exit"),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="only warnings and errors; no progress display"),
    log_level: Optional[Literal["DEBUG", "INFO", "WARNING", "ERROR"]] = typer.Option(
        None, "--log-level", case_sensitive=False, help="log level of the run and of Prefect [default: INFO, or PREFECT_LOGGING_LEVEL]"
    ),
) -> None:
    level = "WARNING" if quiet else log_level.upper() if log_level else None
    if level:
        # Read by Prefect when a command imports it.
        os.environ["PREFECT_LOGGING_LEVEL"] = level
    if quiet:
        os.environ[f"{ENV_PREFIX}PROGRESS"] = "false"


# ---------------------------------------------------------------- settings as flags


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _settings_parameters() -> list[inspect.Parameter]:
    """One option per settings field; unset options stay None so environment and file values apply."""
    params = []
    for name, field in Settings.model_fields.items():
        env = f"{ENV_PREFIX}{name.upper()}"
        help_text = f"{field.description} [env {env}; default {field.default}]"
        annotation: Any = field.annotation
        kwargs: dict[str, Any] = {"help": help_text, "show_default": False}
        if annotation is bool:
            decls = [f"{_flag(name)}/--no-{name.replace('_', '-')}"]
            annotation = Optional[bool]
        elif get_origin(annotation) is Literal:
            decls = [_flag(name)]
            annotation = Optional[annotation]
        else:
            decls = [_flag(name)]
            inner = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
            annotation = Optional[inner[0]]
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=typer.Option(None, *decls, **kwargs), annotation=annotation)
        )
    return params


def _with_settings_options(func):
    """Give ``func(config, dry_run, **settings)`` one option per settings field."""
    own = [p for p in inspect.signature(func).parameters.values() if p.name != "flags"]
    func.__signature__ = inspect.Signature(own + _settings_parameters())
    return func


def _load_settings(config: Path | None, flags: dict[str, Any]) -> Settings:
    from pipeline.ingest.settings import SettingsError, load_settings

    try:
        return load_settings(flags, config)
    except SettingsError as exc:
        raise UserError(str(exc)) from None


def _preflight(settings: Settings):
    from pipeline.ingest.preflight import check_run

    checked = check_run(settings)
    for message in checked.warnings:
        warn(message)
    if not checked.ok:
        for message in checked.errors[:-1]:
            error(message)
        raise UserError(checked.errors[-1])
    return checked


CONFIG_OPTION = typer.Option(None, "--config", metavar="FILE", help=f"TOML or YAML settings file [env {ENV_PREFIX}CONFIG]")


@_with_settings_options
def run_command(config: Optional[Path] = CONFIG_OPTION,
                dry_run: bool = typer.Option(False, "--dry-run", help="check settings, registry and folders, then stop (no server, no extraction)"),
                **flags: Any) -> int:
    """Run the main Prefect flow over the source registry and publish a release.

    Settings come from flags, then NICHIIKI_* variables, then --config FILE, then defaults.
    """
    settings = _load_settings(config, flags)
    checked = _preflight(settings)
    if dry_run:
        return _report_dry_run(settings, checked)
    return _run_flow(settings)


@_with_settings_options
def validate_command(config: Optional[Path] = CONFIG_OPTION, **flags: Any) -> int:
    """Check settings, the source registry, input paths and output folders, without running anything."""
    settings = _load_settings(config, flags)
    return _report_dry_run(settings, _preflight(settings))


app.command("run", no_args_is_help=False)(run_command)
app.command("validate")(validate_command)


def _report_dry_run(settings: Settings, checked) -> int:
    urls = sum(1 for e in checked.entries if e.url)
    print(
        f"ok: {len(checked.entries)} document(s) in {settings.sources} ({urls} with a url, downloads {'on' if settings.fetch else 'off'}); "
        f"{settings.outputs} and {settings.cache_dir} are writable"
    )
    return EXIT_FAILED if settings.strict and checked.warnings else EXIT_OK


def _cache_text_tables() -> None:
    """Write the cache files of the gazetteer and of the kanji readings if they are missing."""
    from pipeline.model.timeline import span
    from pipeline.text.gazetteer import cache_gazetteer
    from pipeline.text.lookalike import cache_on_readings

    with span("command:text_tables"):
        try:
            cache_gazetteer()
            cache_on_readings()
        except Exception:  # noqa: BLE001 — the fork server builds them then, as without this
            pass


def _run_flow(settings: Settings) -> int:
    import gc

    # Documents run in this process's sandbox unless Dask workers run them: its fork server's
    # ~1 s of imports and tables, and the OCR engine's import, then overlap Prefect's start
    # instead of following it.
    if settings.sandbox and settings.effective_runner() != "dask":
        start_fork_server_early(ocr=True)
    from flows.server import API_URL, healthy, prefect_api, prefect_defaults

    if os.environ.get(API_URL) and not healthy(os.environ[API_URL]):
        raise UserError(f"{API_URL}={os.environ[API_URL]} does not answer: start that server, or unset {API_URL} to run on one of its own")

    prefect_defaults(Path(settings.cache_dir) / "prefect")
    quiet = os.environ.get("PREFECT_LOGGING_LEVEL", "").upper() in ("WARNING", "ERROR", "CRITICAL")
    with prefect_api(log=None if quiet else lambda line: print(line, file=sys.stderr)):
        from flows.main import run_and_report

        code = run_and_report(settings)
    # What is still alive now (Prefect's, pandas' and pyarrow's modules and objects) lives until the
    # process ends: left to the collector, the collections the interpreter runs as it exits walked
    # it all (~0.6 s of wall between the flow's end and the exit). Frozen, they skip it.
    gc.freeze()
    return code


# ---------------------------------------------------------------- extract


@app.command("extract")
def extract_command(
    pdfs: list[Path] = typer.Argument(..., metavar="FILE.pdf...", help="PDF files to extract"),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="folder for <dataset>.parquet files"),
) -> int:
    """Extract datasets from PDFs into a folder of parquet files (no registry, no Prefect).

    Exit code 1 when any file failed; the others are still written.
    """
    import gc

    from pipeline.model.timeline import mark

    mark("command:start")
    from pipeline.ingest.preflight import folder_problem

    for path in pdfs:
        if path.is_dir():
            raise UserError(f"{path} is a folder: give the PDF files in it (e.g. {path}/*.pdf)")
    problem = folder_problem(out, "output folder")
    if problem:
        raise UserError(problem)
    settings = _load_settings(None, {})
    if settings.sandbox:
        start_fork_server_early()
        # The fork server imports for ~0.7 s and then loads the text stage's tables, which a cold
        # cache makes it build first (~0.35 s). Built here meanwhile, on the other core, they are on
        # disk when it gets there: every document waits for the server, nothing yet for this process.
        _cache_text_tables()
    from pipeline.model.errors import ValidationFailed
    from pipeline.runs.local import extract_to_folder

    mark("command:imports_done")
    # The modules just imported (pandas, pyarrow, pandera, pydantic) are ~100,000 objects the
    # collector tracks, and they live until the process ends: left to it, every full collection, and
    # the ones the interpreter runs as it exits, walked them all (~0.15 s of CPU and ~0.25 s of wall
    # between the last file written and the exit). Frozen, the collector ignores them.
    gc.freeze()

    try:
        # The same sandbox and limits as a run: a hostile file costs bounded time and memory here too.
        report = extract_to_folder(pdfs, out, settings.limits() if settings.sandbox else None, cache_dir=Path(settings.cache_dir))
    except ValidationFailed as exc:
        print(f"nichiiki: nothing written: {exc}", file=sys.stderr)
        return EXIT_USAGE
    mark("command:written")
    for name, written in sorted(report.outputs.items()):
        print(f"{name:20s} {written['rows']:6d} rows  {out / written['path']}")
    for failure in report.failures:
        print(f"FAILED {failure.message.splitlines()[0]}", file=sys.stderr)
    if not report.extractions:
        print(f"nichiiki: no document could be extracted; nothing written to {out}", file=sys.stderr)
    return EXIT_FAILED if report.failures else EXIT_OK


# ---------------------------------------------------------------- diff


@app.command(
    "diff",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
def diff_command(ctx: typer.Context) -> int:
    """Show rows added, removed and changed between two extractions (exit 1 when anything changed)."""
    from pipeline.review.diff_cli import main as diff_main

    try:
        return diff_main(["diff", *ctx.args])
    except SystemExit as exc:  # argparse's own --help and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE


# ---------------------------------------------------------------- releases

OUTPUTS_OPTION = typer.Option(Path("outputs"), "--outputs", help="output folder holding releases/ and current")


@releases_app.command("list")
def releases_list(outputs: Path = OUTPUTS_OPTION) -> int:
    """Releases, newest first; * marks the current one."""
    from pipeline.publish.releases import list_releases

    found = list_releases(outputs)
    if not found:
        print(f"no releases in {outputs}")
    for r in found:
        rows = "?" if r.rows is None else r.rows
        failed = "?" if r.failures is None else r.failures
        print(f"{'*' if r.current else ' '} {r.run_id}  {r.published_at or '-':25s} {rows:>7} rows  {failed:>3} failed")
    return EXIT_OK


@releases_app.command("prune")
def releases_prune(
    keep: int = typer.Option(..., "--keep", min=0, help="how many of the newest releases to keep (the current one is always kept)"),
    outputs: Path = OUTPUTS_OPTION,
    dry_run: bool = typer.Option(False, "--dry-run", help="only say what would be removed"),
) -> int:
    """Remove all but the newest KEEP releases; never the current one."""
    from pipeline.publish.releases import prune_releases

    removed = prune_releases(outputs, keep, dry_run=dry_run)
    for r in removed:
        print(f"{'would remove' if dry_run else 'removed'} {r.path}")
    print(f"{len(removed)} release(s) {'to remove' if dry_run else 'removed'}")
    return EXIT_OK


# ---------------------------------------------------------------- discovery


@app.command("discover")
def discover(
    sources: Optional[Path] = typer.Option(None, "--sources", help="source registry [default: sources.yaml]"),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="cache folder; index pages are kept in CACHE/discover [default: .cache]"),
    accept: Optional[bool] = typer.Option(None, "--accept/--no-accept", help="accept what is found into the registry at once"),
    delay: Optional[float] = typer.Option(None, "--delay", min=0, help="seconds between two requests to one host [default: 5]"),
    config: Optional[Path] = CONFIG_OPTION,
) -> int:
    """Find new PDFs on the registry's index pages and propose them (sources.discovered.yaml)."""
    from pipeline.ingest.discover_cli import discover_command

    return discover_command(sources, cache_dir, accept, delay, config)


SOURCES_OPTION = typer.Option(Path("sources.yaml"), "--sources", help="source registry")


@sources_app.command("accept")
def sources_accept(
    ids: Optional[list[str]] = typer.Argument(None, metavar="ID...", help="ids of proposed documents"),
    all_proposed: bool = typer.Option(False, "--all", help="every proposed document"),
    sources: Path = SOURCES_OPTION,
) -> int:
    """Copy discovered documents into the registry."""
    from pipeline.ingest.discover_cli import accept_command

    return accept_command(list(ids or []), sources, all_proposed)


@sources_app.command("list")
def sources_list(sources: Path = SOURCES_OPTION) -> int:
    """Documents discovery proposed that wait for review."""
    from pipeline.ingest.discover_cli import list_command

    return list_command(sources)


# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> int:
    """The console script; returns the exit code (tests call it with ``argv``)."""
    try:
        result = app(args=argv, prog_name="nichiiki", standalone_mode=False)
    except UserError as exc:
        error(str(exc))
        return EXIT_USAGE
    except typer.Exit as exc:
        return exc.exit_code
    except UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "nichiiki"
        error(f"{exc.format_message()} (see {where} --help)")
        return EXIT_USAGE
    except ClickException as exc:
        error(exc.format_message())
        return exc.exit_code
    except typer.Abort:
        print("nichiiki: aborted", file=sys.stderr)
        return EXIT_FAILED
    return result if isinstance(result, int) else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
