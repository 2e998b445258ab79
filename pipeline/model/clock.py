"""Timestamps as every manifest and record writes them: UTC, ISO 8601, to the second."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
