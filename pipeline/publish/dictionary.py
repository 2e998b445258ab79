"""The data dictionary, docs/datasets.md, generated from pipeline/model/schema.py.

    python -m pipeline.publish.dictionary          # rewrite docs/datasets.md
    python -m pipeline.publish.dictionary --check  # exit 1 when it is out of date (a test runs this)

Every dataset's columns, their Table Schema and Parquet types, constraints
and meaning come from the schema through pipeline.model.columns, the same source
as datapackage.json and the Parquet field metadata, so the three never
disagree. Only what the schema cannot say (how to read the MLIT matrix) is
written here.
"""

from __future__ import annotations

import argparse
import sys

from pipeline import REPO_ROOT
from pipeline.model.columns import ColumnType, column_types
from pipeline.publish.datapackage import LICENSE
from pipeline.model.records import KEY_SEPARATOR
from pipeline.model.schema import DATASETS, PROVENANCE_COLUMNS, SCHEMA_VERSION, DatasetSpec

DICTIONARY = REPO_ROOT / "docs" / "datasets.md"

# Read from the report (mlit_r7_senkoteki, pages 3-5), not assumed: the matrix prints no legend,
# so this says what its headers and its own definitions establish, and what the data shows.
MATRIX_MARKS = """\
## Reading the MLIT matrix: ● and ○

The consortium × theme matrix of 令和7年度 二地域居住先導的プロジェクト実装事業 (一覧表, pages 4-5 of
`samples/mlit_r7_senkoteki.pdf`) prints **no legend** for its marks. What they mean follows from the
table's own headers and from the report's definitions:

- The mark columns sit under two spanning headers, kept in `theme_marks.group`:
  **中長期的課題** (経費削減, 生活環境, 住民票/税) and **取組テーマ** (域内交通, 教育/保育, 防災, コミュニティ,
  産業/仕事, 住まい, プラットフォーム, 拠点整備, マーケティング, 制度検討).
- The report defines the 中長期的な課題 on page 3 (※【中長期的な課題】): ① the costs that come with living in
  two regions (travel, stays, internet); ② the living environment (local transport, shopping, medical and
  welfare services, childcare and education); ③ taxes and the residence register (住民票). The three
  中長期的課題 columns are these three issues, in that order; the project scheme supports work towards solving them
  (二地域居住等における中長期的な課題※の解決に向けた先導的な取組を支援).
- In this report **● is printed only under 中長期的課題** (44 marks; one per consortium, two for one, none for
  one): the long-term issue the consortium's project addresses. **○ is printed only under 取組テーマ** (155
  marks): the themes its activities cover, as many as apply. The data keeps the glyph as printed (`mark`)
  beside its column (`group`, `theme`), so a reader never has to rely on this reading.
- In the ツアー実施 column (not a theme), ○ means a monitor tour was held and — that none was:
  `consortia.tour` is true / false.
"""


def _type(col: ColumnType) -> str:
    if col.table_type == "array":
        return f"array of {col.items}" if col.items else "array"
    if col.categorical:
        return "string (categorical)"
    return col.table_type


def _parquet(col: ColumnType) -> str:
    if col.arrow_type is None:
        return "inferred"
    return str(col.arrow_type).replace("dictionary<values=string, indices=int32, ordered=0>", "dictionary<string>")


def _constraints(col: ColumnType) -> str:
    parts = []
    if col.enum is not None:
        parts.append(" / ".join(str(v) for v in col.enum))
    names = {"minimum": "≥", "maximum": "≤", "minLength": "length ≥", "maxLength": "length ≤"}
    constraints = dict(col.constraints)
    if "minLength" in constraints and constraints.get("minLength") == constraints.get("maxLength"):
        parts.append(f"length {constraints.pop('minLength')}")
        constraints.pop("maxLength")
    for key, value in constraints.items():
        if key in names:
            parts.append(f"{names[key]} {value}")
        elif key == "pattern":
            parts.append(f"matches `{value}`")
        elif key == "unique":
            parts.append("unique")
    return "; ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def dataset_section(spec: DatasetSpec) -> str:
    lines = [f"## `{spec.name}`", "", f"{spec.model.__doc__.strip() if spec.model.__doc__ else spec.description}", ""]
    lines.append(f"Key: `{', '.join(spec.key)}` (as one string: `{KEY_SEPARATOR.join('<' + k + '>' for k in spec.key)}`).")
    if spec.clean_fields:
        lines.append(f"Cleaned by the text stage: {', '.join(f'`{c}`' for c in spec.clean_fields)} (each into the column without `_raw`).")
    lines += ["", "| column | type | Parquet | required | values | meaning |", "|---|---|---|---|---|---|"]
    for col in column_types(spec):
        if col.name in PROVENANCE_COLUMNS and col.name != "doc_id" and spec.name not in ("documents", "failures"):
            continue  # listed once, below the conventions
        lines.append(
            f"| `{col.name}` | {_type(col)} | {_cell(_parquet(col))} | {'yes' if col.required else ''} | "
            f"{_cell(_constraints(col))} | {_cell(col.description)} |"
        )
    return "\n".join(lines) + "\n"


def _provenance_section() -> str:
    spec = DATASETS["consortia"]
    cols = [c for c in column_types(spec) if c.name in PROVENANCE_COLUMNS]
    lines = [
        "## Columns on every row",
        "",
        "Every dataset but `documents` and `failures` also has these (left out of the tables below):",
        "",
        "| column | type | Parquet | required | values | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for col in cols:
        lines.append(f"| `{col.name}` | {_type(col)} | {_cell(_parquet(col))} | {'yes' if col.required else ''} | {_cell(_constraints(col))} | {_cell(col.description)} |")
    return "\n".join(lines) + "\n"


def render() -> str:
    head = f"""\
# Datasets

<!-- Generated by `python -m pipeline.publish.dictionary` from pipeline/model/schema.py; edit the schema, not this file. -->

Schema version {SCHEMA_VERSION}. Every release (`outputs/releases/<run_id>/`) holds one Parquet file per dataset
below and a Frictionless `datapackage.json` with the same fields, types, constraints and primary keys. Each
Parquet column carries its meaning as field metadata (`description`); each file carries the licence
(`nichiiki:license`: {LICENSE['name']}) and the schema version (`nichiiki:schema_version`).

- **Types**: dates are Parquet DATE, times TIMESTAMP in UTC; *categorical* columns (closed vocabularies) are
  dictionary-encoded and load as pandas `category`; lists are Parquet lists.
- **Keys**: one format everywhere a row is pointed at: the row's key values joined by `{KEY_SEPARATOR}`. A matrix row
  is `<doc_id>{KEY_SEPARATOR}<row>`, so `consortia.consortium_id`, `theme_marks.consortium_id` and `places.record_key`
  (where `places.dataset = 'consortia'`) join as they are:

  ```sql
  -- which consortia in 北海道 have ● in 域内交通 (no ● is printed there in the 令和7 report: try ○)
  select c.consortium_name from 'consortia.parquet' c join 'theme_marks.parquet' m using (consortium_id)
  where c.prefecture = '北海道' and m.theme = '域内交通' and m.mark = '○'
  ```
  Ids that name a part of one document (`section_id` = `<doc_id>#s<n>`, `table_id`, `item_id`, ...) are
  names, not pointers; `places.record_key` and `corrections.record_key` point at those rows with the same
  key format (`<doc_id>|<section_id>`).
- **Nulls** are Parquet nulls; an empty string is a value.

"""
    parts = [head, MATRIX_MARKS, "\n", _provenance_section()]
    for spec in DATASETS.values():
        parts += ["\n", dataset_section(spec)]
    return "".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.publish.dictionary", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/datasets.md is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = DICTIONARY.read_text(encoding="utf-8") if DICTIONARY.exists() else ""
        if current != text:
            print(f"{DICTIONARY} is out of date: run python -m pipeline.publish.dictionary", file=sys.stderr)
            return 1
        return 0
    DICTIONARY.write_text(text, encoding="utf-8")
    print(f"wrote {DICTIONARY}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
