"""The classes every mark is normalised to, whether read from a glyph, a drawn shape or pixels."""

FILLED = "●"
RING = "○"
DOUBLE = "◎"
TRIANGLE = "△"
CROSS = "×"
CHECK = "✓"
DASH = "—"
