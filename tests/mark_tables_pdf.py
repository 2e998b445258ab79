"""Mark tables in the layouts Japanese government documents use, rendered with their gold.

Each layout is a header tree over mark columns, row-header columns (merged
row groups repeat their label) and a body of marks. ``render`` draws it as a
text PDF (marks typed as glyphs), a drawn PDF (marks as vector shapes, as
slides make them) or, through tests.scan_pdf, a scan. Rules between leaf
sub-columns can be solid, dotted (rows of tiny squares, as spreadsheet
exports draw them), dashed (a dash pattern) or thin filled rectangles; leaf
headers can be set one character per line. ``gold`` is what the ``marks``
dataset must hold: (row label, column path, class) per marked cell.

Used by tests/test_mark_tables.py and benchmarks/marks_tables.py only.
"""

from __future__ import annotations

import random
from pathlib import Path
from dataclasses import dataclass, field, replace

import pymupdf

from tests.scan_pdf import scan

Node = tuple[str, list]  # (label, children); a leaf has no children


@dataclass(frozen=True)
class Layout:
    name: str
    title: str
    row_titles: list[str]  # header over each row-header column
    tree: list  # list[Node]
    rows: list[list[str]]  # row-header values per row (equal neighbours in a column merge)
    marks: list[dict[int, str]]  # per row: leaf index → class
    vertical_leaves: bool = False
    leaf_rule: str = "solid"  # between leaves of one parent: solid | dotted | dashed | rect
    glyphs: dict = field(default_factory=dict)  # class → glyph printed (〇 for ○, ✔ for ✓ ...)


def leaves(tree: list, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], int]]:
    """(path, depth of the leaf's parent group) for every leaf, left to right."""
    out = []
    for label, children in tree:
        if children:
            out.extend(leaves(children, path + (label,)))
        else:
            out.append((path + (label,), len(path)))
    return out


def depth(tree: list) -> int:
    return max((1 + depth(children) if children else 1) for _, children in tree)


def gold(layout: Layout) -> list[tuple[str, tuple[str, ...], str]]:
    paths = [p for p, _ in leaves(layout.tree)]
    return [(row[-1], paths[j], m) for row, marks in zip(layout.rows, layout.marks) for j, m in sorted(marks.items())]


# ---------------------------------------------------------------- layouts

HAZARDS = ["洪水", "土砂災害", "高潮", "地震", "津波", "大規模な火事"]


def shelter_layout(seed: int = 1) -> Layout:
    """A village plan's 避難場所 × hazard table: merged 地区 groups, 〇 marks."""
    rng = random.Random(seed)
    districts = ["上町地区", "下町地区", "川原地区", "山手地区"]
    places = ["公民館", "小学校体育館", "中学校", "集会所", "運動公園", "保育所", "旧役場庁舎"]
    rows, marks = [], []
    for d in districts:
        for p in rng.sample(places, rng.randint(2, 4)):
            rows.append([d, f"{d[:2]}{p}"])
            marks.append({j: "○" for j in range(len(HAZARDS)) if rng.random() < 0.55})
    tree = [("災害の種類", [(h, []) for h in HAZARDS])]
    return Layout("shelter", "指定緊急避難場所一覧", ["地区", "避難場所"], tree, rows, marks, glyphs={"○": "〇"})


def dotted_layout(seed: int = 2) -> Layout:
    """A discussion paper's 3-level table: dotted rules between vertical leaf sub-columns."""
    rng = random.Random(seed)
    subs = ["全体", "一部", "個別"]
    tree = [
        ("取組の状況", [
            ("計画策定", [(s, []) for s in subs]),
            ("推進体制", [(s, []) for s in subs]),
            ("財源確保", [(s, []) for s in subs]),
        ]),
        ("備考欄", [("要検討", []), ("済", [])]),
    ]
    names = ["北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県", "埼玉県", "千葉県"]
    rows, marks = [], []
    n_leaves = len(leaves(tree))
    for name in names:
        rows.append([name])
        marks.append({j: "●" for j in range(n_leaves) if rng.random() < 0.45})
    return Layout("dotted", "地方公共団体の取組状況", ["団体名"], tree, rows, marks, vertical_leaves=True, leaf_rule="dotted")


def skills_layout(seed: int = 3) -> Layout:
    """A skill matrix: ◎ ○ △ × per person, departments merged."""
    rng = random.Random(seed)
    tree = [
        ("専門分野", [("防災", [("計画", []), ("訓練", [])]), ("福祉", [("高齢者", []), ("障害者", [])])]),
        ("資格", [("保健師", []), ("社会福祉士", [])]),
    ]
    people = [("総務課", "佐藤"), ("総務課", "鈴木"), ("総務課", "高橋"), ("福祉課", "田中"), ("福祉課", "伊藤"),
              ("建設課", "渡辺"), ("建設課", "山本"), ("建設課", "中村"), ("企画課", "小林")]
    rows, marks = [], []
    n_leaves = len(leaves(tree))
    for dept, person in people:
        rows.append([dept, person])
        marks.append({j: rng.choice("◎○△×") for j in range(n_leaves) if rng.random() < 0.6})
    return Layout("skills", "職員の専門分野", ["所属", "氏名"], tree, rows, marks, leaf_rule="dashed")


def checklist_layout(seed: int = 4) -> Layout:
    """A municipality checklist: ✓ and — under vertical headers, rules as thin rectangles."""
    rng = random.Random(seed)
    tree = [("実施状況", [("計画", []), ("訓練", []), ("備蓄", []), ("協定", []), ("周知", [])])]
    towns = ["音威子府村", "中頓別町", "枝幸町", "浜頓別町", "猿払村", "幌延町", "豊富町", "礼文町"]
    rows, marks = [], []
    for town in towns:
        rows.append([town])
        marks.append({j: rng.choice("✓✓✓—") for j in range(5) if rng.random() < 0.7})
    return Layout("checklist", "市町村の実施状況", ["市町村名"], tree, rows, marks, vertical_leaves=True, leaf_rule="rect")


def layouts() -> list[Layout]:
    return [shelter_layout(), dotted_layout(), skills_layout(), checklist_layout()]


# ---------------------------------------------------------------- rendering


_FONT: pymupdf.Font | None = None


# IPAGothic (Debian's fonts-ipafont-gothic, installed by scripts/setup.sh) sets marks full-width
# as government documents print them; MuPDF's built-in CJK font is the fallback.
IPA_GOTHIC = Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf")


def _font() -> pymupdf.Font:
    global _FONT
    if _FONT is None:
        _FONT = pymupdf.Font(fontfile=str(IPA_GOTHIC)) if IPA_GOTHIC.exists() else pymupdf.Font("japan")
    return _FONT


class _Page:
    def __init__(self, page: pymupdf.Page) -> None:
        self.page = page
        self.writer = pymupdf.TextWriter(page.rect)
        self.shape = page.new_shape()

    def text(self, x: float, y: float, text: str, fs: float) -> None:
        self.writer.append((x, y), text, font=_font(), fontsize=fs)

    def commit(self) -> None:
        self.shape.commit()
        self.writer.write_text(self.page)


def _rule(p: _Page, a: tuple[float, float], b: tuple[float, float], style: str) -> None:
    if style == "dotted":
        # A row of tiny filled squares, as spreadsheet exports draw dotted borders.
        (x0, y0), (x1, y1) = a, b
        n = int(max(abs(x1 - x0), abs(y1 - y0)) / 2.0)
        for k in range(n + 1):
            x, y = x0 + (x1 - x0) * k / max(n, 1), y0 + (y1 - y0) * k / max(n, 1)
            p.shape.draw_rect(pymupdf.Rect(x - 0.3, y - 0.3, x + 0.3, y + 0.3))
            p.shape.finish(color=None, fill=(0, 0, 0), width=0)
    elif style == "rect":
        (x0, y0), (x1, y1) = a, b
        p.shape.draw_rect(pymupdf.Rect(min(x0, x1) - 0.25, min(y0, y1) - 0.25, max(x0, x1) + 0.25, max(y0, y1) + 0.25))
        p.shape.finish(color=None, fill=(0, 0, 0), width=0)
    else:
        p.shape.draw_line(a, b)
        p.shape.finish(color=(0, 0, 0), width=0.6, dashes="[2 1.5] 0" if style == "dashed" else None)


def _centered(p: _Page, box: tuple[float, float, float, float], text: str, fs: float, vertical: bool = False) -> None:
    x0, y0, x1, y1 = box
    if not text:
        return
    if vertical:
        top = y0 + (y1 - y0 - len(text) * fs * 1.15) / 2 + fs
        for k, ch in enumerate(text):
            p.text((x0 + x1 - fs) / 2, top + k * fs * 1.15, ch, fs)
        return
    per_line = max(1, int((x1 - x0 - 3) / fs))
    lines = [text[i : i + per_line] for i in range(0, len(text), per_line)]
    top = y0 + (y1 - y0 - len(lines) * fs * 1.15) / 2 + fs * 0.9
    for k, line in enumerate(lines):
        p.text((x0 + x1 - len(line) * fs) / 2, top + k * fs * 1.15, line, fs)


def _drawn(p: _Page, box: tuple[float, float, float, float], mark: str, fs: float) -> None:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    r = fs * 0.42
    s = p.shape
    if mark == "●":
        s.draw_circle((cx, cy), r)
        s.finish(color=(0, 0, 0), fill=(0, 0, 0), width=0.4)
    elif mark == "○":
        s.draw_circle((cx, cy), r)
        s.finish(color=(0, 0, 0), fill=None, width=0.8)
    elif mark == "◎":
        s.draw_circle((cx, cy), r)
        s.finish(color=(0, 0, 0), fill=None, width=0.7)
        s.draw_circle((cx, cy), r * 0.5)
        s.finish(color=(0, 0, 0), fill=None, width=0.7)
    elif mark == "—":
        s.draw_rect(pymupdf.Rect(cx - r, cy - 0.4, cx + r, cy + 0.4))
        s.finish(color=None, fill=(0, 0, 0), width=0)
    elif mark == "△":
        s.draw_polyline([(cx, cy - r), (cx + r, cy + r * 0.8), (cx - r, cy + r * 0.8), (cx, cy - r)])
        s.finish(color=(0, 0, 0), fill=None, width=0.8, closePath=True)
    elif mark == "×":
        s.draw_line((cx - r, cy - r), (cx + r, cy + r))
        s.draw_line((cx + r, cy - r), (cx - r, cy + r))
        s.finish(color=(0, 0, 0), width=0.8)
    elif mark == "✓":
        s.draw_polyline([(cx - r, cy), (cx - r * 0.3, cy + r * 0.8), (cx + r, cy - r)])
        s.finish(color=(0, 0, 0), width=0.9, closePath=False)


def render(layout: Layout, mode: str = "text", fs: float = 8.0, page_size: tuple[float, float] = (842, 595)) -> bytes:
    """The table on one page as a PDF; ``mode`` is "text" (glyphs) or "drawn" (vector marks)."""
    doc = pymupdf.open()
    p = _Page(doc.new_page(width=page_size[0], height=page_size[1]))
    leaf_list = leaves(layout.tree)
    levels = depth(layout.tree)
    margin, top = 40.0, 70.0
    p.text(margin, top - 20, layout.title, 12)
    row_w = [max(60.0, fs * (max(len(r[i]) for r in layout.rows) + 1.5)) for i in range(len(layout.row_titles))]
    leaf_w = max(fs * 2.6, fs * (max(len(p_[-1]) for p_, _ in leaf_list) + 1) if not layout.vertical_leaves else 0)
    head_h = fs * 2.2
    leaf_h = fs * 1.15 * max(len(p_[-1]) for p_, _ in leaf_list) + fs if layout.vertical_leaves else head_h
    body_h = fs * 2.3
    xs = [margin]
    for w in row_w + [leaf_w] * len(leaf_list):
        xs.append(xs[-1] + w)
    ys = [top + k * head_h for k in range(levels)] + [top + (levels - 1) * head_h + leaf_h]
    first_leaf = len(row_w)

    def cell(x0, y0, x1, y1, text, vertical=False, left="solid", right="solid"):
        _rule(p, (x0, y0), (x1, y0), "solid")
        _rule(p, (x0, y1), (x1, y1), "solid")
        _rule(p, (x0, y0), (x0, y1), left)
        _rule(p, (x1, y0), (x1, y1), right)
        _centered(p, (x0, y0, x1, y1), text, fs, vertical)

    # Header: row titles span every header row; tree nodes span their leaves.
    for i, title in enumerate(layout.row_titles):
        cell(xs[i], ys[0], xs[i + 1], ys[-1], title)

    def node(tree, level, col):
        for label, children in tree:
            n = len(leaves(children)) if children else 1
            if children:
                cell(xs[first_leaf + col], ys[level], xs[first_leaf + col + n], ys[level + 1], label)
                node(children, level + 1, col)
            else:
                siblings = [c for c in tree if not c[1]]
                style = layout.leaf_rule if len(siblings) > 1 else "solid"
                k = [c[0] for c in tree].index(label)
                left = style if k > 0 and not tree[k - 1][1] else "solid"
                right = style if k + 1 < len(tree) and not tree[k + 1][1] else "solid"
                cell(xs[first_leaf + col], ys[level], xs[first_leaf + col + 1], ys[-1], label,
                     vertical=layout.vertical_leaves and level == levels - 1, left=left, right=right)
            col += n

    node(layout.tree, 0, 0)
    leaf_styles = _leaf_side_styles(layout)
    y = ys[-1]
    for r, (row, marks) in enumerate(zip(layout.rows, layout.marks)):
        for i, value in enumerate(row):
            if r > 0 and layout.rows[r - 1][: i + 1] == row[: i + 1]:
                continue  # merged into the cell above
            span = 1
            while r + span < len(layout.rows) and layout.rows[r + span][: i + 1] == row[: i + 1]:
                span += 1
            cell(xs[i], y, xs[i + 1], y + span * body_h, value)
        for j in range(len(leaf_list)):
            x0, x1 = xs[first_leaf + j], xs[first_leaf + j + 1]
            left, right = leaf_styles[j]
            mark = marks.get(j)
            cell(x0, y, x1, y + body_h, "", left=left, right=right)
            if mark is None:
                continue
            if mode == "drawn":
                _drawn(p, (x0, y, x1, y + body_h), mark, fs)
            else:
                _centered(p, (x0, y, x1, y + body_h), layout.glyphs.get(mark, mark), fs)
        y += body_h
    p.commit()
    return doc.tobytes()


def _leaf_side_styles(layout: Layout) -> list[tuple[str, str]]:
    """(left, right) rule style of each leaf column: the leaf rule between sibling leaves."""
    out: list[tuple[str, str]] = []

    def walk(tree):
        for k, (label, children) in enumerate(tree):
            if children:
                walk(children)
                continue
            left = layout.leaf_rule if k > 0 and not tree[k - 1][1] else "solid"
            right = layout.leaf_rule if k + 1 < len(tree) and not tree[k + 1][1] else "solid"
            out.append((left, right))

    walk(layout.tree)
    return out


def render_scan(layout: Layout, dpi: int = 200, angle: float = 0.0, noise: float = 0.0, seed: int = 0) -> bytes:
    """The text rendering, scanned."""
    return scan(render(layout, "text"), dpi=dpi, angle=angle, noise=noise, seed=seed)


def with_rule(layout: Layout, rule: str) -> Layout:
    return replace(layout, leaf_rule=rule)


# ---------------------------------------------------------------- scoring


def labelled(records) -> list[tuple[str, tuple[str, ...], str]]:
    """(row label, column path, class) of every ``marks`` record."""
    return [(r.values["row_label"], tuple(r.values["column_path"]), r.values["mark"]) for r in records if r.dataset == "marks"]


def positional(records, layout: Layout) -> list[tuple[int, int, str]]:
    """(body row, leaf column, class) of every ``marks`` record: the structure and marks without the label text."""
    offset = len(layout.row_titles)
    return [(r.values["row"], r.values["col"] - offset, r.values["mark"]) for r in records if r.dataset == "marks"]


def gold_positional(layout: Layout) -> list[tuple[int, int, str]]:
    return [(i, j, m) for i, marks in enumerate(layout.marks) for j, m in sorted(marks.items())]


def f1(predicted: list, truth: list) -> dict:
    """Precision, recall and F1 of two multisets of items."""
    from collections import Counter

    p, t = Counter(predicted), Counter(truth)
    hit = sum((p & t).values())
    precision = hit / max(sum(p.values()), 1)
    recall = hit / max(sum(t.values()), 1)
    score = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"gold": sum(t.values()), "predicted": sum(p.values()), "correct": hit,
            "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(score, 4)}
