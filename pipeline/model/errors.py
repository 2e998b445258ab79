"""Errors that name the source and the reason.

A ``DocumentError`` is what the pipeline records in the manifest and the
``failures`` dataset: it always says which document, at which stage, and why.
"""

from __future__ import annotations


class DocumentError(Exception):
    """A document could not go through a stage; the run carries on without it."""

    def __init__(self, source: str, stage: str, reason: str) -> None:
        self.source = source
        self.stage = stage
        self.reason = reason
        super().__init__(f"{source}: {stage} failed: {reason}")

    @property
    def error_class(self) -> str:
        return type(self).__name__

    def __reduce__(self):
        # Subclasses take different constructor arguments; rebuild from the three
        # fields so the error survives pickling (sandbox pipes, Dask workers).
        return (_rebuild, (type(self), self.source, self.stage, self.reason, dict(self.__dict__)))


def _rebuild(cls: type, source: str, stage: str, reason: str, state: dict) -> "DocumentError":
    err = cls.__new__(cls)
    DocumentError.__init__(err, source, stage, reason)
    err.__dict__.update(state)
    return err


class FetchError(DocumentError):
    """The bytes could not be obtained (HTTP failure, missing file, not a PDF)."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(source, "fetch", reason)


class ParseError(DocumentError):
    """The bytes are not a PDF the pipeline can read (corrupt, encrypted, empty)."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(source, "parse", reason)


class ResourceLimitExceeded(DocumentError):
    """Reading the document went over a time or memory budget (pipeline.model.limits)."""


class TimeBudgetExceeded(ResourceLimitExceeded):
    """A page or the whole document spent its CPU-seconds budget (or ten times it in wall time); the worker was killed."""


class MemoryLimitExceeded(ResourceLimitExceeded):
    """The worker ran out of its address-space allowance (a PDF bomb, or a huge page)."""


class WorkerCrashed(DocumentError):
    """The worker process died (segfault in a native library, killed by a signal)."""


class WorkerFailed(DocumentError):
    """Code running on the document raised an unexpected exception; ``details`` has the traceback."""

    details: str = ""


class ValidationFailed(Exception):
    """A dataset broke its schema or a report's own statement; nothing is published."""

    def __init__(self, dataset: str, details: str) -> None:
        self.dataset = dataset
        self.details = details
        super().__init__(f"dataset {dataset!r} failed validation:\n{details}")
