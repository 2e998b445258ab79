"""Every published dataset: its columns, their meaning, their checks, its key.

This is the only module that spells dataset columns. Extractors produce
records with these names, the publisher validates against these models, the
diff tool keys rows with ``DatasetSpec.key`` and the data package descriptor
(datapackage.json) is generated from the descriptions here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

SCHEMA_VERSION = "1.0"

# Stamped on every row of every dataset by pipeline.publish / records.Record.
PROVENANCE_COLUMNS = ("doc_id", "source_sha256", "page", "bbox", "extractor", "extractor_version", "run_id")

MARKS = ("●", "○")


def _is_bbox(value: object) -> bool:
    if value is None:
        return True
    try:
        items = list(value)  # lists and numpy arrays (as parquet reads them back)
    except TypeError:
        return False
    return len(items) == 4 and all(isinstance(v, (int, float)) for v in items)


def _is_str_list(value: object) -> bool:
    try:
        return all(isinstance(v, str) for v in value)  # type: ignore[union-attr]
    except TypeError:
        return False


class Provenanced(pa.DataFrameModel):
    """Columns every row carries: where it came from and which code made it."""

    doc_id: Series[str] = pa.Field(description="Source document id from sources.yaml")
    source_sha256: Series[str] = pa.Field(str_matches=r"^[0-9a-f]{64}$", description="sha256 of the PDF bytes read")
    page: Series[int] = pa.Field(ge=1, description="1-based page number in the PDF")
    bbox: Series[object] = pa.Field(
        nullable=True, description="[x0, top, x1, bottom] in PDF points, origin top-left; null when not a region"
    )
    extractor: Series[str] = pa.Field(description="Name of the extractor that produced the row")
    extractor_version: Series[str] = pa.Field(description="Version of that extractor")
    run_id: Series[str] = pa.Field(description="Id of the pipeline run that published the row")

    @pa.check("bbox", element_wise=True, name="bbox_is_4_numbers")
    def _bbox_shape(cls, value: object) -> bool:  # noqa: N805 (pandera's classmethod style)
        return _is_bbox(value)

    class Config:
        strict = True
        coerce = True


class Consortia(Provenanced):
    """One row per row of a consortium × theme matrix (rows without marks included)."""

    consortium_id: Series[str] = pa.Field(description="Stable id: <doc_id>#<row>")
    row: Series[int] = pa.Field(ge=1, description="1-based order of the row in the matrix, across pages")
    round: Series[int] = pa.Field(isin=[1, 2, 3, 4, 5], description="Selection round (1次 → 1)")
    region_raw: Series[str] = pa.Field(description="地域名 exactly as printed")
    consortium_name_raw: Series[str] = pa.Field(description="コンソーシアム名 exactly as printed")
    tour: Series[pd.BooleanDtype] = pa.Field(nullable=True, description="ツアー実施: ○ → true, — → false")
    ocr: Series[bool] = pa.Field(description="True when the row was read from a scanned image")


class ThemeMarks(Provenanced):
    """One row per marked cell of a consortium × theme matrix."""

    consortium_id: Series[str] = pa.Field(description="The consortia row this mark belongs to")
    row: Series[int] = pa.Field(ge=1, description="Matrix row (as consortia.row)")
    group: Series[str] = pa.Field(nullable=True, description="Spanning group header (中長期的課題, 取組テーマ)")
    theme: Series[str] = pa.Field(description="The sub-column header the mark sits under")
    mark: Series[str] = pa.Field(isin=list(MARKS), description="● (main) or ○ (related), glyph variants unified")
    mark_source: Series[str] = pa.Field(isin=["glyph", "shape", "pixels"], description="How the mark was read")
    confidence: Series[float] = pa.Field(ge=0, le=1, description="Reader confidence for the mark")


class ConsortiumIssues(Provenanced):
    """The second 一覧表: each consortium's themes and the regional issues it addresses."""

    consortium_id: Series[str] = pa.Field(nullable=True, description="Linked consortia row; null when unlinkable")
    row: Series[int] = pa.Field(ge=1, description="1-based order in this table, across pages")
    round: Series[int] = pa.Field(isin=[1, 2, 3, 4, 5], description="Selection round")
    consortium_name_raw: Series[str] = pa.Field(description="Name exactly as printed in this table")
    themes_raw: Series[str] = pa.Field(description="二地域居住を進める上でのテーマ as printed")
    themes: Series[object] = pa.Field(description="themes_raw split on 、 and ・")
    issues_raw: Series[str] = pa.Field(description="解決しようとした地域課題 as printed")
    issues: Series[object] = pa.Field(description="issues_raw split on 、 and ・")
    link_method: Series[str] = pa.Field(isin=["exact", "fuzzy", "order", "none"], description="How the link was made")
    link_score: Series[float] = pa.Field(ge=0, le=1, description="Name similarity of the link")

    @pa.check("themes", "issues", element_wise=True, name="is_list_of_str")
    def _lists(cls, value: object) -> bool:  # noqa: N805
        return _is_str_list(value)


class ReportStatements(Provenanced):
    """Counts a report states about itself (計44団体, 1次募集 … 26採択), used as checks."""

    statement: Series[str] = pa.Field(isin=["consortia_total", "consortia_in_round"], description="What is counted")
    round: Series[pd.Int64Dtype] = pa.Field(nullable=True, description="Selection round, for per-round counts")
    value: Series[int] = pa.Field(ge=0, description="The number the report states")
    text_raw: Series[str] = pa.Field(description="The line the statement was read from")


class Documents(pa.DataFrameModel):
    """One row per source document that was read."""

    doc_id: Series[str] = pa.Field(unique=True, description="Id from sources.yaml")
    sha256: Series[str] = pa.Field(str_matches=r"^[0-9a-f]{64}$", description="sha256 of the PDF bytes")
    url: Series[str] = pa.Field(nullable=True, description="Where the PDF is published")
    local_path: Series[str] = pa.Field(nullable=True, description="Bundled sample used when not fetched")
    publisher: Series[str] = pa.Field(description="MLIT, MIC, JOIN, ...")
    title: Series[str] = pa.Field(description="Title from the registry")
    issued: Series[str] = pa.Field(nullable=True, str_matches=r"^\d{4}-\d{2}(-\d{2})?$", description="Issue date, ISO")
    pages: Series[int] = pa.Field(ge=1, description="Page count")
    producer: Series[str] = pa.Field(description="PDF producer from the file's metadata")
    ocr_needed: Series[bool] = pa.Field(description="True when some page has no text layer")
    fetched_at: Series[str] = pa.Field(description="When the bytes were obtained (UTC ISO 8601)")
    run_id: Series[str] = pa.Field(description="Run that published the row")

    class Config:
        strict = True
        coerce = True


class Failures(pa.DataFrameModel):
    """Quarantine: one row per document that failed a stage in the run."""

    doc_id: Series[str] = pa.Field(description="Id from sources.yaml")
    source: Series[str] = pa.Field(description="URL or path that was read")
    sha256: Series[str] = pa.Field(nullable=True, description="sha256 of the bytes, when they were obtained")
    stage: Series[str] = pa.Field(description="fetch, parse, extract, validate, ...")
    error_class: Series[str] = pa.Field(description="Exception class")
    message: Series[str] = pa.Field(description="What went wrong, naming the source")
    failed_at: Series[str] = pa.Field(description="UTC ISO 8601")
    run_id: Series[str] = pa.Field(description="Run that recorded the failure")

    class Config:
        strict = True
        coerce = True


@dataclass(frozen=True)
class DatasetSpec:
    """A published dataset: its model, the columns that identify a row, and what it is."""

    name: str
    model: type[pa.DataFrameModel]
    key: tuple[str, ...]
    description: str

    @property
    def columns(self) -> list[str]:
        return list(self.model.to_schema().columns)


# --- narrative: sections, footnotes, notices, generic tables (helper `narrative`) ---


def _is_int_list(value: object) -> bool:
    try:
        return all(isinstance(v, (int,)) or (hasattr(v, "is_integer") and float(v).is_integer()) for v in value)  # type: ignore[union-attr]
    except TypeError:
        return False


def _is_fraction_list(value: object) -> bool:
    try:
        return all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in value)  # type: ignore[union-attr]
    except TypeError:
        return False


class Sections(Provenanced):
    """A document's heading tree: one row per section, in reading order (page/bbox: the heading)."""

    section_id: Series[str] = pa.Field(description="Stable id: <doc_id>#s<n>, n in reading order")
    parent_id: Series[str] = pa.Field(nullable=True, description="Enclosing section; null at the top level")
    level: Series[int] = pa.Field(ge=0, description="0 = top; levels follow the order numbering kinds appear in the document")
    kind: Series[str] = pa.Field(
        description="How the heading was recognised: decimal, paren_number, circled, chapter, bullet_filled, "
        "slide_title, style:<size>:<B|R> (unnumbered, by font), preamble (text before the first heading), ..."
    )
    label: Series[str] = pa.Field(description="Numbering label as printed (（1）, ①, 1.), empty when unnumbered")
    heading_raw: Series[str] = pa.Field(description="Heading as printed, label included; lines joined by newline")
    heading: Series[str] = pa.Field(description="Cleaned heading (the text stage fills it; raw until then)")
    text_raw: Series[str] = pa.Field(description="Body text up to the next heading, lines joined by newline, as printed")
    text: Series[str] = pa.Field(description="Cleaned body text (the text stage fills it; raw until then)")
    page_start: Series[int] = pa.Field(ge=1, description="First page of the section")
    page_end: Series[int] = pa.Field(ge=1, description="Last page holding its heading or text")
    ocr: Series[bool] = pa.Field(description="True when read from a scanned page by OCR")


class Footnotes(Provenanced):
    """Footnote bodies and ※ notes, linked to their marker and section (page/bbox: the body)."""

    footnote_id: Series[str] = pa.Field(description="Stable id: <doc_id>#f<n>")
    section_id: Series[str] = pa.Field(nullable=True, description="Section holding the marker (or the note)")
    kind: Series[str] = pa.Field(isin=["superscript", "note"], description="superscript marker + body, or a ※ note line")
    label: Series[str] = pa.Field(description="Marker label: 1, 2, *, ※")
    text_raw: Series[str] = pa.Field(description="Footnote text as printed")
    text: Series[str] = pa.Field(description="Cleaned text (the text stage fills it; raw until then)")
    marker_page: Series[pd.Int64Dtype] = pa.Field(nullable=True, description="Page of the superscript marker; null if none found")
    marker_bbox: Series[object] = pa.Field(nullable=True, description="Box of the marker glyph(s), PDF points")

    @pa.check("marker_bbox", element_wise=True, name="bbox_is_4_numbers")
    def _marker_bbox(cls, value: object) -> bool:  # noqa: N805
        return _is_bbox(value)


class Notices(Provenanced):
    """One row per administrative notice (通知, 事務連絡): its letterhead."""

    notice_id: Series[str] = pa.Field(description="Stable id: <doc_id>#n1")
    doc_numbers: Series[object] = pa.Field(description="Document numbers as printed (總行政第71号, ...)")
    date_raw: Series[str] = pa.Field(nullable=True, description="Date as printed (令和7年4月2日)")
    date: Series[str] = pa.Field(nullable=True, str_matches=r"^\d{4}-\d{2}-\d{2}$", description="Date, ISO")
    addressee: Series[str] = pa.Field(description="To whom (… 殿), with the handling desks below it")
    issuer: Series[str] = pa.Field(description="Issuing office and officials, one per line")
    title_raw: Series[str] = pa.Field(description="Title as printed")
    title: Series[str] = pa.Field(description="Cleaned title (the text stage fills it; raw until then)")
    preface_raw: Series[str] = pa.Field(description="Text between the title and 記")
    ocr: Series[bool] = pa.Field(description="True when read from a scanned page by OCR")

    @pa.check("doc_numbers", element_wise=True, name="is_list_of_str")
    def _numbers(cls, value: object) -> bool:  # noqa: N805
        return _is_str_list(value)


class NoticeItems(Provenanced):
    """The numbered items of a notice as a tree (1 > （1） > ① > 例）), with the amounts and rates they set."""

    notice_id: Series[str] = pa.Field(description="The notices row")
    item_id: Series[str] = pa.Field(description="Stable id: <doc_id>#i<n>, n in reading order")
    parent_id: Series[str] = pa.Field(nullable=True, description="Enclosing item; null at the top level")
    level: Series[int] = pa.Field(ge=0, description="0 = top; from the order label kinds appear")
    kind: Series[str] = pa.Field(description="Label kind: decimal, paren_number, circled, example, bullet_open, style:<size>:<B|R>")
    label: Series[str] = pa.Field(description="Label as printed; empty for unnumbered headings")
    text_raw: Series[str] = pa.Field(description="Item text without its label, lines joined by newline")
    text: Series[str] = pa.Field(description="Cleaned text (the text stage fills it; raw until then)")
    amounts_yen: Series[object] = pa.Field(description="Yen amounts in the item (500万円 → 5000000), in order")
    rates: Series[object] = pa.Field(description="Named rates as fractions (措置率は0.5 → 0.5, 補助率1/2 → 0.5)")
    ocr: Series[bool] = pa.Field(description="True when read from a scanned page by OCR")

    @pa.check("amounts_yen", element_wise=True, name="is_list_of_int")
    def _amounts(cls, value: object) -> bool:  # noqa: N805
        return _is_int_list(value)

    @pa.check("rates", element_wise=True, name="is_list_of_fractions")
    def _rates(cls, value: object) -> bool:  # noqa: N805
        return _is_fraction_list(value)


class Tables(Provenanced):
    """Every cell of every ruled table, for any document (page/bbox: the cell)."""

    table_id: Series[str] = pa.Field(description="Stable id: <doc_id>#p<page>t<n>, n top to bottom on the page")
    row: Series[int] = pa.Field(ge=0, description="0-based row where the cell starts")
    col: Series[int] = pa.Field(ge=0, description="0-based column where the cell starts")
    row_span: Series[int] = pa.Field(ge=1, description="Rows the cell covers")
    col_span: Series[int] = pa.Field(ge=1, description="Columns the cell covers")
    n_rows: Series[int] = pa.Field(ge=1, description="Rows in the table")
    n_cols: Series[int] = pa.Field(ge=1, description="Columns in the table")
    text_raw: Series[str] = pa.Field(description="Cell text as printed, lines joined without separator")
    is_header: Series[bool] = pa.Field(description="Cell is in the header rows at the top")
    symbol: Series[str] = pa.Field(nullable=True, description="The symbol (●○◎△×−...) when the cell holds only that")
    ocr: Series[bool] = pa.Field(description="True when the grid was read from a scanned image")


NARRATIVE_DATASETS = [
    DatasetSpec("sections", Sections, ("doc_id", "section_id"), "Heading tree of each document with section text"),
    DatasetSpec("footnotes", Footnotes, ("doc_id", "footnote_id"), "Footnotes and ※ notes linked to sections"),
    DatasetSpec("notices", Notices, ("doc_id", "notice_id"), "Letterheads of administrative notices"),
    DatasetSpec("notice_items", NoticeItems, ("doc_id", "item_id"), "Numbered items of notices with amounts and rates"),
    DatasetSpec("tables", Tables, ("doc_id", "table_id", "row", "col"), "Cells of every ruled table"),
]
# --- end narrative ---


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec("documents", Documents, ("doc_id",), "Source documents read in the run"),
        DatasetSpec("consortia", Consortia, ("doc_id", "row"), "Rows of consortium × theme matrices"),
        DatasetSpec("theme_marks", ThemeMarks, ("doc_id", "row", "theme"), "Marked cells of those matrices"),
        DatasetSpec("consortium_issues", ConsortiumIssues, ("doc_id", "row"), "Themes and issues per consortium"),
        DatasetSpec("report_statements", ReportStatements, ("doc_id", "statement", "round"), "Counts reports state about themselves"),
        DatasetSpec("failures", Failures, ("doc_id", "stage"), "Documents that failed, with the reason"),
        *NARRATIVE_DATASETS,
    ]
}


def empty_frame(name: str) -> pd.DataFrame:
    """A zero-row frame with the dataset's columns, for documents that yield nothing."""
    return pd.DataFrame({col: pd.Series(dtype="object") for col in DATASETS[name].columns})
