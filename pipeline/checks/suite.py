"""Every check of the documents' own statements, as one suite: the flow and ``nichiiki extract`` both run it.

A failed check is a ``CheckResult`` with both values and the rows involved;
a blocking one stops publishing (``ValidationFailed``), the others are
recorded in the manifest.
"""

from __future__ import annotations

import pandas as pd

from pipeline.checks.consortia import check_statements
from pipeline.checks.result import CheckResult
from pipeline.checks.tours import check_tours
from pipeline.model.errors import ValidationFailed


def document_checks(frames: dict[str, pd.DataFrame]) -> list[CheckResult]:
    """Every check over validated ``frames``: consortia counts (blocking), tour figures (informational)."""
    return check_statements(frames) + check_tours(frames)


def raise_on_blocking(checks: list[CheckResult]) -> None:
    """Refuse to publish while a blocking check fails, naming every failure."""
    failed = [c for c in checks if c.blocking and not c.ok]
    if failed:
        raise ValidationFailed("consortia", "\n".join(c.detail for c in failed))
