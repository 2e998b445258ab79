"""One settings object for a run: sources, output, cache, concurrency.

Values come from, highest priority first: command-line flags, environment
variables (``NICHIIKI_<FIELD>``, e.g. ``NICHIIKI_WORKERS=2``), a TOML or YAML
file (``--config FILE`` or ``NICHIIKI_CONFIG``), then the defaults below.
``nichiiki run --help`` prints every field with its default and variable
(its flags are generated from this model by flows/cli.py).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.ingest.crawl import CrawlSettings
from pipeline.ingest.fetch import FetchSettings
from pipeline.model.limits import DEFAULT_LIMITS, Limits

ENV_PREFIX = "NICHIIKI_"
CONFIG_ENV = ENV_PREFIX + "CONFIG"


class SettingsError(ValueError):
    """A settings file or value is invalid; the message names where it came from."""


class Settings(BaseSettings):
    """How one run reads, computes and publishes."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    sources: Path = Field(Path("sources.yaml"), description="source registry (YAML)")
    outputs: Path = Field(Path("outputs"), description="folder receiving releases/ and the current symlink")
    cache_dir: Path = Field(Path(".cache"), description="per-document result cache (extract/<key>.pkl)")
    cache: bool = Field(True, description="reuse per-document results whose input sha256, code and config are unchanged")
    runner: Literal["sequential", "threads", "dask"] = Field(
        "threads", description="how document tasks run: one after another, a thread pool, or on Dask"
    )
    workers: int = Field(2, ge=1, le=256, description="thread pool size, or worker processes of the local Dask cluster")
    dask_address: str | None = Field(
        None, description="scheduler of an existing Dask cluster (tcp://host:8786); implies runner=dask"
    )
    force: bool = Field(False, description="publish even when inputs, code and config are unchanged")
    fetch: bool = Field(
        False, description="download sources that have a url (retries, conditional GET, sha256 cache); off: read the bundled samples"
    )
    sandbox: bool = Field(True, description="parse and extract each document in a child process under the limits below")
    max_file_mb: int = Field(DEFAULT_LIMITS.max_file_bytes // (1024 * 1024), ge=1, description="larger files are refused before parsing (and downloads stop there)")
    max_pages: int = Field(DEFAULT_LIMITS.max_pages, ge=1, description="documents with more pages are refused")
    seconds_per_page: float = Field(DEFAULT_LIMITS.seconds_per_page, gt=0, description="CPU-seconds budget for one page (parse, OCR, extract)")
    seconds_per_document: float = Field(DEFAULT_LIMITS.seconds_per_document, gt=0, description="CPU-seconds budget for one document")
    memory_mb: int = Field(DEFAULT_LIMITS.memory_mb, ge=64, description="address space a document's worker may add to its start-up size")
    fetch_deadline: float = Field(
        FetchSettings.total_timeout, gt=0, description="seconds one download attempt may take in all (connect, headers, body)"
    )
    progress: bool = Field(True, description="show a progress line per document on an interactive terminal")
    crawl_delay: float = Field(5.0, ge=0, description="discovery: seconds between two requests to one host (robots.txt Crawl-delay may ask for more)")
    accept_discovered: bool = Field(False, description="discovery: accept new PDFs into the registry at once, so the next run fetches them")
    strict: bool = Field(False, description="exit non-zero when any document failed (the release is still published)")

    def task_config(self) -> dict[str, Any]:
        """The part of the settings that can change a document's extracted rows.

        Part of every cache key. Paths, concurrency and the runner only change
        where and how fast work happens, never its result, so they are left out.
        """
        return {}

    def limits(self) -> Limits:
        return Limits(
            max_file_bytes=self.max_file_mb * 1024 * 1024,
            max_pages=self.max_pages,
            seconds_per_page=self.seconds_per_page,
            seconds_per_document=self.seconds_per_document,
            memory_mb=self.memory_mb,
        )

    def fetch_settings(self) -> FetchSettings:
        return FetchSettings(max_bytes=self.max_file_mb * 1024 * 1024, total_timeout=self.fetch_deadline)

    def crawl_settings(self) -> CrawlSettings:
        return CrawlSettings(delay=self.crawl_delay)

    def effective_runner(self) -> str:
        return "dask" if self.dask_address else self.runner


def read_settings_file(path: Path) -> dict[str, Any]:
    """The mapping in a TOML or YAML settings file (a ``[nichiiki]`` table is allowed)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read settings file: {exc}") from exc
    try:
        data = tomllib.loads(text) if path.suffix.lower() == ".toml" else yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise SettingsError(f"{path}: not valid {'TOML' if path.suffix.lower() == '.toml' else 'YAML'}: {exc}") from exc
    data = data or {}
    if isinstance(data, dict) and isinstance(data.get("nichiiki"), dict):
        data = data["nichiiki"]
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping of settings")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def load_settings(flags: dict[str, Any] | None = None, config: Path | None = None) -> Settings:
    """Settings from flags (only those given, i.e. not None) > environment > file > defaults."""
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    config = config or (Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None)
    from_file = read_settings_file(config) if config else {}
    try:
        # Which fields the environment sets: pydantic-settings passes them as
        # init values, so they are exactly model_fields_set.
        env = Settings()
        from_env = {name: getattr(env, name) for name in env.model_fields_set}
        return Settings(**(from_file | from_env | flags))
    except ValidationError as exc:
        where = f"flags, {ENV_PREFIX}* variables" + (f" or {config}" if config else "")
        raise SettingsError(f"invalid settings (from {where}): {describe_errors(exc)}") from exc


def describe_errors(exc: ValidationError) -> str:
    """pydantic's errors on one line: ``workers: Input should be greater than or equal to 1 (got 0)``."""
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "settings"
        got = f" (got {error['input']!r})" if error["type"] != "extra_forbidden" and "input" in error else ""
        message = "unknown setting" if error["type"] == "extra_forbidden" else error["msg"]
        parts.append(f"{field}: {message}{got}")
    return "; ".join(parts)
