"""Bytes to parsed pages under budgets: PDF parsing, OCR, the text layer, the sandbox."""
