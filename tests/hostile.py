"""Hostile and broken PDFs made on the fly (nothing binary is checked in).

Each builder returns bytes; tests write them where they need them.
"""

from __future__ import annotations

import io
import zipfile
import zlib

import pymupdf


def text_pdf(pages: int = 2, text: str = "二地域居住の推進について") -> bytes:
    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 100), f"{text} {i + 1}", fontname="japan", fontsize=12)
        page.draw_rect(pymupdf.Rect(72, 150, 300, 250), color=(0, 0, 0))
    return doc.tobytes()


def truncated(pdf: bytes) -> bytes:
    return pdf[: len(pdf) // 2]


def corrupt_xref(pdf: bytes) -> bytes:
    """Complete file whose startxref points at garbage: MuPDF rebuilds the xref."""
    cut = pdf.rfind(b"startxref")
    return pdf[:cut] + b"startxref\n7\n%%EOF\n"


def encrypted(pdf: bytes, user_password: str | None) -> bytes:
    doc = pymupdf.open(stream=pdf, filetype="pdf")
    return doc.tobytes(
        encryption=pymupdf.PDF_ENCRYPT_AES_256,
        owner_pw="owner-secret",
        user_pw=user_password or "",
        permissions=int(pymupdf.PDF_PERM_PRINT),
    )


def zero_pages() -> bytes:
    return _assemble(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"],
    )


def html_page() -> bytes:
    return "<!DOCTYPE html><html><body>お探しのページは見つかりませんでした</body></html>".encode()


def zip_of(pdf: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("report.pdf", pdf)
    return buf.getvalue()


def png_image() -> bytes:
    pix = pymupdf.Pixmap(pymupdf.csGRAY, pymupdf.IRect(0, 0, 20, 20), False)
    pix.clear_with(200)
    return pix.tobytes("png")


def image_bomb(side: int = 60000, layers: int = 1) -> bytes:
    """An image-only page whose one image inflates to ``side``² bytes (3.6 GB by default).

    ``layers=2`` deflates the stream again (a filter chain of two FlateDecodes):
    the file stays small while the image grows past what any machine inflates
    within a page budget, so how fast the machine is cannot change the outcome.
    """
    data = _zeros_flate(side * side)
    for _ in range(layers - 1):
        data = zlib.compress(data, 9)
    filters = "[" + " ".join(["/FlateDecode"] * layers) + "]" if layers > 1 else "/FlateDecode"
    image = (
        f"<< /Type /XObject /Subtype /Image /Width {side} /Height {side} /ColorSpace /DeviceGray "
        f"/BitsPerComponent 8 /Filter {filters} /Length {len(data)} >>\nstream\n"
    ).encode() + bytes(data) + b"\nendstream"
    content = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
    return _assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R >>",
            f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream",
            image,
        ]
    )


def _zeros_flate(n: int) -> bytes:
    """A zlib stream inflating to ``n`` zero bytes, built from one repeated block (fast)."""
    mib = 1 << 20
    block_comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = block_comp.compress(b"\x00" * mib) + block_comp.flush(zlib.Z_FULL_FLUSH)
    last_comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    last = last_comp.compress(b"\x00" * (n % mib)) + last_comp.flush(zlib.Z_FINISH)
    adler = ((n % 65521) << 16) | 1  # Adler-32 of n zero bytes
    return b"\x78\xda" + block * (n // mib) + last + adler.to_bytes(4, "big")


def deep_nesting(depth: int = 200000) -> bytes:
    """A page whose resources hold an array nested ``depth`` levels deep."""
    nested = b"[" * depth + b"]" * depth
    return _assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Deep " + nested + b" /Contents 4 0 R >>",
            b"<< /Length 0 >>\nstream\n\nendstream",
        ]
    )


def _assemble(objects: list[bytes]) -> bytes:
    """A well-formed PDF from object bodies numbered 1..n (correct xref offsets)."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def page_tree_cycle() -> bytes:
    """Opens, counts one page, and fails only when the page is loaded (found by fuzzing)."""
    return _assemble([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"])


def page_count_lies() -> bytes:
    return _assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 5 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        ]
    )


def drawing_bomb(rectangles: int = 3_000_000) -> bytes:
    """A page whose ~100 KiB content stream draws millions of rectangles: the parser grinds for minutes."""
    ops = b"0 0 1 1 re f\n" * rectangles
    content = zlib.compress(ops, 9)
    return _assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
            f"<< /Length {len(content)} /Filter /FlateDecode >>\nstream\n".encode() + content + b"\nendstream",
        ]
    )


def huge_page(side: float = 14400.0, ruled: bool = False) -> bytes:
    """A 200-inch square page with no text: rendering it for OCR at 300 dpi needs a 3.7 GB raster.

    Blank, or ``ruled``: one rule drawn across it, so that its raster is not of one gray level
    (a blank raster is neither OCR'd nor searched for grids).
    """
    content = f"q 0 G 8 w 72 {side / 2:g} m {side - 72:g} {side / 2:g} l S Q".encode() if ruled else b""
    return _assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {side:g} {side:g}] /Contents 4 0 R >>".encode(),
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        ]
    )


PROSE = (
    "二地域居住は、都市に住む人が地方にも生活の拠点を持ち、二つの地域を行き来して暮らす住まい方である。"
    "北海道札幌市や長野県松本市では、移住の前段として週末だけ滞在する人が増えており、空き家の改修や"
    "仕事の紹介を通じて地域との関わりを深める取組が進められている。"
)


def long_prose(pages: int = 14, paragraph: str = PROSE) -> bytes:
    """Ordinary Japanese prose with no headings: one section longer than Sudachi's 49,149-byte input limit."""
    doc = pymupdf.open()
    for _ in range(pages):
        page = doc.new_page(width=595, height=842)
        page.insert_textbox(pymupdf.Rect(60, 60, 535, 800), paragraph * 12, fontname="japan", fontsize=10.5)
    return doc.tobytes()


def many_spans(spans: int = 200_000) -> bytes:
    """One page whose text is ``spans`` separately positioned one-glyph runs (an extreme text layer)."""
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /ToUnicode 6 0 R >>"
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /X def /CMapType 2 def "
        b"1 begincodespacerange <00> <FF> endcodespacerange 2 beginbfchar <61> <4f4f> <62> <3002> endbfchar "
        b"endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    rows = []
    per_line = 400
    for i in range(spans):
        if i % per_line == 0:
            rows.append(b"1 0 0 1 10 %d Tm" % (830 - (i // per_line) % 800))
        rows.append(b"(b)Tj" if i % 50 == 49 else b"(a)Tj")
    ops = b"BT /F1 1 Tf " + b" ".join(rows) + b" ET"
    content = zlib.compress(ops)
    return _assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            f"<< /Length {len(content)} /Filter /FlateDecode >>\nstream\n".encode() + content + b"\nendstream",
            font,
            f"<< /Length {len(cmap)} >>\nstream\n".encode() + cmap + b"\nendstream",
        ]
    )


def _utf16_hex(text: str) -> bytes:
    return b"<FEFF" + text.encode("utf-16-be", "surrogatepass").hex().encode() + b">"


def mapped_font_pdf(ops: bytes, tounicode: dict[int, str], producer: str | None = None, width: int = 595) -> bytes:
    """One page drawing ``ops`` with a one-byte font whose ToUnicode map says ``tounicode``.

    The map is the text layer's only source of truth: it can claim lone surrogates, control
    characters, or kanji for glyphs that render as Latin letters.
    """
    pairs = b" ".join(b"<%02X> <%s" % (code, _utf16_hex(text)[5:]) for code, text in tounicode.items())
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /X def /CMapType 2 def "
        b"1 begincodespacerange <00> <FF> endcodespacerange %d beginbfchar %s endbfchar endcmap "
        b"CMapName currentdict /CMap defineresource pop end end" % (len(tounicode), pairs)
    )
    data = _assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d 842] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>" % width,
            b"<< /Length %d >>\nstream\n" % len(ops) + ops + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /ToUnicode 6 0 R >>",
            b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
        ]
    )
    if producer is not None:
        data = data.replace(b"/Root 1 0 R", b"/Root 1 0 R /Info << /Producer " + _utf16_hex(producer) + b" >>")
    return data


def lone_surrogate() -> bytes:
    """東京都 with a lone high surrogate (U+D800) in the middle of the text layer."""
    return mapped_font_pdf(b"BT /F1 12 Tf 72 700 Td (abAc) Tj ET", {0x61: "東", 0x62: "京", 0x41: "\ud800", 0x63: "都"})


CONTROL_TEXT = "\x1b[2J\x07第1章 東京都\u202e千代田区\u200d\ufeff\x00"
CONTROL_PRODUCER = "\x1b[2J\x1b]0;PWNED\x07Word\u202e"


def control_characters(text: str = CONTROL_TEXT, producer: str = CONTROL_PRODUCER) -> bytes:
    """ESC, BEL, NUL, RLO, ZWJ and BOM in the text (as ActualText) and in the Producer."""
    ops = b"/Span << /ActualText " + _utf16_hex(text) + b" >> BDC BT /F1 12 Tf 72 700 Td (Visible) Tj ET EMC"
    return mapped_font_pdf(ops, {}, producer=producer)


def garbage_text_layer() -> bytes:
    """Renders "abcdefgh" in Helvetica, while the ToUnicode map claims 北海道札幌市役所."""
    return mapped_font_pdf(b"BT /F1 14 Tf 72 700 Td (abcdefgh) Tj ET", dict(zip(range(97, 105), "北海道札幌市役所")))


def long_line(chars: int = 100_000) -> bytes:
    """One line of ``chars`` glyphs (0.25 pt type on a 200-inch-wide page), each mapped to 住."""
    return mapped_font_pdf(b"BT /F1 0.25 Tf 10 700 Td (" + b"a" * chars + b") Tj ET", {97: "住"}, width=14400)
