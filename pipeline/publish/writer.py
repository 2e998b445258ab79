"""The one writer: validate, write to a temporary folder, describe, then rename into place.

A release is ``outputs/releases/<run_id>/`` holding one parquet file per
dataset, ``manifest.json`` (inputs, outputs with row counts and sha256,
timings, checks, failures) and ``datapackage.json`` (what every column means).
``outputs/current`` is a symlink to the newest release, swapped atomically,
so readers see either the old release or the new one, never a mix. A run
killed at any point leaves only a ``.tmp-*`` folder, removed by the next run.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import secrets
import shutil
import socket
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pandas as pd
import pandera.errors

from pipeline import REPO_ROOT, __version__
from pipeline.publish.datapackage import descriptor, write_parquet
from pipeline.model.clock import utc_now
from pipeline.model.errors import ValidationFailed
from pipeline.ingest.safepath import safe_name
from pipeline.model.schema import DATASETS, SCHEMA_VERSION, _is_bbox, empty_frame
from pipeline.model.timeline import span

logger = logging.getLogger("nichiiki.publish")

RELEASES = "releases"
CURRENT = "current"
LOCK_FILE = ".lock"
# Columns that identify a failing row in a validation message, when present.
_ID_COLUMNS = ("doc_id", "row", "section_id", "consortium_id", "page")


class PublishLocked(RuntimeError):
    """Another run holds the output folder's lock."""


class PublishFailed(OSError):
    """Writing a release failed (disk full, permissions); the half-written folder is gone, ``current`` unchanged.

    An ``OSError`` with the original ``errno``; its message is one line naming the path.
    """

    def __init__(self, errno_: int | None, message: str) -> None:
        super().__init__(errno_, message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _unchanged(outputs_dir: Path, previous: Path | None) -> str:
    current = Path(outputs_dir) / CURRENT
    return f"{current} is unchanged ({previous.name})" if previous else f"no release was published yet in {outputs_dir}"


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def code_version() -> str:
    """Package version plus a hash of the code that produces data.

    A hash of the sources (not a git commit) so an uncommitted change, or a
    checkout without .git, still changes the version.
    """
    root = REPO_ROOT
    digest = hashlib.sha256()
    for folder in ("pipeline", "extractors", "flows"):
        for path in sorted((root / folder).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


# ---------------------------------------------------------------- validation

# Where values that broke a column check are listed (pipeline/model/schema.py: ValueReviews).
REVIEWS = "value_reviews"


def validate_frames(frames: dict[str, pd.DataFrame], run_id: str, empty: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """Stamp ``run_id``, validate every dataset, and return the coerced frames.

    Every known dataset is present in the result (empty when no document had
    one), so a release always has the same files. A value that breaks a
    column check costs only itself: it is published as null, or, in a key or
    non-nullable column, its row is left out; either way it becomes a
    ``value_reviews`` row naming the dataset, row, column, value and check.
    What no row can explain (a missing or unknown column, a dataset without a
    schema: the code's fault, not the document's) raises ValidationFailed
    naming the dataset and the checks that failed.

    ``empty``: ``validated_empty_frames(run_id)``, computed ahead (while documents are still being
    extracted); a dataset no document had is then taken from it instead of being validated again.
    """
    validated: dict[str, pd.DataFrame] = {}
    reviews: list[dict] = []
    problems: list[str] = []
    for name, spec in DATASETS.items():
        if name == REVIEWS:
            continue
        frame = frames.get(name)
        if (frame is None or frame.empty) and empty is not None and name in empty:
            validated[name] = empty[name]
            continue
        frame = empty_frame(name) if frame is None or frame.empty else frame.reset_index(drop=True)
        frame["run_id"] = run_id
        frame = frame[[c for c in spec.columns if c in frame.columns] + [c for c in frame.columns if c not in spec.columns]]
        # A check that errors on a whole column (a comparison with a stray string) fails it
        # without naming rows: it passes again once the rows' own failures are set aside.
        for _attempt in range(3):
            try:
                with span("validate:dataset", dataset=name, rows=len(frame)):
                    validated[name] = spec.model.validate(frame, lazy=True)
                break
            except pandera.errors.SchemaErrors as exc:
                cases = _row_cases(exc.failure_cases, frame)
                if cases.empty:
                    problems.append(_describe_failures(name, frame, exc.failure_cases))
                    break
                frame, rejected = _set_aside(name, frame, cases, run_id)
                reviews += rejected
        else:
            problems.append(f"{name}: still failing after setting aside the failing values")
    unknown = sorted(set(frames) - set(DATASETS) - {REVIEWS})
    if unknown:
        problems.append(f"datasets without a schema: {', '.join(unknown)} (add them to pipeline/model/schema.py)")
    if problems:
        raise ValidationFailed(", ".join(sorted({p.split(':', 1)[0] for p in problems})), "\n".join(problems))
    if reviews:
        review_frame = pd.DataFrame(reviews, columns=DATASETS[REVIEWS].columns)
        validated[REVIEWS] = DATASETS[REVIEWS].model.validate(review_frame.assign(run_id=run_id), lazy=True)
    elif empty is not None and REVIEWS in empty:
        validated[REVIEWS] = empty[REVIEWS]
    else:
        validated[REVIEWS] = _validated_empty_reviews(run_id)
    return validated


def _validated_empty_reviews(run_id: str) -> pd.DataFrame:
    return DATASETS[REVIEWS].model.validate(empty_frame(REVIEWS).assign(run_id=run_id), lazy=True)


def validated_empty_frames(run_id: str) -> dict[str, pd.DataFrame]:
    """What ``validate_frames`` gives every dataset that no document had, for ``run_id``.

    It depends on nothing but the schema and the run id, so it can be computed before the
    documents are read; it builds every dataset's pandera schema on the way.

    A frame without rows breaks no check, and its columns are the schema's own, so coercing them to
    the declared types gives what validating it gives (tests/test_publish.py holds the two equal)
    for half the CPU: pandera's checks cost ~15 ms a dataset even on no rows, and this runs while
    the documents are read, on the cores that read them. The first dataset is validated in full,
    so that pandera's first validation in the process (its imports and set-up) is paid here too,
    not after the last document.
    """
    frames = {}
    for name, spec in DATASETS.items():
        frame = empty_frame(name).assign(run_id=run_id)  # the schema's columns, in its order
        frames[name] = spec.model.validate(frame, lazy=True) if not frames else spec.model.to_schema().coerce_dtype(frame)
    return frames


def _row_cases(cases: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """The failures that are one value of one row (not a column or the frame as a whole)."""
    if cases.empty or "index" not in cases.columns:
        return cases.iloc[0:0]
    one_row = cases["index"].map(lambda i: i is not None and not _missing(i) and i in frame.index)
    return cases[one_row & cases["column"].isin(frame.columns)]


def _set_aside(name: str, frame: pd.DataFrame, cases: pd.DataFrame, run_id: str) -> tuple[pd.DataFrame, list[dict]]:
    """Null each failing value, or drop its row where null is not allowed; one review row per value."""
    spec = DATASETS[name]
    schema = spec.model.to_schema()
    kept = frame.copy()
    drop: set = set()
    reviews: list[dict] = []
    for (where, column), failed in cases.groupby(["index", "column"], sort=True):
        index = frame.index[frame.index.get_loc(where)]
        checks = "; ".join(dict.fromkeys(str(c) for c in failed["check"]))
        definition = schema.columns.get(column)
        nullable = definition is not None and definition.nullable and column not in spec.key
        action = "nulled" if nullable else "row_dropped"
        reviews.append(_review_row(name, frame, index, column, checks, action, run_id))
        if nullable:
            kept[column] = kept[column].astype(object)
            kept.at[index, column] = None
        else:
            drop.add(index)
    return kept.drop(index=sorted(drop)), reviews


def _review_row(name: str, frame: pd.DataFrame, index: object, column: str, check: str, action: str, run_id: str) -> dict:
    row = frame.loc[index]
    keys = [k for k in DATASETS[name].key if k in frame.columns]
    value = row[column]
    page = row.get("page")
    bbox = row.get("bbox")
    return {
        "doc_id": row["doc_id"] if isinstance(row.get("doc_id"), str) else None,
        "dataset": name,
        "record_key": "|".join(_key_text(row[k]) for k in keys) if keys else str(index),
        "column": column,
        "raw_value": None if _missing(value) else str(_plain(value)),
        "failed_check": check,
        "action": action,
        "page": int(page) if pd.api.types.is_number(page) and not _missing(page) and float(page).is_integer() else None,
        "bbox": list(bbox) if bbox is not None and _is_bbox(bbox) else None,
        "extractor": row["extractor"] if isinstance(row.get("extractor"), str) else None,
        "run_id": run_id,
    }


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and arrays are values, not missing
        return False


def _key_text(value: object) -> str:
    return "" if _missing(value) else str(_plain(value))


def _describe_failures(name: str, frame: pd.DataFrame, cases: pd.DataFrame, limit: int = 20) -> str:
    lines = [f"{name}: {len(cases)} failing value(s)"]
    for _, case in cases.head(limit).iterrows():
        where = ""
        index = case.get("index")
        if index is not None and not pd.isna(index) and index in frame.index:
            row = frame.loc[index]
            where = " ".join(f"{c}={_plain(row[c])!r}" for c in _ID_COLUMNS if c in frame.columns)
        lines.append(f"  column {case.get('column')!s}: check {case.get('check')!s} failed for {case.get('failure_case')!r} {where}".rstrip())
    if len(cases) > limit:
        lines.append(f"  ... and {len(cases) - limit} more")
    return "\n".join(lines)


def _plain(value: object) -> object:
    """numpy scalars as Python values, so messages read row=2, not row=np.int64(2)."""
    return value.item() if hasattr(value, "item") else value


# ---------------------------------------------------------------- writing


def write_datasets(frames: dict[str, pd.DataFrame], folder: Path) -> dict[str, dict]:
    """Write each frame as ``<name>.parquet`` in ``folder``; return rows and sha256 per file."""
    folder.mkdir(parents=True, exist_ok=True)
    outputs = {}
    for name, frame in sorted(frames.items()):
        path = folder / f"{name}.parquet"
        tmp = path.with_name(f".{path.name}.tmp")
        with span("write:dataset", dataset=name, rows=len(frame)):
            write_parquet(name, frame, tmp)
        with span("write:fsync", dataset=name):
            _fsync(tmp)
        tmp.replace(path)
        outputs[name] = {"path": path.name, "rows": int(len(frame)), "bytes": path.stat().st_size, "sha256": _sha256(path)}
    return outputs


def datapackage(outputs: dict[str, dict], run_id: str) -> dict:
    """The release's Frictionless descriptor (pipeline.publish.datapackage, generated from the schema)."""
    return descriptor(outputs, run_id)


def publish_release(
    frames: dict[str, pd.DataFrame],
    manifest: dict,
    outputs_dir: Path,
    lock_timeout: float = 300.0,
) -> Path:
    """Validate and publish a new release atomically; return its folder.

    ``frames`` must already carry run ids (validate_frames); ``manifest`` is
    completed here with outputs and the previous release's id.
    """
    outputs_dir = Path(outputs_dir)
    releases = outputs_dir / RELEASES
    releases.mkdir(parents=True, exist_ok=True)
    # The run id becomes a folder name: refuse anything that could escape releases/.
    run_id = safe_name(str(manifest["run_id"]), "run id")
    with output_lock(outputs_dir, lock_timeout):
        remove_stale_temporaries(outputs_dir)
        previous = current_release(outputs_dir)
        tmp = releases / f".tmp-{run_id}"
        final = releases / run_id
        if final.exists():
            raise FileExistsError(f"release {final} already exists")
        try:
            outputs = write_datasets(frames, tmp)
            manifest = dict(manifest, outputs=outputs, previous_run_id=previous.name if previous else None, published_at=utc_now())
            _write_json(tmp / "manifest.json", manifest)
            _write_json(tmp / "datapackage.json", datapackage(outputs, run_id))
            _fsync_dir(tmp)
            tmp.rename(final)
            _fsync_dir(releases)
            _point_current(outputs_dir, final)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            where = exc.filename or tmp
            raise PublishFailed(
                exc.errno, f"nothing published: {exc.strerror or exc} writing {where}; {_unchanged(outputs_dir, previous)}"
            ) from exc
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return final


def current_release(outputs_dir: Path) -> Path | None:
    link = Path(outputs_dir) / CURRENT
    if not link.is_symlink() and not link.exists():
        return None
    target = link.resolve()
    return target if (target / "manifest.json").exists() else None


def read_manifest(folder: Path, *, missing_ok: bool = False) -> dict:
    """The ``manifest.json`` of a release or an extraction folder.

    A release this code published must have one (missing or unreadable raises);
    with ``missing_ok`` (any folder under review) it is ``{}`` instead.
    """
    path = Path(folder) / "manifest.json"
    if not missing_ok:
        return json.loads(path.read_text(encoding="utf-8"))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def remove_stale_temporaries(outputs_dir: Path) -> list[Path]:
    """Remove what killed runs left behind (only call while holding the lock)."""
    removed = []
    releases = Path(outputs_dir) / RELEASES
    for tmp in releases.glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
        removed.append(tmp)
    stale_link = Path(outputs_dir) / f".{CURRENT}.tmp"
    if stale_link.is_symlink():
        stale_link.unlink()
    return removed


@contextlib.contextmanager
def output_lock(outputs_dir: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on the output folder; wait up to ``timeout`` seconds."""
    Path(outputs_dir).mkdir(parents=True, exist_ok=True)
    path = Path(outputs_dir) / LOCK_FILE
    with open(path, "a+") as fh:
        deadline = time.monotonic() + timeout
        said = False
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                holder = _lock_holder(path)
                if time.monotonic() >= deadline:
                    raise PublishLocked(
                        f"{outputs_dir} is being published by another run ({holder}, lock {path}); waited {timeout:.0f} s; "
                        f"{_unchanged(outputs_dir, current_release(outputs_dir))} by this run"
                    ) from None
                if not said:  # once: a silent wait of minutes looks like a hang
                    logger.warning("waiting up to %.0f s for the publish lock %s, held by %s", timeout, path, holder)
                    said = True
                time.sleep(0.2)
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()} on {socket.gethostname()} since {utc_now()}\n")
            fh.flush()
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _lock_holder(path: Path) -> str:
    """Who holds the lock, as the holder wrote it ("pid 123 on host since …")."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return text.splitlines()[0][:200] if text else "another process"


def _point_current(outputs_dir: Path, release: Path) -> None:
    tmp_link = Path(outputs_dir) / f".{CURRENT}.tmp"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    tmp_link.symlink_to(Path(RELEASES) / release.name)
    os.replace(tmp_link, Path(outputs_dir) / CURRENT)
    _fsync_dir(Path(outputs_dir))


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    _fsync(tmp)
    tmp.replace(path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fsync(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
