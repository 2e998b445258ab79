"""Text cut into pieces a tokenizer accepts, at the most natural boundary available.

Sudachi refuses input longer than 49,149 bytes of UTF-8 (a 14-page section of
prose without headings is longer), and GiNZA tokenizes with Sudachi. So text
is fed in chunks under a byte budget, cut after the last sentence end (。！？
or a line break) that fits; a "sentence" longer than the budget is cut after
a clause mark (、，), then a space, then anywhere. Tokens never span a sentence
end, so cutting there changes no token; offsets map each chunk's tokens back
into the whole text.
"""

from __future__ import annotations

from typing import Iterator

# Sudachi refuses more than 49,149 bytes; a chunk stays well under that.
MAX_CHUNK_BYTES = 45_000
SUDACHI_MAX_BYTES = 49_149
_BOUNDARIES = ("。！？!?\n", "、，,；;", " \t\u3000")


def chunks(text: str, max_bytes: int = MAX_CHUNK_BYTES) -> Iterator[tuple[int, str]]:
    """(offset, piece) pairs that concatenate back to ``text``, each at most ``max_bytes`` of UTF-8."""
    start = 0
    while start < len(text):
        end = _fit(text, start, max_bytes)
        if end < len(text):
            end = _boundary(text, start, end)
        yield start, text[start:end]
        start = end


def _fit(text: str, start: int, max_bytes: int) -> int:
    """The largest end such that text[start:end] fits ``max_bytes`` (at least one character)."""
    # Each character is at most 4 bytes: max_bytes // 4 characters always fit, then extend.
    end = min(len(text), start + max(1, max_bytes // 4))
    size = len(text[start:end].encode("utf-8", "surrogatepass"))
    while end < len(text):
        step = len(text[end].encode("utf-8", "surrogatepass"))
        if size + step > max_bytes:
            break
        size += step
        end += 1
    return end


def _boundary(text: str, start: int, end: int) -> int:
    """Cut just after the best boundary in text[start:end]; ``end`` when there is none."""
    for marks in _BOUNDARIES:
        cut = max(text.rfind(m, start, end) for m in marks)
        if cut >= start:
            return cut + 1
    return end
