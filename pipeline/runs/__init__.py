"""A run as plain functions: obtain, extract (guarded, cached), assemble, check, publish."""
