"""Checks of a document's own statements against its extracted datasets (one suite for every entry point)."""
