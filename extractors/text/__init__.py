"""Lines of page text: reading order, columns, running text, numbering, footnotes, values."""
