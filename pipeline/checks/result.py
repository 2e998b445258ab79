"""The outcome of one check: both values, whether it held, and whether a failure blocks publishing."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class CheckResult:
    name: str
    doc_id: str
    expected: int | None
    actual: int | None
    ok: bool
    detail: str
    blocking: bool = True

    def as_dict(self) -> dict:
        return asdict(self)
