"""Work on a page stays linear in its glyphs, and rasters stay small, so page budgets hold."""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right

import numpy as np

from extractors.text.layout import NEIGHBOUR_GAP, _Bands, vertical_stacks
from pipeline.model.records import Char, PngRaster


def _naive_alone(chars: list[Char]) -> set[int]:
    """The definition: no other glyph within 0.45 size vertically and 2.5 sizes horizontally (centres)."""
    def centre(c: Char) -> tuple[float, float]:
        return (c.bbox[0] + c.bbox[2]) / 2, (c.bbox[1] + c.bbox[3]) / 2

    by_height = sorted(chars, key=lambda c: centre(c)[1])
    heights = [centre(c)[1] for c in by_height]
    alone = set()
    for c in chars:
        cx, cy = centre(c)
        size = max(c.size, 1.0)
        window = by_height[bisect_left(heights, cy - 0.45 * size) : bisect_right(heights, cy + 0.45 * size)]
        if not any(d is not c and abs(centre(d)[0] - cx) < (NEIGHBOUR_GAP + 1.0) * size for d in window):
            alone.add(id(c))
    return alone


def _random_page(rnd: random.Random, n: int) -> list[Char]:
    chars = []
    for _ in range(n):
        size = rnd.choice([6.0, 9.0, 10.5, 12.0, 24.0])
        x, y = rnd.uniform(0, 500), rnd.choice([rnd.uniform(0, 800), round(rnd.uniform(0, 800) / 12) * 12])
        chars.append(Char("字", (x, y, x + size, y + size), size))
    for _ in range(rnd.randint(0, 3)):  # 縦書き labels: glyphs stacked one below the other
        x, y, size = rnd.uniform(0, 500), rnd.uniform(0, 700), rnd.choice([9.0, 12.0])
        chars += [Char("縦", (x, y + i * size * 1.1, x + size, y + i * size * 1.1 + size), size) for i in range(rnd.randint(2, 6))]
    return chars


class _BruteForce:
    """The index's question answered by looking at every glyph (what the code did before)."""

    def __init__(self, chars, centre) -> None:  # noqa: ANN001
        self.points = [(*centre(c), c) for c in chars]

    def any_near(self, c, cx, cy, dy, dx) -> bool:  # noqa: ANN001
        return any(d is not c and cy - dy <= y <= cy + dy and abs(x - cx) < dx for x, y, d in self.points)

    def beside(self, c, cx, cy, dy, dx) -> bool:  # noqa: ANN001
        return False  # the shortcut says nothing: any_near answers


def test_a_neighbour_beside_a_glyph_is_one_the_search_finds():
    from extractors.text.layout import _RowIndex

    def centre(c: Char) -> tuple[float, float]:
        return (c.bbox[0] + c.bbox[2]) / 2, (c.bbox[1] + c.bbox[3]) / 2

    rnd = random.Random(11)
    shortcuts = 0
    for _ in range(40):
        chars = _random_page(rnd, rnd.randint(5, 300))
        index, brute = _RowIndex(chars, centre), _BruteForce(chars, centre)
        for c in chars:
            cx, cy = centre(c)
            for dy, dx in ((0.45 * c.size, 2.5 * c.size), (0.2 * c.size, 30.0)):
                if index.beside(c, cx, cy, dy, dx):
                    shortcuts += 1
                    assert brute.any_near(c, cx, cy, dy, dx)
    assert shortcuts > 100


def test_vertical_stacks_match_brute_force_on_random_pages(monkeypatch):
    import extractors.text.layout as layout

    rnd = random.Random(7)
    for _ in range(40):
        chars = _random_page(rnd, rnd.randint(5, 300))
        fast = [[id(c) for c in s] for s in vertical_stacks(chars)]
        with monkeypatch.context() as m:
            m.setattr(layout, "_RowIndex", _BruteForce)
            slow = [[id(c) for c in s] for s in vertical_stacks(chars)]
        assert fast == slow
        stacked = {i for s in fast for i in s}
        assert stacked <= _naive_alone(chars)


def test_one_line_of_100000_glyphs_is_read_in_one_pass():
    line = [Char("住", (i * 0.25, 700.0, i * 0.25 + 0.25, 700.3), 0.25) for i in range(100_000)]
    assert vertical_stacks(line) == []  # quadratic before: every glyph scanned the whole line
    [only] = _Bands.of(line).lines(3.0)
    assert len(only.text) == 100_000


def test_png_raster_round_trip_is_exact_and_smaller():
    image = np.full((3508, 2480), 255, dtype=np.uint8)
    image[1000:1100, 200:2200] = 0
    raster = PngRaster.encode(image)
    assert raster.shape == image.shape and raster.ndim == 2
    assert len(raster.png) * 20 < image.nbytes
    assert np.array_equal(raster.decode(), image)


def test_a_documents_rasters_stay_raw_up_to_their_budget_and_are_compressed_beyond(monkeypatch):
    """Encoding and decoding cost ~0.2 s a 300-dpi page, so a short scan keeps its pages raw; a long one
    compresses every page past the budget, so its rasters cannot fill the worker's memory."""
    import pipeline.document.extract as extract
    from pipeline.model.records import ParsedPage

    monkeypatch.setattr(extract, "RAW_RASTER_BYTES", 3 * 1000 * 1000)
    image = np.full((1000, 1000), 255, dtype=np.uint8)
    image[400:600, 100:900] = 0
    compact = extract._Compactor()
    pages = [compact(ParsedPage(doc_id="d", source_sha256="0" * 64, page_number=n, width=595, height=842, chars=(), image=image.copy(), image_dpi=300))
             for n in range(1, 6)]
    assert [type(p.image).__name__ for p in pages] == ["ndarray"] * 3 + ["PngRaster"] * 2
    assert all(np.array_equal(p.image if isinstance(p.image, np.ndarray) else p.image.decode(), image) for p in pages)
