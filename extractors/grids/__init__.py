"""Ruled tables as grids of cells, from text or scanned pages, and the marks in their cells."""
