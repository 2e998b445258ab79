"""Every published dataset: its columns, their meaning, their checks, its key.

This is the only module that spells dataset columns. Extractors produce
records with these names, the publisher validates against these models, the
diff tool keys rows with ``DatasetSpec.key`` and the data package descriptor
(datapackage.json) is generated from the descriptions here.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from typing import Annotated

import pandas as pd


def _import_pandera_for_pandas_only() -> None:
    """Import pandera without the optional back-ends it finds installed and these models never use.

    When it first builds a schema, pandera imports dask.dataframe to recognise Dask annotations
    (Dask is installed for the runner) and hypothesis for data generation (installed for the
    tests): ~2 s of CPU in every process that validates or orders columns, for models that
    annotate pandas frames and generate nothing. Both are hidden only while pandera's own
    modules load, so they stay importable for everything else; a process that has already
    imported them (the test runner's hypothesis plugin) keeps pandera's full behaviour.
    """
    hidden = [name for name in ("dask.dataframe", "hypothesis") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  (import of it raises ImportError)
    try:
        import pandera.backends.pandas.builtin_checks  # noqa: F401  (imports the strategies module)
        import pandera.pandas  # noqa: F401
        import pandera.typing.dask  # noqa: F401  (DASK_INSTALLED is read from this module)
    finally:
        for name in hidden:
            del sys.modules[name]
    # pandera tries ``from geopandas.array import GeometryDtype`` each time it resolves a dtype
    # (~360 times to build the schemas and validate the empty datasets). Where geopandas is not
    # installed, each try searched the import path again (13.7 ms for 365 tries, against 1.9 ms).
    # Recorded as absent, every try fails at once, as it would anyway.
    if "geopandas" not in sys.modules and importlib.util.find_spec("geopandas") is None:
        sys.modules["geopandas"] = None  # type: ignore[assignment]


_import_pandera_for_pandas_only()

import pandera.pandas as pa  # noqa: E402
from pandera import dtypes  # noqa: E402
from pandera.engines import pandas_engine  # noqa: E402
from pandera.typing import Series  # noqa: E402


@pandas_engine.Engine.register_dtype
@dtypes.immutable(init=True)
class Str(pandas_engine.STRING):
    """The dtype of every text column: pandas' ``str``, as ``Series[str]`` declares it, checked by dtype alone.

    pandera answers a column whose dtype is exactly this one with one ``True`` per element, and its
    dtype check then builds and formats a table of failure cases, empty, for every text column
    (~0.5 ms each, two fifths of a run's validation). The dtype alone decides that case; every other
    one (object columns, another string dtype) is pandera's own check, unchanged.
    """

    def check(self, pandera_dtype: dtypes.DataType, data_container: object = None) -> object:
        try:
            if pandas_engine.Engine.dtype(pandera_dtype).type == self.type:
                return True
        except TypeError:
            pass
        return super().check(pandera_dtype, data_container)

SCHEMA_VERSION = "1.0"

# Stamped on every row of every dataset by pipeline.publish.writer / records.Record.
PROVENANCE_COLUMNS = ("doc_id", "source_sha256", "page", "bbox", "extractor", "extractor_version", "run_id")

MARKS = ("●", "○")
# Declared on fields as metadata, read by pipeline/model/columns.py (Table Schema, Parquet, docs/datasets.md):
# list columns name their item type; closed vocabularies without an isin list are marked categorical
# (stored dictionary-encoded); columns with isin are categorical already.
STRINGS = {"items": "string"}
INTEGERS = {"items": "integer"}
NUMBERS = {"items": "number"}
BOX = {"items": "number", "box": True}
CATEGORICAL = {"categorical": True}
UTC_TIMESTAMP = Annotated[pd.DatetimeTZDtype, "us", "UTC"]
ISSUED_PRECISIONS = ["day", "month"]


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

    doc_id: Series[Str] = pa.Field(description="Source document id from sources.yaml")
    source_sha256: Series[Str] = pa.Field(str_matches=r"^[0-9a-f]{64}$", description="sha256 of the PDF bytes read")
    page: Series[int] = pa.Field(ge=1, description="1-based page number in the PDF")
    bbox: Series[object] = pa.Field(
        nullable=True, metadata=BOX, description="[x0, top, x1, bottom] in PDF points, origin top-left; null when not a region"
    )
    extractor: Series[Str] = pa.Field(metadata=CATEGORICAL, description="Name of the extractor that produced the row")
    extractor_version: Series[Str] = pa.Field(description="Version of that extractor")
    run_id: Series[Str] = pa.Field(description="Id of the pipeline run that published the row")

    @pa.check("bbox", element_wise=True, name="bbox_is_4_numbers")
    def _bbox_shape(cls, value: object) -> bool:  # noqa: N805 (pandera's classmethod style)
        return _is_bbox(value)

    class Config:
        strict = True
        coerce = True


class Consortia(Provenanced):
    """One row per row of a consortium × theme matrix (rows without marks included)."""

    consortium_id: Series[Str] = pa.Field(description="Stable id: <doc_id>|<row>, the row's key as places.record_key spells it")
    row: Series[int] = pa.Field(ge=1, description="1-based order of the row in the matrix, across pages")
    round: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, isin=[1, 2, 3, 4, 5], description="Selection round (1次 → 1); null when what was read is no round (see value_reviews)"
    )
    region_raw: Series[Str] = pa.Field(description="地域名 exactly as printed")
    consortium_name_raw: Series[Str] = pa.Field(description="コンソーシアム名 exactly as printed")
    tour: Series[pd.BooleanDtype] = pa.Field(nullable=True, description="ツアー実施: ○ → true, — → false")
    ocr: Series[bool] = pa.Field(description="True when the row was read from a scanned image")
    preferred: Series[bool] = pa.Field(
        description="False when this row is a second rendition (a scan) of a table also printed as text: "
        "count only preferred rows"
    )
    rendition_of: Series[Str] = pa.Field(nullable=True, description="doc_id of the preferred rendition of this table, when this is another")
    # Written by the text stage (pipeline.text.stage); the *_raw columns stay as printed.
    region: Series[Str] = pa.Field(description="地域名 cleaned, damaged place names repaired (see corrections)")
    consortium_name: Series[Str] = pa.Field(description="コンソーシアム名 cleaned (see corrections)")
    jis_codes: Series[object] = pa.Field(
        metadata=STRINGS,
        description="JIS X 0402 codes (5 digits) of the places the region names; prefecture-wide → XX000; "
        "ambiguous places are left out (see places)"
    )

    prefecture: Series[Str] = pa.Field(
        nullable=True,
        metadata=CATEGORICAL,
        description="都道府県 every place of the region lies in; null when the region spans several prefectures "
        "or names no place that could be resolved (jis_codes lists them all)",
    )

    @pa.check("jis_codes", element_wise=True, name="jis_codes_are_5_digits")
    def _jis_codes(cls, value: object) -> bool:  # noqa: N805
        return _is_str_list(value) and all(len(v) == 5 and v.isdigit() for v in value)  # type: ignore[union-attr]


class ThemeMarks(Provenanced):
    """One row per marked cell of a consortium × theme matrix."""

    consortium_id: Series[Str] = pa.Field(description="The consortia row this mark belongs to")
    row: Series[int] = pa.Field(ge=1, description="Matrix row (as consortia.row)")
    group: Series[Str] = pa.Field(nullable=True, metadata=CATEGORICAL, description="Spanning group header (中長期的課題, 取組テーマ)")
    theme_raw: Series[Str] = pa.Field(description="The sub-column header as read on this page (OCR'd on scans)")
    theme: Series[Str] = pa.Field(
        nullable=True,
        metadata=CATEGORICAL,
        description="The theme: one of the table's own names (a scan's header matched to its vocabulary); empty when none fits",
    )
    theme_match: Series[Str] = pa.Field(
        isin=["exact", "vote", "lexicon", "vocabulary", "none"],
        description="How theme was chosen: as printed, by the header's readings on several pages, by the lexicon, "
        "by the same table printed as text (another rendition), or none",
    )
    mark: Series[Str] = pa.Field(
        isin=list(MARKS), description="● or ○ as printed, glyph variants unified (docs/datasets.md: what each marks in the MLIT matrix)"
    )
    mark_source: Series[Str] = pa.Field(isin=["glyph", "shape", "pixels"], description="How the mark was read")
    confidence: Series[float] = pa.Field(ge=0, le=1, description="Reader confidence for the mark")
    preferred: Series[bool] = pa.Field(description="As consortia.preferred: False on a second rendition of the same table")
    rendition_of: Series[Str] = pa.Field(nullable=True, description="As consortia.rendition_of")


class ConsortiumIssues(Provenanced):
    """The second 一覧表: each consortium's themes and the regional issues it addresses."""

    consortium_id: Series[Str] = pa.Field(nullable=True, description="Linked consortia row; null when unlinkable")
    row: Series[int] = pa.Field(ge=1, description="1-based order in this table, across pages")
    round: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, isin=[1, 2, 3, 4, 5], description="Selection round; null when what was read is no round (see value_reviews)"
    )
    consortium_name_raw: Series[Str] = pa.Field(description="Name exactly as printed in this table")
    consortium_name: Series[Str] = pa.Field(description="The name cleaned by the text stage (see corrections)")
    themes_raw: Series[Str] = pa.Field(description="二地域居住を進める上でのテーマ as printed")
    themes: Series[object] = pa.Field(metadata=STRINGS, description="themes_raw split on 、 and ・")
    issues_raw: Series[Str] = pa.Field(description="解決しようとした地域課題 as printed")
    issues: Series[object] = pa.Field(metadata=STRINGS, description="issues_raw split on 、 and ・")
    link_method: Series[Str] = pa.Field(isin=["exact", "fuzzy", "order", "none"], description="How the link was made")
    link_score: Series[float] = pa.Field(ge=0, le=1, description="Name similarity of the link")

    @pa.check("themes", "issues", element_wise=True, name="is_list_of_str")
    def _lists(cls, value: object) -> bool:  # noqa: N805
        return _is_str_list(value)


class ReportStatements(Provenanced):
    """Counts a report states about itself (計44団体, 1次募集 … 26採択), used as checks."""

    statement: Series[Str] = pa.Field(isin=["consortia_total", "consortia_in_round", "tour_organisations", "tour_participants_total"], description="What is counted")
    round: Series[pd.Int64Dtype] = pa.Field(nullable=True, description="Selection round, for per-round counts")
    value: Series[int] = pa.Field(ge=0, description="The number the report states")
    text_raw: Series[Str] = pa.Field(description="The line the statement was read from")
    text: Series[Str] = pa.Field(description="That line cleaned by the text stage")


class Documents(pa.DataFrameModel):
    """One row per source document that was read."""

    doc_id: Series[Str] = pa.Field(unique=True, description="Id from sources.yaml")
    sha256: Series[Str] = pa.Field(str_matches=r"^[0-9a-f]{64}$", description="sha256 of the PDF bytes")
    url: Series[Str] = pa.Field(nullable=True, description="Where the PDF is published")
    local_path: Series[Str] = pa.Field(nullable=True, description="Bundled sample used when not fetched")
    publisher: Series[Str] = pa.Field(metadata=CATEGORICAL, description="MLIT, MIC, JOIN, ...")
    title: Series[Str] = pa.Field(description="Title from the registry")
    issued: Series[pa.Date] = pa.Field(nullable=True, description="Issue date; the first day of the month when only the month is known")
    issued_precision: Series[Str] = pa.Field(
        nullable=True, isin=ISSUED_PRECISIONS, description="day, or month when the registry gives only YYYY-MM"
    )
    pages: Series[int] = pa.Field(ge=1, description="Page count")
    producer: Series[Str] = pa.Field(description="PDF producer from the file's metadata")
    ocr_needed: Series[bool] = pa.Field(description="True when some page has no text layer")
    ocr_engine: Series[Str] = pa.Field(
        nullable=True, description="The OCR engine and model that read its image-only pages (name, model files, digest); empty when none"
    )
    fetched_at: Series[UTC_TIMESTAMP] = pa.Field(description="When the bytes were obtained (UTC)")
    stale: Series[bool] = pa.Field(
        description="True when this run could not fetch or extract the document, so its rows are the last published ones"
    )
    stale_reason: Series[Str] = pa.Field(nullable=True, description="Why the document's rows are stale: the failure of this run")
    run_id: Series[Str] = pa.Field(description="Run that published the row")

    class Config:
        strict = True
        coerce = True


class Failures(pa.DataFrameModel):
    """Quarantine: one row per document that failed a stage, or per step of a published document that failed."""

    doc_id: Series[Str] = pa.Field(description="Id from sources.yaml")
    source: Series[Str] = pa.Field(description="URL or path that was read")
    sha256: Series[Str] = pa.Field(nullable=True, description="sha256 of the bytes, when they were obtained")
    stage: Series[Str] = pa.Field(
        metadata=CATEGORICAL,
        description="fetch, parse, extract (the whole document failed); extract:<extractor>, link, text (only that "
        "step failed: the document's other datasets are published)",
    )
    error_class: Series[Str] = pa.Field(metadata=CATEGORICAL, description="Exception class")
    message: Series[Str] = pa.Field(description="What went wrong, naming the source")
    failed_at: Series[UTC_TIMESTAMP] = pa.Field(description="When the failure was recorded (UTC)")
    page: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=1, description="Page the failed step was reading, when known")
    run_id: Series[Str] = pa.Field(description="Run that recorded the failure")

    class Config:
        strict = True
        coerce = True


# --- text stage (pipeline.text) -------------------------------------------------------------

PLACE_KINDS = ["prefecture", "municipality", "region"]
PLACE_METHODS = ["exact", "fuzzy", "context"]


class Corrections(Provenanced):
    """Every change the text stage made to a published text field, with the rule that made it."""

    dataset: Series[Str] = pa.Field(metadata=CATEGORICAL, description="Dataset of the changed field")
    record_key: Series[Str] = pa.Field(description="Key values of the changed row, joined by '|'")
    field: Series[Str] = pa.Field(metadata=CATEGORICAL, description="The *_raw column that was cleaned")
    seq: Series[int] = pa.Field(
        ge=0,
        description="Order of the change among the field's changes: one row per occurrence; replacing, in seq order, "
        "the first remaining occurrence of raw by corrected turns the raw field into the cleaned one",
    )
    raw: Series[Str] = pa.Field(description="The text as printed (with a character of context for layout rules)")
    corrected: Series[Str] = pa.Field(description="What it became")
    rule: Series[Str] = pa.Field(metadata=CATEGORICAL, description="nfkc, unified_ideograph, kyujitai, spurious_space, line_join, place_fuzzy, ...")
    confidence: Series[float] = pa.Field(ge=0, le=1, description="How sure the rule is")


class Places(Provenanced):
    """Place-name mentions in published text, resolved to JIS X 0402 codes or flagged ambiguous."""

    dataset: Series[Str] = pa.Field(metadata=CATEGORICAL, description="Dataset the mention was found in")
    record_key: Series[Str] = pa.Field(description="Key values of that row, joined by '|'")
    field: Series[Str] = pa.Field(metadata=CATEGORICAL, description="Column the mention was found in")
    start: Series[int] = pa.Field(ge=0, description="Character offset of the mention in the cleaned text")
    raw: Series[Str] = pa.Field(description="The mention as printed")
    name: Series[Str] = pa.Field(nullable=True, description="Official name; null when candidates differ in name")
    prefecture: Series[Str] = pa.Field(nullable=True, metadata=CATEGORICAL, description="Prefecture; null when candidates differ")
    jis_code: Series[Str] = pa.Field(
        nullable=True, str_matches=r"^\d{5}$", description="5-digit JIS X 0402 code; null when ambiguous or a region"
    )
    kind: Series[Str] = pa.Field(isin=PLACE_KINDS, description="prefecture | municipality | region")
    method: Series[Str] = pa.Field(isin=PLACE_METHODS, description="exact | fuzzy (look-alike repair) | context")
    confidence: Series[float] = pa.Field(ge=0, le=1, description="How sure the resolution is")
    ambiguous: Series[bool] = pa.Field(description="True when the evidence could not decide between candidates")
    candidates: Series[object] = pa.Field(metadata=STRINGS, description="'code prefecture+name' of the candidates considered, best first")

    @pa.check("candidates", element_wise=True, name="candidates_are_str_list")
    def _candidates(cls, value: object) -> bool:  # noqa: N805
        return _is_str_list(value)


# --- tables4: case studies, monitor tours, budget items, expert opinions ---------------------------

LINK_METHODS = ["exact", "fuzzy", "place", "none"]  # place: linked by place agreement alone (flagged)


class CaseStudies(Provenanced):
    """One row per 主な事例 block under a theme heading, linked to a consortia row where possible."""

    case_id: Series[int] = pa.Field(ge=1, description="1-based order of the case in the document")
    theme: Series[Str] = pa.Field(description="Theme heading the case sits under (…に関する取組), symbols stripped")
    place_raw: Series[Str] = pa.Field(nullable=True, description="Place as printed before the name (新潟県三条市, 複数地域)")
    place: Series[Str] = pa.Field(nullable=True, description="Cleaned place; null when none was printed")
    prefecture: Series[Str] = pa.Field(nullable=True, metadata=CATEGORICAL, description="都道府県 read from place_raw")
    municipality: Series[Str] = pa.Field(nullable=True, description="市区町村 (or 地域) read from place_raw")
    consortium_name_raw: Series[Str] = pa.Field(description="Consortium name exactly as printed in the case")
    consortium_name: Series[Str] = pa.Field(description="Cleaned consortium name (corrections lists every change)")
    description: Series[Str] = pa.Field(description="The case's text, lines joined")
    consortium_id: Series[Str] = pa.Field(nullable=True, description="Linked consortia row; null when unlinkable")
    link_method: Series[Str] = pa.Field(isin=LINK_METHODS, description="How the link was made")
    link_score: Series[float] = pa.Field(ge=0, le=1, description="Name similarity of the best candidate")
    flag: Series[bool] = pa.Field(description="True when the link is missing or contradicted")
    flag_reason: Series[Str] = pa.Field(nullable=True, description="Why the row is flagged, with both values")


class Tours(Provenanced):
    """One row per reported monitor tour (a named panel or a participant-attribute table)."""

    tour_id: Series[int] = pa.Field(ge=1, description="1-based order of the tour report in the document")
    consortium_name_raw: Series[Str] = pa.Field(nullable=True, description="Consortium named on the report; null if none")
    consortium_name: Series[Str] = pa.Field(nullable=True, description="Cleaned consortium name; null when none was named")
    participants: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0, description="Participants as stated (名)")
    participants_male: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0, description="Male participants")
    participants_female: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0, description="Female participants")
    households: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0, description="Participating households (世帯)")
    stay_days: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0, description="Total stay days (総滞在日数)")
    table_total: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, ge=0, description="Grand total of the attribute table, when there is one (may count representatives only)"
    )
    consortium_id: Series[Str] = pa.Field(nullable=True, description="Linked consortia row; null when unlinkable")
    link_method: Series[Str] = pa.Field(isin=LINK_METHODS, description="How the link was made")
    link_score: Series[float] = pa.Field(ge=0, le=1, description="Name similarity of the best candidate")
    flag: Series[bool] = pa.Field(description="True when the link is missing or contradicted")
    flag_reason: Series[Str] = pa.Field(nullable=True, description="Why the row is flagged")


class TourAgeCounts(Provenanced):
    """Participants of one tour by sex and age band, from its attribute table."""

    tour_id: Series[int] = pa.Field(ge=1, description="The tours row")
    sex: Series[Str] = pa.Field(isin=["male", "female", "total"], description="Row of the table (男性/女性/合計)")
    age_band_raw: Series[Str] = pa.Field(description="Column header as printed (20代, 50代以上, 合計)")
    age_min: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0, description="Lowest age of the band; null for 合計")
    age_max: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0, description="Highest age; null when open (以上) or 合計")
    count: Series[int] = pa.Field(ge=0, description="Persons")


class BudgetItems(Provenanced):
    """One row per item of a budget table; merged 分野 cells repeated on each row."""

    item_no: Series[int] = pa.Field(ge=1, description="1-based order of the item in the document")
    table_row: Series[int] = pa.Field(ge=0, description="Row of the item in its grid on this page (0 = top row; a header is row 0)")
    field: Series[Str] = pa.Field(nullable=True, description="分野, repeated over merged cells")
    item: Series[Str] = pa.Field(description="予算（項目） as printed")
    description: Series[Str] = pa.Field(nullable=True, description="内容 as printed; null when the cell is empty")
    target: Series[Str] = pa.Field(nullable=True, description="主な対象者 as printed")
    amount_text: Series[Str] = pa.Field(nullable=True, description="Amount cell as printed")
    amount_yen: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0, description="Amount in yen (百万円, 億円 applied)")
    is_portion: Series[bool] = pa.Field(description="True for の内数: amount_yen is the larger programme's amount")
    amount_header: Series[Str] = pa.Field(description="Header of the amount column (which budget: R7当初予算)")


class ExpertOpinions(Provenanced):
    """One row per ・ opinion under a ● topic, under its category heading."""

    opinion_no: Series[int] = pa.Field(ge=1, description="1-based order of the opinion in the document")
    category: Series[Str] = pa.Field(nullable=True, description="Category heading (実践者に関するご意見)")
    topic: Series[Str] = pa.Field(description="● topic, without the ●")
    opinion: Series[Str] = pa.Field(description="The opinion, lines joined, without the ・")


@dataclass(frozen=True)
class DatasetSpec:
    """A published dataset: its model, the columns that identify a row, and what it is."""

    name: str
    model: type[pa.DataFrameModel]
    key: tuple[str, ...]
    description: str
    # *_raw text columns the text stage cleans into the column without the suffix
    clean_fields: tuple[str, ...] = ()

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

    section_id: Series[Str] = pa.Field(description="Stable id: <doc_id>#s<n>, n in reading order")
    parent_id: Series[Str] = pa.Field(nullable=True, description="Enclosing section; null at the top level")
    level: Series[int] = pa.Field(ge=0, description="0 = top; levels follow the order numbering kinds appear in the document")
    kind: Series[Str] = pa.Field(
        description="How the heading was recognised: decimal, paren_number, circled, chapter, bullet_filled, "
        "slide_title, style:<size>:<B|R> (unnumbered, by font), preamble (text before the first heading), ..."
    )
    label: Series[Str] = pa.Field(description="Numbering label as printed (（1）, ①, 1.), empty when unnumbered")
    heading_raw: Series[Str] = pa.Field(description="Heading as printed, label included; lines joined by newline")
    heading: Series[Str] = pa.Field(description="Cleaned heading (the text stage fills it; raw until then)")
    text_raw: Series[Str] = pa.Field(description="Body text up to the next heading, lines joined by newline, as printed")
    text: Series[Str] = pa.Field(description="Cleaned body text (the text stage fills it; raw until then)")
    page_start: Series[int] = pa.Field(ge=1, description="First page of the section")
    page_end: Series[int] = pa.Field(ge=1, description="Last page holding its heading or text")
    ocr: Series[bool] = pa.Field(description="True when read from a scanned page by OCR")


class Footnotes(Provenanced):
    """Footnote bodies and ※ notes, linked to their marker and section (page/bbox: the body)."""

    footnote_id: Series[Str] = pa.Field(description="Stable id: <doc_id>#f<n>")
    section_id: Series[Str] = pa.Field(nullable=True, description="Section holding the marker (or the note)")
    kind: Series[Str] = pa.Field(isin=["superscript", "note"], description="superscript marker + body, or a ※ note line")
    label: Series[Str] = pa.Field(description="Marker label: 1, 2, *, ※")
    text_raw: Series[Str] = pa.Field(description="Footnote text as printed")
    text: Series[Str] = pa.Field(description="Cleaned text (the text stage fills it; raw until then)")
    marker_page: Series[pd.Int64Dtype] = pa.Field(nullable=True, description="Page of the superscript marker; null if none found")
    marker_bbox: Series[object] = pa.Field(nullable=True, metadata=BOX, description="Box of the marker glyph(s), PDF points")

    @pa.check("marker_bbox", element_wise=True, name="bbox_is_4_numbers")
    def _marker_bbox(cls, value: object) -> bool:  # noqa: N805
        return _is_bbox(value)


class Notices(Provenanced):
    """One row per administrative notice (通知, 事務連絡): its letterhead."""

    notice_id: Series[Str] = pa.Field(description="Stable id: <doc_id>#n1")
    doc_numbers: Series[object] = pa.Field(metadata=STRINGS, description="Document numbers as printed (總行政第71号, ...)")
    date_raw: Series[Str] = pa.Field(nullable=True, description="Date as printed (令和7年4月2日)")
    date: Series[pa.Date] = pa.Field(nullable=True, description="The printed date in the Gregorian calendar")
    addressee: Series[Str] = pa.Field(description="To whom (… 殿), with the handling desks below it")
    issuer: Series[Str] = pa.Field(description="Issuing office and officials, one per line")
    title_raw: Series[Str] = pa.Field(description="Title as printed")
    title: Series[Str] = pa.Field(description="Cleaned title (the text stage fills it; raw until then)")
    preface_raw: Series[Str] = pa.Field(description="Text between the title and 記")
    preface: Series[Str] = pa.Field(description="Cleaned preface (corrections lists every change)")
    ocr: Series[bool] = pa.Field(description="True when read from a scanned page by OCR")

    @pa.check("doc_numbers", element_wise=True, name="is_list_of_str")
    def _numbers(cls, value: object) -> bool:  # noqa: N805
        return _is_str_list(value)


class NoticeItems(Provenanced):
    """The numbered items of a notice as a tree (1 > （1） > ① > 例）), with the amounts and rates they set."""

    notice_id: Series[Str] = pa.Field(description="The notices row")
    item_id: Series[Str] = pa.Field(description="Stable id: <doc_id>#i<n>, n in reading order")
    parent_id: Series[Str] = pa.Field(nullable=True, description="Enclosing item; null at the top level")
    level: Series[int] = pa.Field(ge=0, description="0 = top; from the order label kinds appear")
    kind: Series[Str] = pa.Field(description="Label kind: decimal, paren_number, circled, example, bullet_open, style:<size>:<B|R>")
    label: Series[Str] = pa.Field(description="Label as printed; empty for unnumbered headings")
    text_raw: Series[Str] = pa.Field(description="Item text without its label, lines joined by newline")
    text: Series[Str] = pa.Field(description="Cleaned text (the text stage fills it; raw until then)")
    amounts_yen: Series[object] = pa.Field(metadata=INTEGERS, description="Yen amounts in the item (500万円 → 5000000), in order")
    rates: Series[object] = pa.Field(metadata=NUMBERS, description="Named rates as fractions (措置率は0.5 → 0.5, 補助率1/2 → 0.5)")
    ocr: Series[bool] = pa.Field(description="True when read from a scanned page by OCR")

    @pa.check("amounts_yen", element_wise=True, name="is_list_of_int")
    def _amounts(cls, value: object) -> bool:  # noqa: N805
        return _is_int_list(value)

    @pa.check("rates", element_wise=True, name="is_list_of_fractions")
    def _rates(cls, value: object) -> bool:  # noqa: N805
        return _is_fraction_list(value)


class Tables(Provenanced):
    """Every cell of every ruled table, for any document (page/bbox: the cell)."""

    table_id: Series[Str] = pa.Field(description="Stable id: <doc_id>#p<page>t<n>, n top to bottom on the page")
    row: Series[int] = pa.Field(ge=0, description="0-based row where the cell starts")
    col: Series[int] = pa.Field(ge=0, description="0-based column where the cell starts")
    row_span: Series[int] = pa.Field(ge=1, description="Rows the cell covers")
    col_span: Series[int] = pa.Field(ge=1, description="Columns the cell covers")
    n_rows: Series[int] = pa.Field(ge=1, description="Rows in the table")
    n_cols: Series[int] = pa.Field(ge=1, description="Columns in the table")
    text_raw: Series[Str] = pa.Field(description="Cell text as printed, lines joined without separator")
    text: Series[Str] = pa.Field(description="Cleaned cell text (corrections lists every change)")
    is_header: Series[bool] = pa.Field(description="Cell is in the header rows at the top")
    symbol: Series[Str] = pa.Field(nullable=True, description="The symbol (●○◎△×−...) when the cell holds only that")
    ocr: Series[bool] = pa.Field(description="True when the grid was read from a scanned image")


NARRATIVE_DATASETS = [
    DatasetSpec(
        "sections", Sections, ("doc_id", "section_id"), "Heading tree of each document with section text",
        clean_fields=("heading_raw", "text_raw"),
    ),
    DatasetSpec(
        "footnotes", Footnotes, ("doc_id", "footnote_id"), "Footnotes and ※ notes linked to sections",
        clean_fields=("text_raw",),
    ),
    DatasetSpec(
        "notices", Notices, ("doc_id", "notice_id"), "Letterheads of administrative notices",
        clean_fields=("title_raw", "preface_raw"),
    ),
    DatasetSpec(
        "notice_items", NoticeItems, ("doc_id", "item_id"), "Numbered items of notices with amounts and rates",
        clean_fields=("text_raw",),
    ),
    DatasetSpec(
        "tables", Tables, ("doc_id", "table_id", "row", "col"), "Cells of every ruled table",
        clean_fields=("text_raw",),
    ),
]
# --- end narrative ---


# --- matrix cells a person should check ---
class CellReviews(Provenanced):
    """Matrix body cells whose reading is uncertain, listed instead of silently guessed."""

    consortium_id: Series[Str] = pa.Field(description="The consortia row the cell belongs to")
    row: Series[int] = pa.Field(ge=1, description="Matrix row (as consortia.row)")
    col: Series[int] = pa.Field(ge=0, description="0-based column of the cell in its grid")
    column: Series[Str] = pa.Field(description="The column's header as read (OCR'd on scans)")
    reason: Series[Str] = pa.Field(description="Why: low confidence (pixels / OCR), glyph and shape in one cell, unknown shape")
    mark: Series[Str] = pa.Field(nullable=True, isin=["●", "○", "—"], description="The mark read, if any")
    mark_source: Series[Str] = pa.Field(nullable=True, isin=["glyph", "shape", "pixels"], description="How it was read")
    confidence: Series[float] = pa.Field(ge=0, le=1, description="Reader confidence for the cell")


SCANMARKS_DATASETS = [
    DatasetSpec("cell_reviews", CellReviews, ("doc_id", "row", "col"), "Matrix cells to check by eye, with the reason"),
]
# --- end matrix cells to check ---


# --- row-level validation: values that broke a column check ---
VALUE_REVIEW_ACTIONS = ["nulled", "row_dropped"]


class ValueReviews(pa.DataFrameModel):
    """Values that broke their column's check: published as null (or, in a key column, their row left out)."""

    doc_id: Series[Str] = pa.Field(nullable=True, description="Document of the row; null when that was what failed")
    dataset: Series[Str] = pa.Field(metadata=CATEGORICAL, description="Dataset of the value")
    record_key: Series[Str] = pa.Field(description="Key values of the row as read, joined by '|'")
    column: Series[Str] = pa.Field(description="Column of the value")
    raw_value: Series[Str] = pa.Field(nullable=True, description="The value as extracted, as text; null when it was missing")
    failed_check: Series[Str] = pa.Field(
        description="The checks it broke, as pandera names them, joined by '; ' (isin([1, 2, 3, 4, 5]), coerce_dtype('int64'), ...)"
    )
    action: Series[Str] = pa.Field(isin=VALUE_REVIEW_ACTIONS, description="nulled: published as null; row_dropped: the row was left out (key or non-nullable column)")
    page: Series[pd.Int64Dtype] = pa.Field(nullable=True, description="Page of the row, when it had one")
    bbox: Series[object] = pa.Field(nullable=True, metadata=BOX, description="Box of the row, PDF points")
    extractor: Series[Str] = pa.Field(nullable=True, metadata=CATEGORICAL, description="Extractor that produced the row")
    run_id: Series[Str] = pa.Field(description="Run that reviewed the value")

    @pa.check("bbox", element_wise=True, name="bbox_is_4_numbers")
    def _bbox_shape(cls, value: object) -> bool:  # noqa: N805
        return _is_bbox(value)

    class Config:
        strict = True
        coerce = True


REVIEW_DATASETS = [
    DatasetSpec(
        "value_reviews", ValueReviews, ("doc_id", "dataset", "record_key", "column"),
        "Values that broke a column check, published as null or their row left out",
    ),
]
# --- end row-level validation ---


# --- marks: every mark table of any document ---
MARK_CLASSES = ("◎", "●", "○", "△", "×", "✓", "—")


class Marks(Provenanced):
    """One row per marked cell of any mark table (page/bbox: the cell); empty cells are not rows."""

    table_id: Series[Str] = pa.Field(description="<doc_id>#p<page>t<n>, n top to bottom (as tables.table_id); a continued table keeps its first page's id")
    row: Series[int] = pa.Field(ge=0, description="0-based body row of the table (header rows not counted), across pages")
    col: Series[int] = pa.Field(ge=0, description="0-based grid column of the cell")
    row_label: Series[Str] = pa.Field(description="The row's own label: its innermost non-empty row-header cell")
    row_headers: Series[object] = pa.Field(metadata=STRINGS, description="Every row-header cell of the row, left to right, merged cells repeated")
    column_raw: Series[Str] = pa.Field(description="The leaf column header the mark sits under, as read (OCR'd on scans)")
    column: Series[Str] = pa.Field(description="column_raw cleaned; on scans OCR noise repaired by the lexicon (see corrections)")
    column_path: Series[object] = pa.Field(metadata=STRINGS, description="Column header path, from the outermost spanning header down to the leaf; on scans a header the dictionary cannot read is repaired by the lexicon (column_raw keeps the leaf as read)")
    mark_raw: Series[Str] = pa.Field(description="The mark as printed (a glyph); for drawn or scanned marks, what was seen")
    mark: Series[Str] = pa.Field(isin=list(MARK_CLASSES), description="Normalised class: ◎ ● ○ △ × ✓ —")
    mark_source: Series[Str] = pa.Field(isin=["glyph", "shape", "pixels"], description="How the mark was read")
    confidence: Series[float] = pa.Field(ge=0, le=1, description="Reader confidence for the mark")
    ocr: Series[bool] = pa.Field(description="True when the table was read from a scanned image")

    @pa.check("row_headers", "column_path", element_wise=True, name="is_list_of_str")
    def _lists(cls, value: object) -> bool:  # noqa: N805
        return _is_str_list(value)


class MarkTables(Provenanced):
    """One row per mark table (page/bbox: its first grid): its shape, so absent marks can be queried."""

    table_id: Series[Str] = pa.Field(description="As marks.table_id")
    n_rows: Series[int] = pa.Field(ge=1, description="Body rows (rows × columns is every cell that could hold a mark)")
    n_cols: Series[int] = pa.Field(ge=1, description="Mark columns")
    header_rows: Series[int] = pa.Field(ge=0, description="Header rows above the body (on the first page)")
    row_labels: Series[object] = pa.Field(metadata=STRINGS, description="Every body row's label, in order (row i of marks is row_labels[i])")
    columns: Series[object] = pa.Field(metadata=STRINGS, description="Every mark column's path joined with ' / ', left to right")
    n_marks: Series[int] = pa.Field(ge=0, description="Marked cells (rows in marks)")
    pages: Series[object] = pa.Field(metadata=INTEGERS, description="Pages the table spans")
    ocr: Series[bool] = pa.Field(description="True when read from a scanned image")

    @pa.check("row_labels", "columns", element_wise=True, name="is_list_of_str")
    def _lists(cls, value: object) -> bool:  # noqa: N805
        return _is_str_list(value)


MARK_DATASETS = [
    DatasetSpec(
        "marks", Marks, ("doc_id", "table_id", "row", "col"), "Marked cells of every mark table (●○◎△×✓—)",
        clean_fields=("column_raw",),
    ),
    DatasetSpec("mark_tables", MarkTables, ("doc_id", "table_id"), "Shape of every mark table, so absence can be queried"),
]
# --- end marks ---


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec("documents", Documents, ("doc_id",), "Source documents read in the run"),
        DatasetSpec(
            "consortia", Consortia, ("doc_id", "row"), "Rows of consortium × theme matrices",
            clean_fields=("region_raw", "consortium_name_raw"),
        ),
        DatasetSpec("theme_marks", ThemeMarks, ("doc_id", "row", "theme"), "Marked cells of those matrices"),
        DatasetSpec(
            "consortium_issues", ConsortiumIssues, ("doc_id", "row"), "Themes and issues per consortium",
            clean_fields=("consortium_name_raw", "themes_raw", "issues_raw"),
        ),
        DatasetSpec(
            "report_statements", ReportStatements, ("doc_id", "statement", "round"), "Counts reports state about themselves",
            clean_fields=("text_raw",),
        ),
        # tables4
        DatasetSpec(
            "case_studies", CaseStudies, ("doc_id", "case_id"), "主な事例 per theme, linked to consortia",
            clean_fields=("place_raw", "consortium_name_raw"),
        ),
        DatasetSpec(
            "tours", Tours, ("doc_id", "tour_id"), "Monitor tour figures, linked to consortia",
            clean_fields=("consortium_name_raw",),
        ),
        DatasetSpec("tour_age_counts", TourAgeCounts, ("doc_id", "tour_id", "sex", "age_band_raw"), "Tour participants by sex and age band"),
        DatasetSpec("budget_items", BudgetItems, ("doc_id", "item_no"), "Budget table items with amounts in yen"),
        DatasetSpec("expert_opinions", ExpertOpinions, ("doc_id", "opinion_no"), "Expert opinions by category and topic"),
        DatasetSpec("failures", Failures, ("doc_id", "stage"), "Documents that failed, with the reason"),
        DatasetSpec(
            "corrections", Corrections, ("doc_id", "dataset", "record_key", "field", "seq"),
            "Every change the text stage made, with its rule",
        ),
        DatasetSpec(
            "places", Places, ("doc_id", "dataset", "record_key", "field", "start"),
            "Place-name mentions resolved to JIS X 0402 codes",
        ),
        *NARRATIVE_DATASETS,
        *SCANMARKS_DATASETS,
        *REVIEW_DATASETS,
        *MARK_DATASETS,
    ]
}


def empty_frame(name: str) -> pd.DataFrame:
    """A zero-row frame with the dataset's columns, for documents that yield nothing."""
    return pd.DataFrame({col: pd.Series(dtype="object") for col in DATASETS[name].columns})
