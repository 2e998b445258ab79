"""The shared vocabulary: parsed pages, records, dataset schemas, errors, limits. Imports nothing of ours."""
