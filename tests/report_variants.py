"""Whole-report re-renderings of the MLIT 二地域居住 report, with the gold the generator wrote.

The content (44 consortia with their ●/○ marks, the issue table, case
studies, monitor tours, a budget table) is ``tests/data/mlit_report.json``;
a ``ReportVariant`` says how it is laid out: producer (headless Chromium or
MuPDF's HTML engine), page size and orientation, font, where the matrix
splits over pages and whether a continuation page repeats the header rows,
mark glyphs or marks drawn as ovals (off-centre, touching the rules), grey
rules and shaded header cells, tours and case studies as panels or as
tables. ``scan`` degrades any rendering into an image-only PDF.

Gold is what was written: ``gold()`` returns each dataset's expected rows.
Used by tests/test_variants.py and benchmarks/variants.py.
"""

from __future__ import annotations

import html
import json
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import pymupdf

CONTENT = Path(__file__).resolve().parent / "data" / "mlit_report.json"
CHROMIUM = "/usr/bin/chromium"
SOFFICE = "/usr/bin/soffice"
A4 = (595.28, 841.89)  # points, portrait
FONT_FILES = {  # Debian's font packages (scripts/setup.sh)
    "IPAGothic": "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "IPAMincho": "/usr/share/fonts/opentype/ipafont-mincho/ipam.ttf",
    "VL Gothic": "/usr/share/fonts/truetype/vlgothic/VL-Gothic-Regular.ttf",
}


def content() -> dict:
    return json.loads(CONTENT.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class ReportVariant:
    name: str
    producer: str = "chromium"  # chromium | mupdf | writer (LibreOffice, .odt) | impress (LibreOffice, .pptx) | reportlab
    landscape: bool = True
    font: str = "IPAGothic"
    # Consortium rows on each matrix page; the last page takes the rest.
    matrix_split: tuple[int, ...] = (15, 15)
    repeat_header: bool = True  # continuation pages repeat the header rows
    glyphs: dict = field(default_factory=dict)  # {"●": "⚫", "○": "〇", "—": "―"}
    ovals: bool = False  # marks drawn as ovals instead of typed glyphs
    oval_offset: tuple[float, float] = (0.0, 0.0)  # off-centre shift, in share of the cell
    oval_touch: bool = False  # ovals as tall as the row: they touch the rules
    grey_rules: bool = False  # thin grey rules (slides) instead of black ones
    shaded_header: bool = False
    slide: bool = False  # a slide table: hairline light rules, shaded header with white borders, zebra rows
    tours_as: str = "panels"  # panels | table
    cases_as: str = "panels"  # panels | table
    issues_split: int = 22

    @property
    def page_size(self) -> tuple[float, float]:
        return (A4[1], A4[0]) if self.landscape else A4


# ------------------------------------------------------------------ gold


def gold(data: dict | None = None) -> dict[str, list]:
    """Every dataset's rows as the generator wrote them, in reading order."""
    data = data or content()
    return {
        "theme_marks": sorted((n, t, m) for n, r in enumerate(data["consortia"], 1) for t, m in r["marks"].items()),
        "consortia": [(r["round"], r["region"], r["name"], r["tour"]) for r in data["consortia"]],
        "consortium_issues": [(r["name"], r["themes"], r["issues"]) for r in data["issues"]],
        "case_studies": [(c["theme"], c["place"], c["name"], c["description"]) for c in data["case_studies"]],
        "tours": [(t["name"], t["participants"], t["male"], t["female"], t["households"], t["stay_days"]) for t in data["tours"]],
        "budget_items": [(b["item"], b["amount_text"], b["field"], b["description"], b["target"]) for b in data["budget"]],
    }


# ------------------------------------------------------------------ HTML


def _e(text) -> str:
    return html.escape("" if text is None else str(text))


def _css(v: ReportVariant) -> str:
    w, h = v.page_size
    rule = "0.4pt solid #a6a6a6" if v.grey_rules else "0.75pt solid #000"
    head_bg = "background:#d9e1f2;" if v.shaded_header else ""
    if v.slide:
        rule = "0.3pt solid #bfbfbf"
    slide = (
        "th { background:#d0d8e8; border: 1pt solid #fff; } tr:nth-child(even) td { background:#f2f2f2; }"
        if v.slide else ""
    )
    return slide + f"""
@page {{ size: {w:.2f}pt {h:.2f}pt; margin: 24pt; }}
body {{ font-family: '{v.font}'; font-size: 8pt; margin: 0; }}
.page {{ break-after: page; }}
h1 {{ font-size: 22pt; margin-top: 120pt; }}
h2 {{ font-size: 13pt; margin: 0 0 8pt 0; }}
h3 {{ font-size: 11pt; margin: 0 0 4pt 0; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: {rule}; padding: 1pt 2pt; font-weight: normal; vertical-align: middle; }}
th {{ {head_bg} }}
td.m {{ text-align: center; padding: 0; }}
.panels {{ display: flex; gap: 18pt; }}
.panel {{ flex: 1; }}
.label {{ font-size: 8pt; margin: 6pt 0 3pt 0; }}
.case-head {{ font-weight: bold; margin-top: 5pt; }}
.case-head span.place {{ margin-right: 1.5em; }}
.tour-name {{ font-weight: bold; font-size: 10pt; }}
p {{ margin: 2pt 0; }}
"""


def _mark(v: ReportVariant, mark: str, row_h: float, col_w: float) -> str:
    if not mark:
        return ""
    if not v.ovals or mark not in "●○":
        return _e(v.glyphs.get(mark, mark))
    # An inline SVG: Chromium writes it as vector paths, as slide tools draw shapes.
    h = row_h - 1.0
    r = (h / 2) if v.oval_touch else min(row_h, col_w) * 0.3
    cx = col_w / 2 + v.oval_offset[0] * col_w
    cy = h / 2 + v.oval_offset[1] * h
    cx = min(max(cx, r + 0.5), col_w - r - 0.5)
    cy = min(max(cy, r), h - r)
    paint = 'fill="#000"' if mark == "●" else 'fill="#fff" stroke="#000" stroke-width="0.9"'
    return (
        f'<svg width="{col_w:.1f}pt" height="{h:.1f}pt" viewBox="0 0 {col_w:.1f} {h:.1f}" style="display:block">'
        f'<ellipse cx="{cx:.2f}" cy="{cy:.2f}" rx="{r:.2f}" ry="{r:.2f}" {paint}/></svg>'
    )


def _matrix(v: ReportVariant, data: dict) -> list[str]:
    groups = data["groups"]
    themes = [t for _, ts in groups for t in ts]
    w = v.page_size[0] - 48
    mark_w = min(30.0, (w - 330) / len(themes))
    row_h = 22.0
    # Slack for producers that add padding and borders outside the widths (MuPDF).
    name_w = round(w - 26 - 60 - 26 - mark_w * len(themes) - 4 * (len(themes) + 4), 1)
    head = ["<tr>"]
    for label, width in (("採択次", 26), ("地域名", 60), ("コンソーシアム名", None), ("ツアー実施", 26)):
        style = f' style="width:{width}pt"' if width else ""
        head.append(f'<th rowspan="2"{style}>{label}</th>')
    head += [f'<th colspan="{len(ts)}">{_e(g)}</th>' for g, ts in groups]
    head.append("</tr><tr>")
    head += [f'<th style="width:{mark_w:.1f}pt;font-size:6pt">{_e(t)}</th>' for t in themes]
    head.append("</tr>")
    rows = data["consortia"]
    pages = []
    for k, (a, b) in enumerate(_matrix_chunks(v, data)):
        body = []
        for r in rows[a:b]:
            tour = {True: "○", False: "—", None: ""}[r["tour"]]
            cells = [f'<td>{r["round"]}次</td>', f'<td>{_e(r["region"])}</td>', f'<td>{_e(r["name"])}</td>',
                     f'<td class="m">{_mark(v, tour, row_h, 26)}</td>']
            cells += [f'<td class="m">{_mark(v, r["marks"].get(t, ""), row_h, mark_w)}</td>' for t in themes]
            body.append(f'<tr style="height:{row_h}pt">' + "".join(cells) + "</tr>")
        header = "".join(head) if (k == 0 or v.repeat_header) else ""
        # Fixed column widths: a page without header rows is the same table, its columns as wide.
        cols = "".join(f'<col style="width:{x}pt">' for x in [26, 60, name_w, 26] + [mark_w] * len(themes))
        header = f"<colgroup>{cols}</colgroup>" + header
        title = "<h2>1. 一覧表</h2>" if k == 0 else ""
        pages.append(f'<div class="page">{title}<table style="table-layout:fixed">{header}{"".join(body)}</table></div>')
    return pages


def _issues(v: ReportVariant, data: dict) -> list[str]:
    rows = data["issues"]
    head = "<tr><th>採択次</th><th>コンソーシアム名</th><th>二地域居住を進める上でのテーマ</th><th>解決しようとした地域課題</th></tr>"
    pages = []
    for a in range(0, len(rows), v.issues_split):
        body = "".join(
            f'<tr><td>{r["round"]}次</td><td>{_e(r["name"])}</td><td>{_e(r["themes"])}</td><td>{_e(r["issues"])}</td></tr>'
            for r in rows[a : a + v.issues_split]
        )
        pages.append(f'<div class="page"><h2>2. 一覧表(二地域居住を進める上でのテーマ・解決しようとした地域課題)</h2><table>{head}{body}</table></div>')
    return pages


def _cases(v: ReportVariant, data: dict) -> list[str]:
    cases = data["case_studies"]
    themes: list[str] = []
    for c in cases:
        if c["theme"] not in themes:
            themes.append(c["theme"])
    title = "<h2>3. テーマ別の取組概要と主な事例</h2>"
    if v.cases_as == "table":
        head = "<tr><th>テーマ</th><th>地域</th><th>コンソーシアム名</th><th>取組内容</th></tr>"
        pages = []
        for a in range(0, len(cases), 9):
            body = "".join(
                f'<tr><td>{_e(c["theme"])}</td><td>{_e(c["place"])}</td><td>{_e(c["name"])}</td><td>{_e(c["description"])}</td></tr>'
                for c in cases[a : a + 9]
            )
            pages.append(f'<div class="page">{title}<p>主な事例</p><table>{head}{body}</table></div>')
        return pages
    per_page = 3 if v.landscape else 2
    pages = []
    for a in range(0, len(themes), per_page):
        panels = []
        for theme in themes[a : a + per_page]:
            # MuPDF and Writer's HTML import set no margin on an inline span: there the gap
            # is an ideographic space, as typed.
            sep = "" if v.producer == "chromium" else "\u3000"
            blocks = "".join(
                f'<div class="case-head"><span class="place">{_e(c["place"])}</span>{sep}<span>{_e(c["name"])}</span></div><p>{_e(c["description"])}</p>'
                for c in cases
                if c["theme"] == theme
            )
            panels.append(f'<div class="panel"><h3>{_e(theme)}</h3><p>テーマ概要</p><p>二地域居住者の{_e(theme[:4])}を支える取組。</p>'
                          f'<div class="label">主な事例</div>{blocks}</div>')
        pages.append(f'<div class="page">{title}<div class="panels">{"".join(panels)}</div></div>')
    return pages


def _tour_lines(t: dict) -> str:
    head = f"モニターツアー参加実績{t['participants']}名" + (f" ({t['households']}世帯)" if t["households"] else "")
    lines = [head]
    if t["male"] is not None:
        lines.append(f"(内訳：男性{t['male']}名 / 女性{t['female']}名)")
    if t["stay_days"] is not None:
        lines.append(f"総滞在日数: {t['stay_days']}日")
    lines += ["1 プログラム概要", "地域の暮らしと仕事を体験する滞在型プログラムを実施した。"]
    return "".join(f"<p>{_e(x)}</p>" for x in lines)


def _tours(v: ReportVariant, data: dict) -> list[str]:
    tours = data["tours"]
    title = "<h2>5. モニターツアー事例</h2>"
    if v.tours_as == "table":
        head = "<tr><th>コンソーシアム名</th><th>参加者数</th><th>男性</th><th>女性</th><th>世帯数</th><th>総滞在日数</th></tr>"

        def num(x, unit):
            return "" if x is None else f"{x}{unit}"

        body = "".join(
            f'<tr><td>{_e(t["name"])}</td><td>{num(t["participants"], "名")}</td><td>{num(t["male"], "名")}</td>'
            f'<td>{num(t["female"], "名")}</td><td>{num(t["households"], "世帯")}</td><td>{num(t["stay_days"], "日")}</td></tr>'
            for t in tours
        )
        return [f'<div class="page">{title}<p>各団体が実施したモニターツアーの参加実績</p><table>{head}{body}</table></div>']
    pages = []
    for a in range(0, len(tours), 2):
        panels = "".join(
            f'<div class="panel"><p class="tour-name">{_e(t["name"])}</p>{_tour_lines(t)}</div>' for t in tours[a : a + 2]
        )
        pages.append(f'<div class="page">{title}<div class="panels">{panels}</div></div>')
    return pages


def _budget(v: ReportVariant, data: dict) -> list[str]:
    head = "<tr><th>分野</th><th>事業名</th><th>内容</th><th>対象</th><th>R7当初予算</th></tr>"
    rows = data["budget"]
    body = []
    for i, b in enumerate(rows):
        cells = ""
        if i == 0 or rows[i - 1]["field"] != b["field"]:
            span = 1
            while i + span < len(rows) and rows[i + span]["field"] == b["field"]:
                span += 1
            cells += f'<td rowspan="{span}">{_e(b["field"])}</td>'
        cells += "".join(f"<td>{_e(b[k])}</td>" for k in ("item", "description", "target", "amount_text"))
        body.append(f"<tr>{cells}</tr>")
    return [f'<div class="page"><h2>参考 二地域居住の推進に関する予算</h2><table>{head}{"".join(body)}</table></div>']


def report_pages(v: ReportVariant, data: dict | None = None) -> list[str]:
    """Each page's HTML (a ``div.page``); a page too long for the paper runs onto more."""
    data = data or content()
    pages = [
        f'<div class="page"><h1>{_e(data["title"])}</h1><p>国土交通省国土政策局地方政策課</p></div>',
        '<div class="page"><h2>0. 二地域居住先導的プロジェクトの概要</h2><p>【採択状況】計44団体</p>'
        "<p>二地域居住等の促進を通じて地方への人の流れを創出・拡大するため、先導的な取組を支援した。</p></div>",
    ]
    return pages + _matrix(v, data) + _issues(v, data) + _cases(v, data) + _tours(v, data) + _budget(v, data)


def report_html(v: ReportVariant, data: dict | None = None) -> str:
    pages = report_pages(v, data)
    return f'<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><style>{_css(v)}</style></head><body>{"".join(pages)}</body></html>'


# ------------------------------------------------------------------ producers


def render(v: ReportVariant, data: dict | None = None) -> bytes:
    if v.producer == "chromium":
        return _chromium(report_html(v, data))
    if v.producer == "mupdf":
        return _mupdf_story(report_pages(v, data), _css(v), v.page_size)
    if v.producer == "writer":
        return _writer(v, data)
    if v.producer == "impress":
        return _impress(v, data or content())
    if v.producer == "reportlab":
        return _reportlab(v, data or content())
    raise ValueError(f"unknown producer {v.producer!r}")


def _soffice(src: Path, to: str, profile: Path, infilter: str | None = None) -> Path:
    """Convert ``src`` beside itself with headless LibreOffice (its own user profile, so
    runs neither share state nor wait for each other's lock)."""
    cmd = [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore"]
    if infilter:
        cmd.append(f"--infilter={infilter}")
    cmd += ["--convert-to", to, "--outdir", str(src.parent), str(src)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    out = src.with_suffix("." + to.split(":")[0])
    if not out.exists():
        raise RuntimeError(f"LibreOffice wrote no {out.name} from {src.name}")
    return out


def _writer(v: ReportVariant, data: dict | None) -> bytes:
    """LibreOffice Writer: the report's HTML imported as a Writer document, saved as .odt,
    and the .odt exported to PDF. Writer's HTML import reads cell borders from each cell's own
    style and page breaks from a paragraph's style, not from the print CSS (from a bare
    ``border="1"`` it draws 0.1 pt grey hairlines)."""
    import re

    pages = report_pages(v, data)
    body = '<p style="page-break-before: always"></p>'.join(pages)
    body = body.replace("<table", '<table border="1" cellspacing="0" cellpadding="2"')
    rule = "border: 0.4pt solid #a6a6a6" if v.grey_rules else "border: 0.75pt solid #000000"
    shade = "; background: #d9e1f2" if v.shaded_header else ""
    body = re.sub(r'<(td|th) style="', lambda m: f'<{m.group(1)} style="{rule}{shade if m.group(1) == "th" else ""}; ', body)
    body = re.sub(r"<(td|th)(?![^>]*style=)", lambda m: f'<{m.group(1)} style="{rule}{shade if m.group(1) == "th" else ""}"', body)
    doc = f'<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><style>{_css(v)}</style></head><body>{body}</body></html>'
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "report.html"
        src.write_text(doc, encoding="utf-8")
        odt = _soffice(src, "odt", Path(tmp) / "profile", infilter="HTML (StarWriter)")
        return _soffice(odt, "pdf", Path(tmp) / "profile").read_bytes()


def _chromium(doc: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        src.write_text(doc, encoding="utf-8")
        subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
             f"--user-data-dir={tmp}/profile", f"--print-to-pdf={out}", src.as_uri()],
            check=True, capture_output=True, timeout=120,
        )
        return out.read_bytes()


def _mupdf_story(pages: list[str], css: str, size: tuple[float, float]) -> bytes:
    """MuPDF's own HTML layout engine: another producer with other line and table breaking
    (and no flexbox: side-by-side panels come out stacked)."""
    import io

    buffer = io.BytesIO()
    writer = pymupdf.DocumentWriter(buffer)
    mediabox = pymupdf.Rect(0, 0, *size)
    where = mediabox + (24, 24, -24, -24)
    # The variant's font from the system's font files (MuPDF finds no system fonts by itself).
    archive = pymupdf.Archive()
    faces = ""
    for family, path in FONT_FILES.items():
        if Path(path).exists():
            archive.add(Path(path).read_bytes(), Path(path).name)
            faces += f"@font-face {{ font-family: '{family}'; src: url({Path(path).name}); }}\n"
    for page in pages:
        story = pymupdf.Story(html=page, user_css=faces + css, archive=archive)
        more = True
        while more:
            device = writer.begin_page(mediabox)
            more, _ = story.place(where)
            story.draw(device)
            writer.end_page()
    writer.close()
    return buffer.getvalue()


# ------------------------------------------------------------------ producers that do not read HTML


def _themes(data: dict) -> list[str]:
    return [t for _, ts in data["groups"] for t in ts]


def _matrix_chunks(v: ReportVariant, data: dict) -> list[tuple[int, int]]:
    rows = data["consortia"]
    bounds, start = [], 0
    for n in v.matrix_split:
        bounds.append((start, min(start + n, len(rows))))
        start += n
    if start < len(rows):
        bounds.append((start, len(rows)))
    return bounds


def _matrix_cells(v: ReportVariant, r: dict, themes: list[str]) -> list[str]:
    tour = {True: "○", False: "—", None: ""}[r["tour"]]
    return [f'{r["round"]}次', r["region"], r["name"], v.glyphs.get(tour, tour)] + [
        v.glyphs.get(r["marks"].get(t, ""), r["marks"].get(t, "")) for t in themes
    ]


def _case_themes(data: dict) -> list[str]:
    out: list[str] = []
    for c in data["case_studies"]:
        if c["theme"] not in out:
            out.append(c["theme"])
    return out


def _tour_texts(t: dict) -> list[str]:
    lines = [f"モニターツアー参加実績{t['participants']}名" + (f" ({t['households']}世帯)" if t["households"] else "")]
    if t["male"] is not None:
        lines.append(f"(内訳：男性{t['male']}名 / 女性{t['female']}名)")
    if t["stay_days"] is not None:
        lines.append(f"総滞在日数: {t['stay_days']}日")
    return lines + ["1 プログラム概要", "地域の暮らしと仕事を体験する滞在型プログラムを実施した。"]


def _unit(x, unit: str) -> str:
    return "" if x is None else f"{x}{unit}"


ISSUE_HEAD = ["採択次", "コンソーシアム名", "二地域居住を進める上でのテーマ", "解決しようとした地域課題"]
CASE_HEAD = ["テーマ", "地域", "コンソーシアム名", "取組内容"]
TOUR_HEAD = ["コンソーシアム名", "参加者数", "男性", "女性", "世帯数", "総滞在日数"]
BUDGET_HEAD = ["分野", "事業名", "内容", "対象", "R7当初予算"]
ISSUES_TITLE = "2. 一覧表(二地域居住を進める上でのテーマ・解決しようとした地域課題)"
CASES_TITLE = "3. テーマ別の取組概要と主な事例"
TOURS_TITLE = "5. モニターツアー事例"
BUDGET_TITLE = "参考 二地域居住の推進に関する予算"


def _reportlab(v: ReportVariant, data: dict) -> bytes:
    """reportlab's platypus: tables with GRID rules and spans, panels as borderless tables.
    Its CJK fonts have no bold face and reportlab draws none, so headings differ by size only."""
    import io

    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = v.font.replace(" ", "")
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(font, FONT_FILES[v.font]))

    def style(size: float, space_before: float = 0.0, space_after: float = 2.0) -> ParagraphStyle:
        return ParagraphStyle(f"s{size}", fontName=font, fontSize=size, leading=size * 1.3,
                              spaceBefore=space_before, spaceAfter=space_after, wordWrap="CJK")

    body, cell, small, h1, h2, h3 = style(8), style(7, 0, 0), style(6, 0, 0), style(22, 120), style(13, 0, 8), style(11, 0, 4)
    rule = (0.4, colors.HexColor("#a6a6a6")) if v.grey_rules else (0.75, colors.black)
    w, h = v.page_size
    inner = w - 48

    def P(text, st=body) -> Paragraph:
        return Paragraph(_e(text), st)

    def ruled(rows, widths, spans=(), header_rows=1, heights=None) -> Table:
        t = Table(rows, colWidths=widths, rowHeights=heights)
        cmds = [("GRID", (0, 0), (-1, -1), *rule), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 7),
                ("TOPPADDING", (0, 0), (-1, -1), 1), ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]
        if v.shaded_header and header_rows:
            cmds.append(("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#d9e1f2")))
        cmds += [("SPAN", a, b) for a, b in spans]
        t.setStyle(TableStyle(cmds))
        return t

    story: list = [P(data["title"], h1), P("国土交通省国土政策局地方政策課"), PageBreak(),
                   P("0. 二地域居住先導的プロジェクトの概要", h2), P("【採択状況】計44団体"),
                   P("二地域居住等の促進を通じて地方への人の流れを創出・拡大するため、先導的な取組を支援した。"), PageBreak()]
    # The matrix: two header rows, the first four columns spanning both.
    themes = _themes(data)
    mark_w = min(30.0, (inner - 330) / len(themes))
    name_w = inner - 26 - 60 - 26 - mark_w * len(themes)
    widths = [26, 60, name_w, 26] + [mark_w] * len(themes)
    head1: list = [P(x, cell) for x in ("採択次", "地域名", "コンソーシアム名", "ツアー実施")]
    head2: list = ["", "", "", ""]
    spans = [((c, 0), (c, 1)) for c in range(4)]
    col = 4
    for group, ts in data["groups"]:
        head1 += [group] + [""] * (len(ts) - 1)
        spans.append(((col, 0), (col + len(ts) - 1, 0)))
        col += len(ts)
        head2 += [P(t, small) for t in ts]
    for k, (a, b) in enumerate(_matrix_chunks(v, data)):
        header = k == 0 or v.repeat_header
        rows = ([head1, head2] if header else []) + [
            [P(x, cell) if i in (1, 2) else x for i, x in enumerate(_matrix_cells(v, r, themes))] for r in data["consortia"][a:b]
        ]
        heights = [None] * (2 if header else 0) + [22] * (b - a)
        t = ruled(rows, widths, spans if header else (), header_rows=2 if header else 0, heights=heights)
        t.setStyle(TableStyle([("ALIGN", (3, 0), (-1, -1), "CENTER")]))
        story += ([P("1. 一覧表", h2)] if k == 0 else []) + [t, PageBreak()]
    for a in range(0, len(data["issues"]), v.issues_split):
        rows = [ISSUE_HEAD] + [[f'{r["round"]}次', P(r["name"], cell), P(r["themes"], cell), P(r["issues"], cell)]
                               for r in data["issues"][a : a + v.issues_split]]
        story += [P(ISSUES_TITLE, h2), ruled(rows, [40, inner * 0.35, inner * 0.3, inner * 0.35 - 40]), PageBreak()]
    cases = data["case_studies"]
    if v.cases_as == "table":
        for a in range(0, len(cases), 9):
            rows = [CASE_HEAD] + [[P(c["theme"], cell), P(c["place"], cell), P(c["name"], cell), P(c["description"], cell)] for c in cases[a : a + 9]]
            story += [P(CASES_TITLE, h2), P("主な事例"), ruled(rows, [inner * 0.14, inner * 0.12, inner * 0.22, inner * 0.52]), PageBreak()]
    else:
        per_page = 3 if v.landscape else 2
        ts = _case_themes(data)
        for a in range(0, len(ts), per_page):
            panels = []
            for theme in ts[a : a + per_page]:
                flow = [P(theme, h3), P("テーマ概要"), P(f"二地域居住者の{theme[:4]}を支える取組。"), Spacer(1, 4), P("主な事例")]
                for c in cases:
                    if c["theme"] == theme:
                        # reportlab sets an ideographic space half as wide: the gap is three no-break spaces.
                        flow += [Spacer(1, 3), P(f'{c["place"]}\u00a0\u00a0\u00a0{c["name"]}'), P(c["description"])]
                panels.append(flow)
            panels += [[]] * (per_page - len(panels))
            t = Table([panels], colWidths=[inner / per_page] * per_page)
            t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 24)]))
            story += [P(CASES_TITLE, h2), t, PageBreak()]
    tours = data["tours"]
    if v.tours_as == "table":
        rows = [TOUR_HEAD] + [[P(t["name"], cell), _unit(t["participants"], "名"), _unit(t["male"], "名"), _unit(t["female"], "名"),
                               _unit(t["households"], "世帯"), _unit(t["stay_days"], "日")] for t in tours]
        story += [P(TOURS_TITLE, h2), P("各団体が実施したモニターツアーの参加実績"), ruled(rows, [inner * 0.4] + [inner * 0.12] * 5), PageBreak()]
    else:
        for a in range(0, len(tours), 2):
            panels = [[P(t["name"], style(10))] + [P(x) for x in _tour_texts(t)] for t in tours[a : a + 2]]
            panels += [[]] * (2 - len(panels))
            t = Table([panels], colWidths=[inner / 2] * 2)
            t.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
            story += [P(TOURS_TITLE, h2), t, PageBreak()]
    budget = data["budget"]
    rows, spans = [BUDGET_HEAD], []
    for i, b in enumerate(budget):
        first = i == 0 or budget[i - 1]["field"] != b["field"]
        if first:
            n = 1
            while i + n < len(budget) and budget[i + n]["field"] == b["field"]:
                n += 1
            if n > 1:
                spans.append(((0, i + 1), (0, i + n)))
        rows.append([P(b["field"], cell) if first else "", P(b["item"], cell), P(b["description"], cell), P(b["target"], cell), P(b["amount_text"], cell)])
    story += [P(BUDGET_TITLE, h2), ruled(rows, [inner * 0.12, inner * 0.22, inner * 0.36, inner * 0.15, inner * 0.15], spans)]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=(w, h), leftMargin=24, rightMargin=24, topMargin=24, bottomMargin=24,
                      invariant=1, title=data["title"]).build(story)
    return buffer.getvalue()


def _impress(v: ReportVariant, data: dict) -> bytes:
    """LibreOffice Impress: a .pptx built slide by slide (python-pptx: tables in the default
    table style, shaded header and banded rows with white rules, text boxes as panels),
    exported to PDF by Impress."""
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.enum.shapes import MSO_SHAPE
    from pptx.util import Pt

    prs = Presentation()
    w, h = v.page_size
    prs.slide_width, prs.slide_height = Pt(w), Pt(h)
    inner = w - 48

    def slide():
        return prs.slides.add_slide(prs.slide_layouts[6])

    def box(s, x, y, width, height, paragraphs):
        """A text box; ``paragraphs`` are (text, size) pairs."""
        frame = s.shapes.add_textbox(Pt(x), Pt(y), Pt(width), Pt(height)).text_frame
        frame.word_wrap = True
        for i, (text, size) in enumerate(paragraphs):
            para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            para.space_before = Pt(3 if size >= 10 else 1)
            run = para.add_run()
            run.text = text
            run.font.size = Pt(size)
            run.font.name = v.font

    def table(s, y, rows, widths, merges=(), size=7.0, row_h=None):
        shape = s.shapes.add_table(len(rows), len(widths), Pt(24), Pt(y), Pt(sum(widths)), Pt((row_h or 12) * len(rows)))
        t = shape.table
        for c, x in enumerate(widths):
            t.columns[c].width = Pt(x)
        for r, row in enumerate(rows):
            if row_h:
                t.rows[r].height = Pt(row_h)
            for c, text in enumerate(row):
                cell = t.cell(r, c)
                cell.margin_left = cell.margin_right = Pt(2)
                cell.margin_top = cell.margin_bottom = Pt(1)
                para = cell.text_frame.paragraphs[0]
                run = para.add_run()
                run.text = text or ""
                run.font.size = Pt(size)
                run.font.name = v.font
        for (r0, c0), (r1, c1) in merges:
            t.cell(r0, c0).merge(t.cell(r1, c1))
        return t

    s = slide()
    box(s, 24, 140, inner, 60, [(data["title"], 22), ("国土交通省国土政策局地方政策課", 8)])
    s = slide()
    box(s, 24, 24, inner, 80, [("0. 二地域居住先導的プロジェクトの概要", 13), ("【採択状況】計44団体", 8),
                               ("二地域居住等の促進を通じて地方への人の流れを創出・拡大するため、先導的な取組を支援した。", 8)])
    themes = _themes(data)
    mark_w = min(30.0, (inner - 330) / len(themes))
    widths = [26, 60, inner - 26 - 60 - 26 - mark_w * len(themes), 26] + [mark_w] * len(themes)
    head1 = ["採択次", "地域名", "コンソーシアム名", "ツアー実施"] + [""] * len(themes)
    head2 = [""] * 4 + themes
    merges = [((0, c), (1, c)) for c in range(4)]
    col = 4
    for group, ts in data["groups"]:
        head1[col] = group
        merges.append(((0, col), (0, col + len(ts) - 1)))
        col += len(ts)
    for k, (a, b) in enumerate(_matrix_chunks(v, data)):
        s = slide()
        header = k == 0 or v.repeat_header
        if k == 0:
            box(s, 24, 20, inner, 20, [("1. 一覧表", 13)])
        body = [_matrix_cells(v, r, themes) for r in data["consortia"][a:b]]
        drawn = []
        if v.ovals:  # marks as oval shapes laid over empty cells, as slides draw them
            drawn = [(r, c, x) for r, row in enumerate(body) for c, x in enumerate(row) if c >= 3 and x in ("●", "○")]
            for r, c, _ in drawn:
                body[r][c] = ""
        rows = ([head1, head2] if header else []) + body
        row_h = (h - 70) / max(len(rows), 1)
        table(s, 44, rows, widths, merges if header else (), size=6.5, row_h=row_h)
        first = 2 if header else 0
        for r, c, mark in drawn:
            d = min(row_h, widths[c]) * 0.6
            cx = 24 + sum(widths[:c]) + widths[c] / 2 + v.oval_offset[0] * widths[c]
            cy = 44 + (first + r + 0.5) * row_h + v.oval_offset[1] * row_h
            oval = s.shapes.add_shape(MSO_SHAPE.OVAL, Pt(cx - d / 2), Pt(cy - d / 2), Pt(d), Pt(d))
            oval.shadow.inherit = False
            oval.line.color.rgb = RGBColor(0, 0, 0)
            oval.line.width = Pt(0.9)
            if mark == "●":
                oval.fill.solid()
                oval.fill.fore_color.rgb = RGBColor(0, 0, 0)
            else:
                oval.fill.background()
    for a in range(0, len(data["issues"]), v.issues_split):
        s = slide()
        box(s, 24, 20, inner, 20, [(ISSUES_TITLE, 13)])
        rows = [ISSUE_HEAD] + [[f'{r["round"]}次', r["name"], r["themes"], r["issues"]] for r in data["issues"][a : a + v.issues_split]]
        table(s, 44, rows, [40, inner * 0.35, inner * 0.3, inner * 0.35 - 40], size=6.5)
    cases = data["case_studies"]
    if v.cases_as == "table":
        for a in range(0, len(cases), 6):
            s = slide()
            box(s, 24, 20, inner, 30, [(CASES_TITLE, 13), ("主な事例", 8)])
            rows = [CASE_HEAD] + [[c["theme"], c["place"], c["name"], c["description"]] for c in cases[a : a + 6]]
            table(s, 60, rows, [inner * 0.14, inner * 0.12, inner * 0.22, inner * 0.52], size=6.5)
    else:
        per_page = 3 if v.landscape else 2
        ts = _case_themes(data)
        for a in range(0, len(ts), per_page):
            s = slide()
            box(s, 24, 20, inner, 20, [(CASES_TITLE, 13)])
            for i, theme in enumerate(ts[a : a + per_page]):
                paras = [(theme, 11), ("テーマ概要", 8), (f"二地域居住者の{theme[:4]}を支える取組。", 8), ("主な事例", 8)]
                for c in cases:
                    if c["theme"] == theme:
                        paras += [(f'{c["place"]}\u3000{c["name"]}', 8), (c["description"], 8)]
                box(s, 24 + i * inner / per_page, 48, inner / per_page - 14, h - 80, paras)
    tours = data["tours"]
    if v.tours_as == "table":
        s = slide()
        box(s, 24, 20, inner, 30, [(TOURS_TITLE, 13), ("各団体が実施したモニターツアーの参加実績", 8)])
        rows = [TOUR_HEAD] + [[t["name"], _unit(t["participants"], "名"), _unit(t["male"], "名"), _unit(t["female"], "名"),
                               _unit(t["households"], "世帯"), _unit(t["stay_days"], "日")] for t in tours]
        table(s, 64, rows, [inner * 0.4] + [inner * 0.12] * 5)
    else:
        for a in range(0, len(tours), 2):
            s = slide()
            box(s, 24, 20, inner, 20, [(TOURS_TITLE, 13)])
            for i, t in enumerate(tours[a : a + 2]):
                box(s, 24 + i * inner / 2, 48, inner / 2 - 14, h - 80, [(t["name"], 10)] + [(x, 8) for x in _tour_texts(t)])
    s = slide()
    box(s, 24, 20, inner, 20, [(BUDGET_TITLE, 13)])
    budget = data["budget"]
    rows, merges = [BUDGET_HEAD], []
    for i, b in enumerate(budget):
        first = i == 0 or budget[i - 1]["field"] != b["field"]
        n = 1
        while first and i + n < len(budget) and budget[i + n]["field"] == b["field"]:
            n += 1
        if first and n > 1:
            merges.append(((i + 1, 0), (i + n, 0)))
        rows.append([b["field"] if first else "", b["item"], b["description"], b["target"], b["amount_text"]])
    table(s, 44, rows, [inner * 0.12, inner * 0.22, inner * 0.36, inner * 0.15, inner * 0.15], merges, size=6.5)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "report.pptx"
        prs.save(src)
        return _soffice(src, "pdf", Path(tmp) / "profile").read_bytes()


# ------------------------------------------------------------------ scans


@dataclass(frozen=True)
class ScanOptions:
    dpi: int = 200
    angle: float = 0.0
    noise: float = 0.0
    jpeg_quality: int = 85
    seed: int = 0


def scan(pdf: bytes, options: ScanOptions, pages: list[int] | None = None) -> bytes:
    """An image-only greyscale PDF of ``pdf``: rasterised, skewed, noisy, JPEG-compressed."""
    rng = np.random.default_rng(options.seed)
    src = pymupdf.open(stream=pdf, filetype="pdf")
    out = pymupdf.open()
    for index in pages if pages is not None else range(src.page_count):
        page = src[index]
        pix = page.get_pixmap(dpi=options.dpi, colorspace=pymupdf.csGRAY)
        img = np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width).copy()
        if options.angle:
            h, w = img.shape
            m = cv2.getRotationMatrix2D((w / 2, h / 2), options.angle, 1.0)
            img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)
        if options.noise:
            img = np.clip(img.astype(np.float32) + rng.normal(0, options.noise, img.shape), 0, 255).astype(np.uint8)
        ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, options.jpeg_quality])
        assert ok
        new = out.new_page(width=page.rect.width, height=page.rect.height)
        new.insert_image(new.rect, stream=jpg.tobytes())
    return out.tobytes()


def matrix_pages(pdf: bytes) -> list[int]:
    """0-based pages of ``pdf`` that hold the matrix: from its section title to the next section's."""
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    texts = ["".join(page.get_text().split()) for page in doc]
    first = next(i for i, t in enumerate(texts) if "1.一覧表" in t)
    end = next(i for i, t in enumerate(texts) if "2.一覧表" in t)
    return list(range(first, end))


# ------------------------------------------------------------------ the suite


def variants() -> list[ReportVariant]:
    """The text and drawn-shape renderings of the suite (scans are made from these)."""
    base = ReportVariant("chromium_landscape")
    return [
        base,
        replace(base, name="chromium_portrait", landscape=False, matrix_split=(20, 20)),
        replace(base, name="chromium_mincho", font="IPAMincho"),
        replace(base, name="chromium_vlgothic_split_10_25", font="VL Gothic", matrix_split=(10, 25)),
        replace(base, name="chromium_no_header_continuation", matrix_split=(16, 16), repeat_header=False),
        replace(base, name="chromium_split_3_pages_portrait", landscape=False, matrix_split=(14, 14), repeat_header=False),
        replace(base, name="chromium_glyphs_circle_ideograph", glyphs={"●": "⚫", "○": "〇", "—": "―"}),
        replace(base, name="chromium_glyphs_large_circle", glyphs={"●": "⬤", "○": "◯"}),
        replace(base, name="chromium_glyphs_bullseye", glyphs={"○": "◎"}),
        replace(base, name="chromium_tours_cases_tables", tours_as="table", cases_as="table"),
        replace(base, name="chromium_grey_rules_shaded", grey_rules=True, shaded_header=True),
        replace(base, name="slide_ovals", ovals=True, slide=True, matrix_split=(16, 16), repeat_header=False),
        replace(base, name="ovals_off_centre", ovals=True, oval_offset=(0.18, -0.12)),
        replace(base, name="ovals_touching_rules", ovals=True, oval_touch=True),
        replace(base, name="ovals_portrait_no_header", ovals=True, landscape=False, matrix_split=(18, 18), repeat_header=False),
        replace(base, name="mupdf_landscape", producer="mupdf"),
        replace(base, name="mupdf_portrait", producer="mupdf", landscape=False, matrix_split=(22,)),
        replace(base, name="mupdf_no_header_continuation", producer="mupdf", matrix_split=(12, 20), repeat_header=False),
        replace(base, name="mupdf_grey_shaded_glyphs", producer="mupdf", grey_rules=True, shaded_header=True, glyphs={"●": "⚫", "○": "〇"}),
        replace(base, name="mupdf_mincho_portrait", producer="mupdf", font="IPAMincho", landscape=False, matrix_split=(20, 20)),
        replace(base, name="mupdf_tours_cases_tables", producer="mupdf", tours_as="table", cases_as="table"),
        replace(base, name="writer_landscape", producer="writer"),
        replace(base, name="writer_portrait_no_header", producer="writer", landscape=False, matrix_split=(20, 20), repeat_header=False),
        replace(base, name="writer_tables_mincho_grey", producer="writer", font="IPAMincho", tours_as="table", cases_as="table", grey_rules=True, shaded_header=True),
        replace(base, name="impress_slides", producer="impress"),
        replace(base, name="impress_no_header_glyphs", producer="impress", matrix_split=(16, 16), repeat_header=False, glyphs={"●": "⬤", "○": "◯"}),
        replace(base, name="impress_tables", producer="impress", tours_as="table", cases_as="table"),
        replace(base, name="impress_ovals_no_header", producer="impress", ovals=True, oval_offset=(0.12, -0.1), matrix_split=(16, 16), repeat_header=False),
        replace(base, name="reportlab_landscape", producer="reportlab"),
        replace(base, name="reportlab_portrait_mincho_grey", producer="reportlab", landscape=False, font="IPAMincho", matrix_split=(20, 20), grey_rules=True, shaded_header=True),
        replace(base, name="reportlab_tables_no_header", producer="reportlab", tours_as="table", cases_as="table", matrix_split=(12, 20), repeat_header=False),
    ]


SCANS = {
    "150dpi": ScanOptions(dpi=150, angle=-1.2, noise=6, jpeg_quality=70, seed=1),
    "200dpi": ScanOptions(dpi=200, angle=0.8, noise=10, jpeg_quality=80, seed=2),
    "300dpi": ScanOptions(dpi=300, angle=-2.0, noise=12, jpeg_quality=85, seed=3),
}
