"""Validate, write and describe releases: the one writer, the data package, the dictionary."""
